"""HOP end to end: per-step fields, the alphazero and goal_model learners, direct_om."""
import numpy as np
import pytest
import torch

from components import masks
from helpers import make_experiment
from learners.hop_data import discounted_returns
from planners.goals import PreyKindGoals, hindsight_goals
from utils.errors import ConfigError

SMALL = dict(num_simulations=6, tree_num=2, batch_size_run=4, buffer_size=8, batch_size=8,
             env_args__episode_limit=10, az_epochs=1, coplayer_epochs=1)


def test_hop_train_step_writes_mcts_policy_and_belief_at_every_step():
    exp = make_experiment("hop", roles=["hop", "NS", "NH", "hop"], **SMALL)
    exp.train_step()
    batch = exp.buffer.sample_latest(4)
    acting = (masks.agent_mask(batch)[..., 0] > 0) & (batch["role"][:, None, :, 0] == 0)   # [B,T-1,N]
    policy = batch["mcts_policy"][:, :-1]
    np.testing.assert_allclose(policy.sum(-1)[acting].numpy(), 1.0, rtol=1e-5)
    assert (policy[~acting] == 0).all()
    assert (policy * ~batch["avail_actions"][:, :-1]).sum() == 0
    np.testing.assert_allclose(batch["belief"][:, :-1].sum(-1)[acting].numpy(), 1.0, rtol=1e-5)
    # the prior's target is the root visit distribution: visit counts over tree_num * num_simulations
    counts = policy[acting].numpy() * SMALL["tree_num"] * SMALL["num_simulations"]
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-4)
    for key in ("alphazero_policy_loss", "alphazero_value_loss", "goal_model_loss"):
        assert np.isfinite(exp.learner_stats[key]).all()
    assert any(key.startswith("inter_om_prior_NS_") for key in exp.learner_stats)


def test_training_decisions_log_whether_the_search_tried_one_action_and_how_sure_the_acting_was():
    exp = make_experiment("hop", roles=["hop", "NS", "NH", "hop"], runner="parallel", **SMALL)
    exp.train_step()
    batch = exp.buffer.sample_latest(4)
    acting = (masks.agent_mask(batch)[..., 0] > 0) & (batch["role"][:, None, :, 0] == 0)
    visits = batch["mcts_policy"][:, :-1][acting]                     # root visit distributions
    one_action, top = exp.learner_stats["search_one_action"], exp.learner_stats["acting_top_prob"]
    assert len(one_action) == len(top) == int(acting.sum())           # one entry per training decision
    assert sum(one_action) == int(((visits > 0).sum(-1) == 1).sum())
    assert all(0.0 < p <= 1.0 for p in top)


def test_q_softmax_target_writes_the_acting_distribution():
    exp = make_experiment("hop", roles=["hop", "NS", "NH", "hop"], mcts_policy_target="q_softmax", **SMALL)
    exp.train_step()
    batch = exp.buffer.sample_latest(4)
    acting = (masks.agent_mask(batch)[..., 0] > 0) & (batch["role"][:, None, :, 0] == 0)
    counts = batch["mcts_policy"][:, :-1][acting].numpy() * SMALL["tree_num"] * SMALL["num_simulations"]
    assert np.abs(counts - np.round(counts)).max() > 1e-3       # softmax of Q, not visit fractions
    with pytest.raises(ConfigError, match="mcts_policy_target"):
        make_experiment("hop", roles=["hop", "NS", "NH", "hop"], mcts_policy_target="nope", **SMALL)


def test_direct_om_runs_with_a_single_goal():
    exp = make_experiment("direct_om", roles=["direct_om", "RAND", "NS", "NH"], **SMALL)
    exp.train_step()
    assert exp.buffer.scheme["belief"]["vshape"] == (4, 1)
    assert exp.learner_stats["goal_model_samples"][0] > 0


def _trained(learner, data, objective, steps=40):
    """Losses before and after ``steps`` full-batch updates of ``objective(learner.loss(data))``."""
    before = [float(x.detach()) for x in learner.loss(data)]
    opt = next(iter(learner.optimisers.values()))
    for _ in range(steps):
        loss = objective(learner.loss(data))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return before, [float(x.detach()) for x in learner.loss(data)]


def test_alphazero_and_goal_model_losses_decrease_on_a_tiny_problem():
    exp = make_experiment("hop", roles=["hop", "NS", "NH", "NS"], lr=0.003, coplayer_lr=0.003, **SMALL)
    exp.train_step()
    goal_model, alphazero = exp.learners
    batch = exp.buffer.sample_latest(4)
    batch = batch[:, :batch.max_t_filled()]
    goal_data = goal_model.samples(batch)
    assert set(goal_data["slot"].tolist()) <= {1, 2, 3} and len(goal_data["slot"]) > 0
    before, after = _trained(goal_model, goal_data, lambda losses: losses[0])
    assert after[0] < 0.7 * before[0]
    before, after = _trained(alphazero, alphazero.samples(batch), sum)
    assert after[0] < before[0] and after[1] < 0.7 * before[1]


def test_hindsight_labels_and_returns():
    spec = PreyKindGoals()
    actions = torch.tensor([[[0], [5], [6], [6]]])               # [B=1, T=4, N=1]
    left = torch.tensor([[[False], [False], [False], [True]]])   # the lone STAG at t=1 failed
    reached = spec.reached(actions, torch.zeros_like(actions), left)
    assert reached[0, :, 0].tolist() == [-1, -1, -1, 1]
    assert hindsight_goals(reached)[0, :, 0].tolist() == [1, 1, 1, 1]
    returns = discounted_returns(torch.tensor([[[1.0], [0.0], [2.0]]]), torch.tensor([[[1.0], [1.0], [0.0]]]), 0.5)
    assert returns[0, :, 0].tolist() == [1.0, 0.0, 0.0]                 # nothing after the agent's last step


def test_goal_model_without_the_mcts_actor_is_a_config_error():
    with pytest.raises(ConfigError, match="actor 'mcts'"):
        make_experiment("ppo", learners=["goal_model", "policy"], roles=["ppo", "NS", "NS", "NS"])
