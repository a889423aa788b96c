"""The stream runner: episodes are their seeds' own, holds and restarts leave other envs alone,
inter-OM folds each episode once, a drained run resumes exactly, and planners search in larger batches."""
import os

import numpy as np
import pytest
import torch

import envs
from components.episode_buffer import EpisodeBatch
from controllers.role_controller import RoleController
from envs import rule_based
from envs.grid_core import STAY
from helpers import make_args, make_experiment
from planners.belief import GoalBeliefs
from runners.parallel_runner import ParallelRunner
from runners.stream_runner import StreamRunner
from utils.errors import ConfigError

# learned agent's action ranking (a near-deterministic policy): HARE when on a hare, else walk left, then up
RANKING = {6: 60.0, 5: 50.0, 2: 40.0, 0: 30.0, 3: 20.0, 1: 10.0, 4: 0.0}


def _deterministic_policy(mac: RoleController) -> None:
    """Make the learned role's policy ignore its input and rank actions by ``RANKING`` (gaps of
    10 logits: sampling picks the best available action with probability 1 - 5e-5 per step)."""
    heads = [m for m in mac.policy.modules() if isinstance(m, torch.nn.Linear) and m.out_features == 7]
    with torch.no_grad():
        for head in heads:
            head.weight.zero_()
            head.bias.copy_(torch.tensor([RANKING[a] for a in range(7)]))


def _runner(cls, args, policy_from: RoleController | None = None):
    mac = RoleController(args)
    if policy_from is not None:
        mac.policy.load_state_dict(policy_from.policy.state_dict())
    runner = cls(args)
    scheme, groups, preprocess = runner.base_scheme(args)
    runner.setup(scheme, groups, preprocess, mac)
    return runner


def _episodes_by_start(batch: EpisodeBatch) -> dict[bytes, int]:
    return {batch["state"][b, 0].numpy().tobytes(): b for b in range(batch.batch_size)}


def test_stream_episodes_are_the_parallel_runners_episodes_of_the_same_seeds():
    """Streamed over 4 envs (holds, lone stepping of envs whose learned agent left, restarts), every
    episode equals, field by field, the episode of the same seed played by the parallel runner."""
    roles = ["ppo", "NS", "NH", "RAND"]
    stream = _runner(StreamRunner, make_args("ppo", roles=roles, runner="stream", batch_size_run=4, buffer_size=8,
                                             seed=3))
    _deterministic_policy(stream.mac)
    batches = [stream.run()[0] for _ in range(4)]
    assert [b.batch_size for b in batches] == [4] * 4      # as many per call as the parallel runner gives
    while stream.in_flight:                                 # at most batch_size_run per drain, the rest waits
        batches.append(stream.drain()[0])
        assert 1 <= batches[-1].batch_size <= 4
    streamed = EpisodeBatch.cat(batches)
    total = stream.train_episodes
    assert streamed.batch_size == total >= 16
    parallel = _runner(ParallelRunner, make_args("ppo", roles=roles, batch_size_run=total, buffer_size=total, seed=3),
                       policy_from=stream.mac)
    reference, _ = parallel.run()
    lone = 0
    by_start = _episodes_by_start(reference)
    for b in range(total):
        match = by_start[streamed["state"][b, 0].numpy().tobytes()]
        for key in streamed.scheme:
            assert torch.equal(streamed[key][b], reference[key][match]), key
        learned_left = streamed["alive"][b, :, 0, 0].sum() < streamed["filled"][b, :, 0].sum()
        lone += bool(learned_left)
    assert lone > 0                       # some episodes went on after the learned agent left
    assert stream.t_env == int(reference["filled"].sum()) - total     # transitions: filled steps less final obs


def test_streamed_test_episodes_are_the_parallel_runners_test_episodes():
    """A test run streams ceil(test_nepisode / B) * B test episodes over B envs: the same seeds
    and the same episodes as the parallel runner's whole batches; training counters untouched."""
    roles = ["ppo", "NS", "NH", "RAND"]
    stream = _runner(StreamRunner, make_args("ppo", roles=roles, runner="stream", batch_size_run=4, buffer_size=8,
                                             test_nepisode=10, seed=2))
    _deterministic_policy(stream.mac)
    streamed, results = stream.run(test_mode=True)
    assert streamed.batch_size == len(results.lengths) == stream.test_episodes == 12
    assert stream.in_flight == 0 and stream.t_env == 0 and stream.train_episodes == 0
    parallel = _runner(ParallelRunner, make_args("ppo", roles=roles, batch_size_run=12, buffer_size=12, seed=2),
                       policy_from=stream.mac)
    reference, _ = parallel.run(test_mode=True)
    by_start = _episodes_by_start(reference)
    assert len(by_start) == 12
    for b in range(12):
        match = by_start[streamed["state"][b, 0].numpy().tobytes()]
        for key in streamed.scheme:
            assert torch.equal(streamed[key][b], reference[key][match]), key


