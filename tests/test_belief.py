"""Intra-OM Bayes updates and inter-OM goal counts (HOP beliefs), and their checkpointing."""
import os

import numpy as np
import pytest
import torch

from envs import rule_based
from envs.stag_hunt import StagHuntCore
from helpers import make_experiment
from planners.belief import GoalBeliefs


def test_update_normalises_and_leaves_the_diagonal_alone():
    beliefs = GoalBeliefs(3, 4, alpha=0.9, prior_count=1.0)
    beliefs.start_episode(np.ones((2, 3), dtype=bool))
    rng = np.random.default_rng(0)
    for _ in range(5):
        beliefs.update(rng.random((2, 3, 4)), rng.random((2, 3)) > 0.3)
    np.testing.assert_allclose(beliefs.belief.sum(axis=-1), 1.0)
    np.testing.assert_allclose(beliefs.belief[:, [0, 1, 2], [0, 1, 2]], 0.25)
    beliefs.update(np.zeros((2, 3, 4)), np.ones((2, 3), dtype=bool))  # impossible action: no NaN
    assert np.isfinite(beliefs.belief).all()


def _rule_likelihood(core, actions):
    """π(a_j | s, g) of the true co-players: uniform over what NS (goal 0) / NH (goal 1) allows."""
    slots = np.arange(core.n_agents)
    avail = core.avail_actions()
    lik = []
    for role in ("NS", "NH"):
        allowed = rule_based.make("stag_hunt", role)._allowed(core, slots, avail)
        chosen = np.take_along_axis(allowed, actions[..., None], axis=-1)[..., 0]
        lik.append(chosen / np.maximum(allowed.sum(axis=-1), 1))
    return np.stack(lik, axis=-1)


def test_beliefs_converge_to_the_true_goal_of_ns_and_nh_coplayers():
    core = StagHuntCore(1, layout=["S...", "2.3.", "...4", "1..H"], seed=0)
    core.reset([0])
    policies = {1: rule_based.make("stag_hunt", "NS"), 2: rule_based.make("stag_hunt", "NH"),
                3: rule_based.make("stag_hunt", "NS")}
    beliefs = GoalBeliefs(4, 2, alpha=0.995, prior_count=1.0)
    beliefs.start_episode(np.array([[True, False, False, False]]))
    for _ in range(3):
        actions = np.full((1, 4), 4)
        for slot, policy in policies.items():
            actions[:, slot] = policy.act(core, np.array([slot]))[:, 0]
        beliefs.update(_rule_likelihood(core, actions), core.alive & ~core.done[:, None])
        core.step(actions)
    assert beliefs.belief[0, 0, 1, 0] > 0.9 and beliefs.belief[0, 0, 2, 1] > 0.9  # slot 1 is NS, slot 2 NH


def test_inter_om_counts_are_discounted_over_episodes():
    alpha = 0.5
    sequential = GoalBeliefs(2, 2, alpha=alpha, prior_count=1.0)
    for goal in (0, 1, 1):
        sequential.start_episode(np.array([[True, False]]))
        sequential.record(np.array([[-1, goal]]), training=True)
    sequential.start_episode(np.array([[True, False]]))
    np.testing.assert_allclose(sequential.counts[0, 1], [0.25, 1.5])
    np.testing.assert_allclose(sequential.counts[1], 0.0)      # slot 1 was never focal
    np.testing.assert_allclose(sequential.prior()[0, 1], [1.25 / 3.75, 2.5 / 3.75])
    batched = GoalBeliefs(2, 2, alpha=alpha, prior_count=1.0)   # the same three episodes in one batch
    batched.start_episode(np.array([[True, False]] * 3))
    batched.record(np.array([[-1, 0], [-1, 1], [-1, 1]]), training=True)
    batched.start_episode(np.array([[True, False]]))
    np.testing.assert_allclose(batched.counts, sequential.counts)
    batched.record(np.array([[-1, 0]]), training=False)        # test episodes do not count
    batched.start_episode(np.array([[True, False]]))
    np.testing.assert_allclose(batched.counts, sequential.counts)


def test_sampled_goals_follow_the_belief():
    beliefs = GoalBeliefs(2, 3, alpha=1.0, prior_count=1.0)
    beliefs.start_episode(np.ones((1, 2), dtype=bool))
    beliefs.belief[0, 0, 1] = [0.0, 0.0, 1.0]
    goals = beliefs.sample(np.array([0]), np.array([0]), 7, torch.Generator().manual_seed(0))
    assert goals.shape == (1, 7, 2) and (goals[0, :, 1] == 2).all()


def test_hop_run_tallies_goals_and_restores_them_from_a_checkpoint(tmp_path):
    overrides = dict(roles=["hop", "NS", "NH", "NS"], num_simulations=4, tree_num=1, batch_size_run=4,
                     buffer_size=8, batch_size=8, env_args__episode_limit=12, local_results_path=str(tmp_path))
    exp = make_experiment("hop", **overrides)
    exp.train_step()
    exp.train_step()
    beliefs = exp.mac.actor.beliefs
    assert beliefs.counts[0].sum() > 0 and beliefs.counts[1:].sum() == 0  # only slot 0 plans
    assert beliefs.counts[0, 2, 0] == 0                                      # NH never catches a stag
    directory = exp.save()
    restored = make_experiment("hop", **overrides)
    restored.restore(os.path.dirname(directory))
    state, back = beliefs.state_dict(), restored.mac.actor.beliefs.state_dict()
    for key in ("counts", "reached", "focal"):
        np.testing.assert_array_equal(state[key], back[key])
    assert state["training"] == back["training"]


def test_bad_belief_settings_raise():
    with pytest.raises(ValueError, match="inter_om_alpha"):
        GoalBeliefs(2, 2, alpha=1.5, prior_count=1.0)
