"""hop_plus_mbrl: imagined episodes satisfy the real batches' mask invariants, carry subgoals inferred
on the imagined observations, and PPO trains on the mix; hop_plus_wm and hop_plus_mbrl train end to end."""
import pytest
import torch

from components import masks
from envs.grid_core import STAY
from helpers import make_experiment
from utils.errors import ConfigError

SMALL = dict(batch_size_run=8, buffer_size=16, batch_size=8, ppo_epochs=1, ppo_minibatches=2,
             env_args__episode_limit=12, subgoal_dim=4, test_nepisode=8, imagine_horizon=6)


def _imagine(seed, n_episodes=24, wm_updates=30, **overrides):
    exp = make_experiment("hop_plus_mbrl", roles=["hop_plus_mbrl", "NS", "NH", "hop_plus_mbrl"],
                          **{**SMALL, "seed": seed, **overrides})
    real, _ = exp.runner.run()
    exp.buffer.insert_episode_batch(real)
    world_model = next(l for l in exp.learners if l.name == "world_model")
    for _ in range(wm_updates):            # done is rare in real data: a fitted head lets episodes run longer
        world_model.train(exp.buffer, 0, 0)
    learner = exp.learners[-1]
    generator = torch.Generator().manual_seed(seed)
    return exp, real, learner.imagination.run(real, learner.role_index, n_episodes, generator)


@pytest.mark.parametrize("wm_updates", [0, 30])   # untrained: most episodes end by done; fitted: by the horizon
def test_imagined_episodes_satisfy_the_mask_invariants(wm_updates):
    exp, real, imagined = _imagine(0, wm_updates=wm_updates)
    batch, role_index, limit = imagined.batch, exp.learners[-1].role_index, 12
    filled = batch["filled"][..., 0]
    lengths = filled.sum(1)
    assert batch.max_seq_length == 6 + 1 and bool((lengths >= 2).all())
    steps = torch.arange(batch.max_seq_length)
    assert torch.equal(filled, (steps[None] < lengths[:, None]).long())                 # a filled prefix
    cut = lengths < 7                                                                   # ended before the horizon:
    assert torch.equal(batch["terminated"][..., 0].sum(1).bool(), cut)                 # ... only by a terminal
    focal = batch["role"][..., 0] == role_index
    assert torch.equal(focal.sum(1), torch.ones(len(focal), dtype=torch.long))        # one focal slot each
    assert bool((batch["role"][..., 0][~focal] == -1).all())
    terminated = batch["terminated"][..., 0]
    last = lengths - 2                                                                 # last transition step
    assert bool((terminated.sum(1) <= 1).all())
    assert bool((terminated[torch.arange(len(last)), last] == terminated.sum(1)).all())  # only at the end
    alive = batch["alive"][..., 0].float() * filled[..., None]
    assert bool((alive[:, 1:] <= alive[:, :-1] + (1 - filled[:, 1:, None])).all())     # alive never comes back
    agent_mask = masks.agent_mask(batch)[..., 0]
    acts_throughout = (steps[None, :-1] < (lengths - 1)[:, None]).float()
    assert torch.equal(agent_mask.transpose(1, 2)[focal], acts_throughout)             # the focal agent acts throughout
    terminal = masks.agent_terminal(batch)[..., 0].transpose(1, 2)[focal]
    assert torch.equal(terminal.sum(1), terminated.sum(1).float())                     # ends only by a done
    acting = agent_mask > 0
    actions = batch["actions"][:, :-1, :, 0]
    chosen = batch["avail_actions"][:, :-1].gather(-1, actions[..., None])[..., 0]
    assert bool(chosen[acting].all())                                                  # every action is available
    transition = (steps[None, :-1] < (lengths - 1)[:, None])[..., None]                # steps someone acts at
    gone = (batch["alive"][:, :-1, :, 0] == 0) & transition
    assert bool((actions[gone] == STAY).all())
    only_stay = batch["avail_actions"][:, :-1][gone]
    assert bool(only_stay[:, STAY].all()) and int(only_stay.sum()) == len(only_stay)
    obs = batch["obs"].transpose(1, 2)[focal]
    assert bool(((obs == 0) | (obs == 1)).all())
    time = batch["time"][..., 0]
    dt = (time[:, 1:] - time[:, :-1])[filled[:, 1:] > 0]
    assert torch.allclose(dt, torch.full_like(dt, 1 / limit))
    assert bool((time[filled > 0] <= 1 + 1e-6).all())                                  # never past the episode limit
    start = real["time"][imagined.env, imagined.start, 0]
    assert torch.allclose(time[:, 0], start)