def test_every_streamed_episode_is_well_formed():
    """Filled from step 0 to its final observation; terminated only at the last transition;
    returns are the summed rewards; no step beyond the end is written."""
    runner = make_experiment("hop", roles=["hop", "NS", "NS", "NS"], runner="stream", batch_size_run=6, buffer_size=12,
                             num_simulations=8, tree_num=1).runner
    rollouts = [runner.run(), runner.run()]
    while runner.in_flight:
        rollouts.append(runner.drain())
    assert [len(r.lengths) for _, r in rollouts[:2]] == [6, 6] and all(len(r.lengths) <= 6 for _, r in rollouts)
    for batch, results in rollouts:
        assert batch.batch_size == len(results.lengths)
        for b, length in enumerate(results.lengths):
            filled = batch["filled"][b, :, 0]
            assert filled[:length + 1].all() and not filled[length + 1:].any()
            terminated = batch["terminated"][b, :, 0]
            assert not terminated[:length - 1].any() and not terminated[length:].any()
            np.testing.assert_allclose(batch["reward"][b, :length, :, 0].sum(0).numpy(), results.returns[b], rtol=1e-6)
            assert not batch["actions"][b, length:].any()


def test_planners_search_in_larger_batches_than_with_the_parallel_runner():
    """Next to 3 NS the planner leaves long before its episode ends: the stream keeps its search
    batch fuller (the reason it exists)."""
    served = {}
    for runner in ("parallel", "stream"):
        exp = make_experiment("hop", roles=["hop", "NS", "NS", "NS"], runner=runner, batch_size_run=8, buffer_size=16,
                              batch_size=8, num_simulations=4, tree_num=1, seed=1)
        for _ in range(3):
            exp.train_step()
        exp.drain()
        served[runner] = exp.mac.actor.planned_decisions / exp.mac.actor.search_calls
    assert served["stream"] > 1.5 * served["parallel"]


def test_restarting_envs_one_by_one_folds_inter_om_as_a_batch_does():
    """Each finished training episode enters the inter-OM counts once, in env order, whether the
    envs restart together (parallel runner) or one at a time (stream)."""
    focal = np.array([[True, False, False], [True, False, False]])
    roles = np.array([[0, 1, 2], [0, 2, 1]])
    together, one_by_one = (GoalBeliefs(3, 3, 2, alpha=0.9, prior_count=1.0) for _ in range(2))
    for beliefs in (together, one_by_one):
        beliefs.start_episode(focal, roles)
        beliefs.record(np.array([[-1, 0, 1], [-1, 1, -1]]), training=True)
    together.start_episode(focal, roles)
    one_by_one.restart(np.array([0]), focal[:1], roles[:1])
    one_by_one.restart(np.array([1]), focal[1:], roles[1:])
    np.testing.assert_allclose(one_by_one.counts, together.counts)
    one_by_one.restart(np.array([0]), focal[:1], roles[:1])        # nothing new recorded: nothing folds again
    np.testing.assert_allclose(one_by_one.counts, together.counts)
    assert together.counts[1, 0] > 0 and together.counts[2, 1] > 0


def test_a_drained_stream_checkpoint_resumes_exactly(tmp_path):
    overrides = dict(roles=["hop", "NS", "NH", "NS"], runner="stream", batch_size_run=4, buffer_size=8, batch_size=4,
                     num_simulations=4, tree_num=1, local_results_path=str(tmp_path), seed=5, save_buffer=True)
    first = make_experiment("hop", **overrides)
    for _ in range(2):
        first.train_step()
    first.drain()
    assert first.runner.in_flight == 0
    directory = first.save()
    resumed = make_experiment("hop", **overrides)
    resumed.restore(os.path.dirname(directory))
    for exp in (first, resumed):
        for _ in range(2):
            exp.train_step()
    assert first.runner.t_env == resumed.runner.t_env and first.runner.in_flight == resumed.runner.in_flight
    for name, module in first.mac.modules().items():
        for a, b in zip(module.parameters(), resumed.mac.modules()[name].parameters()):
            assert torch.equal(a, b), name
    np.testing.assert_array_equal(first.mac.actor.beliefs.counts, resumed.mac.actor.beliefs.counts)
    np.testing.assert_array_equal(first.runner.env.core.agent_pos, resumed.runner.env.core.agent_pos)


