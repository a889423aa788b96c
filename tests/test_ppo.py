"""PPO: advantage maths, learning on tiny layouts with a known optimum, NaN handling."""
import pytest
import torch

from helpers import make_experiment
from learners.base import TrainingError
from learners.ppo_learner import gae

TINY = dict(env_args__episode_limit=10, batch_size_run=32, buffer_size=32, batch_size=32, ppo_epochs=4,
            ppo_minibatches=2, lr=0.002, test_nepisode=32)


def test_gae_bootstraps_on_truncation_not_on_termination():
    rewards = torch.tensor([[[0.0], [1.0]]])               # [B=1, T-1=2, N=1]
    values = torch.tensor([[[0.5], [0.25], [2.0]]])        # [B, T=3, N]
    none = torch.zeros(1, 2, 1)
    adv = gae(rewards, values, none, gamma=0.9, lam=1.0)
    # truncated: returns bootstrap from V(final obs) = 2.0
    assert adv[0, 1, 0] == pytest.approx(1.0 + 0.9 * 2.0 - 0.25)
    assert adv[0, 0, 0] == pytest.approx(0.9 * 1.0 + 0.81 * 2.0 - 0.5)
    term = torch.tensor([[[0.0], [1.0]]])
    adv = gae(rewards, values, term, gamma=0.9, lam=1.0)
    assert adv[0, 1, 0] == pytest.approx(1.0 - 0.25)
    assert adv[0, 0, 0] == pytest.approx(0.9 * 1.0 - 0.5)


def test_gae_lambda_zero_is_one_step_td():
    rewards = torch.rand(2, 5, 3)
    values = torch.rand(2, 6, 3)
    terminal = (torch.rand(2, 5, 3) > 0.7).float()
    adv = gae(rewards, values, terminal, gamma=0.95, lam=0.0)
    expected = rewards + 0.95 * values[:, 1:] * (1 - terminal) - values[:, :-1]
    assert torch.allclose(adv, expected)


def train_and_test(iterations, **overrides):
    exp = make_experiment(**TINY, **overrides)
    before = exp.test()
    for _ in range(iterations):
        exp.train_step()
    return before, exp.test()


def test_single_agent_learns_shortest_path_to_hare():
    # "1...H": the optimum is RIGHT x3, then HARE: return 1 in 4 steps... plus the capture step
    before, after = train_and_test(20, env_args__n_agents=1, roles=["ppo"], env_args__layout=["1...H"])
    assert before["test_ep_length_mean"] > 5
    assert after["test_return_mean"] == pytest.approx(1.0)
    assert after["test_ep_length_mean"] == pytest.approx(5.0)


def test_two_agents_learn_to_hunt_the_stag_together():
    # "1S2": both step onto the stag, then both choose STAG: 5 each, episode over in 2 steps
    before, after = train_and_test(25, env_args__n_agents=2, roles=["ppo", "ppo"], env_args__layout=["1S2", "..."])
    assert before["test_return_mean"] < 10
    assert after["test_return_mean"] == pytest.approx(10.0)
    assert after["test_ep_length_mean"] == pytest.approx(2.0)


def test_nan_loss_stops_with_module_and_step_named():
    exp = make_experiment(batch_size_run=8, buffer_size=8, batch_size=8)
    batch, _ = exp.runner.run()
    exp.buffer.insert_episode_batch(batch)
    with torch.no_grad():
        next(exp.mac.policy.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingError, match=r"ppo: PPO loss \(policy network\) is nan at t_env=123"):
        exp.learners[0].train(exp.buffer, 123, 8)
