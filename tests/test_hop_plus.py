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
    with pytest.raises(ConfigError, match="learner 'moa' needs the module 'moa', which actor 'policy' does not build"):
        make_experiment("ppo", learners=["moa", "policy"], **SMALL)


def test_final_observation_gets_the_extras_its_bootstrap_value_needs():
    exp = make_experiment("hop_plus", roles=["hop_plus", "NS", "NH", "RAND"], **SMALL)
    batch, _ = exp.runner.run()
    final = batch["filled"][:, :, 0].sum(1).long() - 1                  # index of each env's final observation
    envs = torch.arange(batch.batch_size)
    assert bool((final == exp.args.episode_limit).any())                # some episodes are time-limit cuts
    extra = batch["policy_extra"][envs, final]                          # [B,N,E]
    assert bool((extra[:, 0].abs().sum(-1) > 0).all()) and bool((extra[:, 1:] == 0).all())
    assert torch.equal(extra[:, 0], batch["subgoal"][envs, final, 0].flatten(1))
    # the final subgoal continues the episode's history: it matches the training unroll there
    learner = exp.learners[1]
    seq = focal_sequences(batch, exp.mac.role_index["hop_plus"])
    with torch.no_grad():
        x, cond = learner.unroll(seq)
        rows = torch.arange(len(seq.env))
        mu, _ = learner.omg.posterior(x[rows, final[seq.env]], cond[rows, final[seq.env]])
    assert torch.allclose(mu, batch["infer_mu"][seq.env, final[seq.env], seq.slot], atol=1e-5)


def test_frozen_role_with_a_policy_that_takes_extra_inputs_is_a_config_error(tmp_path):
    make_experiment("hop_plus", **SMALL).mac.save_models(str(tmp_path))
    with pytest.raises(ConfigError, match=r"takes extra inputs \(extra_dim=12"):
        make_experiment("ppo", roles=["ppo", "ppo", "ppo", f"ckpt:{tmp_path}"], **SMALL)
    without = tmp_path / "nogoal"
    make_experiment("hop_plus", use_subgoal=False, **SMALL).mac.save_models(str(without))
    make_experiment("ppo", roles=["ppo", "ppo", "ppo", f"ckpt:{without}"], **SMALL).runner.run()


def test_policy_features_then_head_is_forward_bit_for_bit():
    for share in (True, False):
        exp = make_experiment("hop_plus", share_params=share, **SMALL)
        batch, _ = exp.runner.run()
        obs, time = batch["obs"][:, 0].flatten(0, 1), batch["time"][:, 0].repeat_interleave(4, 0)
        slot = torch.arange(4).repeat(batch.batch_size)
        extra = batch["policy_extra"][:, 0].flatten(0, 1)
        policy = exp.mac.policy
        with torch.no_grad():
            split = policy.head(policy.features(obs, slot), time, slot, extra)
            whole = policy(obs, time, slot, extra)
        assert all(torch.equal(a, b) for a, b in zip(split, whole))


@pytest.mark.parametrize("share", [True, False])
def test_selector_values_equal_the_critic_on_each_candidate(share):
    exp = make_experiment("hop_plus", roles=["hop_plus", "NS", "hop_plus", "NH"], share_params=share, **SMALL)
    batch, _ = exp.runner.run()
    learner = exp.learners[1]
    seq = focal_sequences(batch, exp.mac.role_index["hop_plus"])
    p, t, k = torch.nonzero(seq.coplayer_mask, as_tuple=True)
    candidates = torch.randn(len(p), exp.args.omg_horizon, exp.args.subgoal_dim)
    with torch.no_grad():
        values = learner.candidate_values(batch, seq, p, t, k, candidates)
        for h in (0, exp.args.omg_horizon - 1):
            subgoal = batch["subgoal"][seq.env[p], t, seq.slot[p]].clone()
            subgoal[torch.arange(len(p)), k] = candidates[:, h]
            _, direct = exp.mac.policy(seq.obs[p, t], seq.time[p, t], seq.slot[p], subgoal.flatten(1))
            assert torch.allclose(values[:, h], direct, atol=1e-5)