def test_a_test_run_leaves_the_running_training_episodes_as_they_were():
    """Tests play on envs of their own while the training episodes wait: the training envs, the
    episodes being written, the roles and the beliefs (inter-OM counts included) are the same
    after the test; the stream then goes on. A replay run needs a drained stream."""
    exp = make_experiment("hop", roles=["hop", "NS", "NH", "NS"], runner="stream", batch_size_run=4, buffer_size=8,
                          batch_size=4, num_simulations=4, tree_num=1, test_nepisode=6, shuffle_slots=True)
    exp.train_step()
    runner, mac = exp.runner, exp.mac
    assert runner.in_flight

    def snapshot():
        core = runner.train_flight.env.core
        return ({f: getattr(core, f).copy() for f in ("agent_pos", "alive", "prey_alive", "t", "done")},
                {k: v.clone() for k, v in runner.train_flight.live.data.transition_data.items()},
                mac.role_of_slot.copy(), mac.actor.beliefs.state_dict(), mac.actor.beliefs.belief.copy(),
                runner.train_flight.steps.copy(), runner.t_env, runner.train_episodes)

    before = snapshot()
    stats = exp.test()
    assert stats["test_episodes"] == 8 and runner.test_episodes == 8
    after = snapshot()
    for old, new in zip(before, after):
        if isinstance(old, dict):
            for key in old:
                assert (torch.equal if isinstance(old[key], torch.Tensor) else np.array_equal)(old[key], new[key]), key
        else:
            assert np.array_equal(old, new)
    with pytest.raises(RuntimeError, match="drain"):
        runner.run(test_mode=True, on_step=lambda env, t: None)
    exp.train_step()
    exp.drain()
    assert runner.in_flight == 0


@pytest.mark.parametrize("overrides, message", [
    (dict(alg="hop_plus", runner="stream"), "actor 'subgoal' cannot"),
])
def test_stream_runner_config_errors(overrides, message):
    alg = overrides.pop("alg")
    with pytest.raises(ConfigError, match=message):
        make_args(alg, **overrides)


def test_suspended_envs_are_not_advanced_and_their_rule_streams_stay_put():
    env = envs.REGISTRY["stag_hunt"](batch_size=3, **make_args("ppo").env_args)
    core = env.core
    core.reset(np.array([1, 2, 3]))
    before = core.get_state()
    rule = rule_based.make("stag_hunt", "RAND")
    core.suspend(np.array([False, True, False]))
    actions = np.zeros((3, 4), dtype=np.int64)
    actions[:] = rule.act(env, np.arange(4))
    assert (actions[1] == STAY).all()
    core.step(actions)
    assert not core.done.any()                             # the hold ended with the step
    assert core.t.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(core.agent_pos[1], before.agent_pos[1])
    assert core.rng[1].bit_generator.state == before.rng_states[1]
    alone = envs.REGISTRY["stag_hunt"](batch_size=1, **make_args("ppo").env_args)
    alone.core.reset(np.array([2]))
    alone_actions = rule.act(alone, np.arange(4))
    np.testing.assert_array_equal(rule.act(env, np.arange(4))[1], alone_actions[0])


def test_restart_gives_the_seeds_episode_and_leaves_the_other_envs_alone():
    env_args = make_args("ppo").env_args
    core = envs.REGISTRY["stag_hunt"](batch_size=3, **env_args).core
    core.reset(np.array([10, 11, 12]))
    core.step(np.full((3, 4), STAY))
    kept = core.get_state(np.array([0, 2]))
    core.restart(np.array([1]), np.array([99]))
    fresh = envs.REGISTRY["stag_hunt"](batch_size=1, **env_args).core
    fresh.reset(np.array([99]))
    for field in ("walls", "agent_pos", "prey_pos", "prey_alive", "alive", "t"):
        np.testing.assert_array_equal(getattr(core, field)[1], getattr(fresh, field)[0])
        np.testing.assert_array_equal(getattr(core, field)[[0, 2]], getattr(kept, field))
    np.testing.assert_array_equal(core.avail_actions()[1], fresh.avail_actions()[0])
    np.testing.assert_array_equal(core.observations()[1], fresh.observations()[0])
    with pytest.raises(ValueError, match="distinct env indices"):
        core.restart(np.array([1, 1]), np.array([5, 6]))


@pytest.mark.parametrize("alg", ["direct_om", "hop_plus_mcts", "ppo"])
def test_every_streaming_actor_trains_drains_and_tests(alg):
    """Each actor that declares ``streams`` runs a stream end to end: a test run before any training
    episode (a run's first test, at step 0), rollouts with restarts, a drain (nothing left running)
    into a buffer no larger than one rollout, a test run; every returned episode was played to its end."""
    exp = make_experiment(alg, roles=[alg, "NS", "NH", "RAND"], runner="stream", batch_size_run=4, buffer_size=4,
                          batch_size=4, num_simulations=4, tree_num=1, test_nepisode=4)
    exp.test()
    for _ in range(2):
        exp.train_step()
    exp.drain()
    assert exp.runner.in_flight == 0 and exp.episode == exp.runner.train_episodes >= 8
    assert all((r.lengths > 0).all() for r in exp.train_results)
    exp.test()
