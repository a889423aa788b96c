"""HOP+ data flow: every learner trains on exactly the episodes the runner just produced;
per-step fields are written at every step; use_subgoal=False is exactly PPO."""
import pytest
import torch

from components import masks
from helpers import make_experiment
from learners.focal_sequences import focal_sequences
from utils.errors import ConfigError

SMALL = dict(batch_size_run=8, buffer_size=16, batch_size=8, ppo_epochs=1, ppo_minibatches=2,
             env_args__episode_limit=12, subgoal_dim=4, test_nepisode=8)


def test_each_learner_trains_on_exactly_this_iterations_episodes():
    exp = make_experiment("hop_plus", roles=["hop_plus", "NS", "NH", "hop_plus"], **SMALL)
    env = exp.runner.env
    transitions = {"n": 0}
    step = env.step

    def counting_step(actions):
        transitions["n"] += int((~env.done).sum())
        return step(actions)

    env.step = counting_step
    produced, seen = [], []
    run = exp.runner.run

    def recording_run(test_mode=False):
        batch, results = run(test_mode)
        produced.append(batch)
        return batch, results

    exp.runner.run = recording_run
    for method in ("sample", "sample_latest"):
        original = getattr(exp.buffer, method)

        def recording(n, _original=original, _method=method):
            out = _original(n)
            seen.append((_method, out))
            return out

        setattr(exp.buffer, method, recording)
    for iteration in range(2):   # the buffer holds older episodes from iteration 1 on
        seen.clear()
        t_before, n_before = exp.runner.t_env, transitions["n"]
        exp.train_step()
        (batch,) = produced[-1:]
        # one rollout only: the env transitions stepped are exactly the batch's transitions
        assert transitions["n"] - n_before == exp.runner.t_env - t_before == int(masks.step_mask(batch).sum())
        assert len(produced) == iteration + 1
        # moa, omg_am and ppo each sampled once, and got the current episodes, nothing else
        assert [m for m, _ in seen] == ["sample_latest"] * 3
        for _, got in seen:
            for key in ("obs", "actions", "filled", "infer_mu", "subgoal", "role"):
                assert torch.equal(got[key], batch[key]), key


def test_infer_mu_is_written_at_every_acting_step_and_matches_the_training_unroll():
    exp = make_experiment("hop_plus", roles=["hop_plus", "NS", "NH", "RAND"], **SMALL)
    batch, _ = exp.runner.run()
    focal = masks.agent_mask(batch)[:, :, 0, 0] > 0                  # slot 0's acting steps
    mu = batch["infer_mu"][:, :-1, 0]                                  # [B,T-1,K,G]
    assert bool((mu.abs().sum((-1, -2)) > 0)[focal].all())             # written at every acting step
    assert int(focal.sum(1).max()) > 1                                 # ... of multi-step episodes
    assert bool((batch["infer_mu"][:, :, 1:] == 0).all())              # co-player slots untouched
    learner = exp.learners[1]
    seq = focal_sequences(batch, exp.mac.role_index["hop_plus"])
    with torch.no_grad():
        x, cond = learner.unroll(seq)
        recomputed, _ = learner.omg.posterior(x.flatten(0, 1), cond.flatten(0, 1))
    recomputed = recomputed.view(*x.shape[:2], *recomputed.shape[1:])[:, :-1]
    stored = batch["infer_mu"][seq.env, :seq.steps - 1, seq.slot]
    assert torch.allclose(recomputed[seq.focal_mask > 0], stored[seq.focal_mask > 0], atol=1e-5)


def _train_and_test(alg, **overrides):
    exp = make_experiment(alg, roles=[alg, "NS", "NH", alg], **dict(SMALL, seed=3), **overrides)
    for _ in range(2):
        exp.train_step()
    return exp, exp.test()


def test_use_subgoal_false_is_exactly_ppo():
    ppo, ppo_test = _train_and_test("ppo")      # sequentially: both seed the global RNGs
    hop, hop_test = _train_and_test("hop_plus", use_subgoal=False)
    assert "policy_extra" not in hop.buffer.scheme
    for key, values in ppo.learner_stats.items():
        assert hop.learner_stats[key] == values, key
    assert "moa_top1" in hop.learner_stats                       # MOA still trains alongside
    for a, b in zip(ppo.mac.policy.parameters(), hop.mac.policy.parameters()):
        assert torch.equal(a, b)
    assert ppo_test == {k.replace("hop_plus", "ppo"): v for k, v in hop_test.items()}


@pytest.mark.parametrize("inputs,width", [(["subgoal"], 3 * 4), (["moa"], 3 * 7), (["subgoal", "moa"], 3 * 11)])
def test_policy_inputs_set_the_extra_width(inputs, width):
    exp = make_experiment("hop_plus", policy_inputs=inputs, **SMALL)
    assert exp.buffer.scheme["policy_extra"]["vshape"] == (width,)
    assert ("moa_probs" in exp.buffer.scheme) == ("moa" in inputs)
    if len(inputs) == 2:
        exp.train_step()
        assert "ppo_policy_loss" in exp.learner_stats and "omg_loss" in exp.learner_stats


def test_bad_policy_input_and_missing_models_are_config_errors():
    with pytest.raises(ConfigError, match="policy_inputs: unknown"):
        make_experiment("hop_plus", policy_inputs=["belief"], **SMALL)
    with pytest.raises(ConfigError, match="learner 'moa' needs an actor"):
        make_experiment("ppo", learners=["moa", "policy"], **SMALL)