def test_imagination_starts_from_real_states_and_infers_subgoals_on_imagined_observations():
    exp, real, imagined = _imagine(0)
    batch = imagined.batch
    slot = (batch["role"][..., 0] == exp.learners[-1].role_index).long().argmax(1)
    rows = torch.arange(batch.batch_size)
    assert torch.equal(batch["obs"][rows, 0, slot], real["obs"][imagined.env, imagined.start, slot])
    # the first imagined step continues the real OMG_AM history: the actor's posterior mean there
    assert torch.allclose(batch["infer_mu"][rows, 0, slot], real["infer_mu"][imagined.env, imagined.start, slot],
                          atol=1e-5)
    later = batch["filled"][:, 1, 0] > 0
    mu1 = batch["infer_mu"][rows, 1, slot][later]
    assert bool((mu1.abs().sum((-1, -2)) > 0).all())                                   # not zeros
    assert not torch.allclose(mu1, batch["infer_mu"][rows, 0, slot][later])


def test_ppo_trains_on_real_plus_imagined_episodes():
    exp = make_experiment("hop_plus_mbrl", roles=["hop_plus_mbrl", "NS", "NH", "hop_plus_mbrl"],
                          **{**SMALL, "real_ratio": 0.25})
    exp.train_step()
    stats = {k: v[-1] for k, v in exp.learner_stats.items()}
    assert stats["mbrl_imagined_episodes"] == 24                                       # 8 real x (0.75 / 0.25)
    real = exp.buffer.sample_latest(8)
    real_rows = masks.agent_mask(real)[..., 0] * (real["role"][..., 0] == 0)[:, None, :]
    assert stats["ppo_samples"] > float(real_rows.sum())
    assert stats["ppo_updates"] == 1 * 2                                               # ppo_epochs x ppo_minibatches:
                                                                                       # imagined rows enlarge the minibatches
    assert torch.isfinite(torch.tensor(stats["ppo_policy_loss"]))


def test_bad_real_ratio_is_a_config_error():
    with pytest.raises(ConfigError, match="real_ratio"):
        make_experiment("hop_plus_mbrl", **{**SMALL, "real_ratio": 0.0})
    with pytest.raises(ConfigError, match="imagine_horizon"):
        make_experiment("hop_plus_mbrl", **{**SMALL, "imagine_horizon": 13})


@pytest.mark.parametrize("alg,overrides", [
    ("hop_plus_wm", {"wm_spatial_channels": 8}),          # the default exact expectation, a narrower model
    ("hop_plus_wm", {"use_subgoal": True, "learners": ["moa", "omg_am", "world_model"], "wm_planner": "h_step",
                     "wm_horizon": 2, "wm_coplayer_expectation": "sampled", "wm_samples": 4, "wm_explore": "epsilon"}),
    ("hop_plus_mbrl", {}),
])
def test_end_to_end_training_runs(alg, overrides):
    exp = make_experiment(alg, roles=[alg, "NS", "RAND", alg], **{**SMALL, **overrides})
    while exp.runner.t_env < 300:
        exp.train_step()
    stats = {k: v[-1] for k, v in exp.learner_stats.items()}
    assert stats["wm_samples"] > 0 and "moa_loss" in stats
    assert "test_return_mean" in exp.test()
