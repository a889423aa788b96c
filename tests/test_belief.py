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
    beliefs = GoalBeliefs(1, 3, 4, alpha=0.9, prior_count=1.0)
    beliefs.start_episode(np.ones((2, 3), dtype=bool), np.zeros((2, 3), dtype=np.int64))
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
    beliefs = GoalBeliefs(3, 4, 2, alpha=0.995, prior_count=1.0)
    beliefs.start_episode(np.array([[True, False, False, False]]), np.array([[0, 1, 2, 1]]))
    for _ in range(3):
        actions = np.full((1, 4), 4)
        for slot, policy in policies.items():
            actions[:, slot] = policy.act(core, np.array([slot]))[:, 0]
        beliefs.update(_rule_likelihood(core, actions), core.alive & ~core.done[:, None])
        core.step(actions)
    assert beliefs.belief[0, 0, 1, 0] > 0.9 and beliefs.belief[0, 0, 2, 1] > 0.9  # slot 1 is NS, slot 2 NH


def test_inter_om_counts_are_discounted_over_episodes():
    alpha = 0.5
    roles = np.array([[0, 1]])
    sequential = GoalBeliefs(2, 2, 2, alpha=alpha, prior_count=1.0)
    for goal in (0, 1, 1):
        sequential.start_episode(np.array([[True, False]]), roles)
        sequential.record(np.array([[-1, goal]]), training=True)
    sequential.start_episode(np.array([[True, False]]), roles)
    np.testing.assert_allclose(sequential.counts[1], [0.25, 1.5])
    np.testing.assert_allclose(sequential.counts[0], 0.0)      # role 0 was never a co-player
    np.testing.assert_allclose(sequential.prior()[1], [1.25 / 3.75, 2.5 / 3.75])
    batched = GoalBeliefs(2, 2, 2, alpha=alpha, prior_count=1.0)   # the same three episodes in one batch
    batched.start_episode(np.array([[True, False]] * 3), np.repeat(roles, 3, axis=0))
    batched.record(np.array([[-1, 0], [-1, 1], [-1, 1]]), training=True)
    batched.start_episode(np.array([[True, False]]), roles)
    np.testing.assert_allclose(batched.counts, sequential.counts)
    batched.record(np.array([[-1, 0]]), training=False)        # test episodes do not count
    batched.start_episode(np.array([[True, False]]), roles)
    np.testing.assert_allclose(batched.counts, sequential.counts)


def test_inter_om_counts_follow_the_coplayer_identity_not_the_slot():
    """Roles 1 (always goal 0) and 2 (always goal 1) swap slots between episodes: each slot's prior
    comes from whoever sits there."""
    beliefs = GoalBeliefs(3, 3, 2, alpha=0.9, prior_count=1.0)
    focal = np.array([[True, False, False]] * 2)
    roles = np.array([[0, 1, 2], [0, 2, 1]])
    for _ in range(4):
        beliefs.start_episode(focal, roles)
        beliefs.record(np.where(roles == 1, 0, np.where(roles == 2, 1, -1)), training=True)
        roles = roles[:, [0, 2, 1]]
    beliefs.start_episode(focal, roles)
    assert beliefs.counts[1, 0] > 0 and beliefs.counts[1, 1] == 0 and beliefs.counts[2, 0] == 0
    for b in range(2):
        for j in (1, 2):
            favoured = 0 if roles[b, j] == 1 else 1
            assert beliefs.belief[b, 0, j, favoured] > 0.8


def test_sampled_goals_follow_the_belief():
    beliefs = GoalBeliefs(1, 2, 3, alpha=1.0, prior_count=1.0)
    beliefs.start_episode(np.ones((1, 2), dtype=bool), np.zeros((1, 2), dtype=np.int64))
    beliefs.belief[0, 0, 1] = [0.0, 0.0, 1.0]
    goals = beliefs.sample(np.array([0]), np.array([0]), 7, torch.Generator().manual_seed(0))
    assert goals.shape == (1, 7, 2) and (goals[0, :, 1] == 2).all()


def test_hop_run_keys_counts_by_identity_with_shuffled_slots_and_restores_them(tmp_path):
    overrides = dict(roles=["hop", "NS", "NH", "NS"], shuffle_slots=True, num_simulations=4, tree_num=1,
                     batch_size_run=4, buffer_size=8, batch_size=8, env_args__episode_limit=25,
                     local_results_path=str(tmp_path))
    exp = make_experiment("hop", **overrides)
    for _ in range(3):
        exp.train_step()
    actor, index = exp.mac.actor, exp.mac.role_index
    beliefs = actor.beliefs
    ns, nh = beliefs.counts[index["NS"]], beliefs.counts[index["NH"]]
    assert ns[0] > ns[1] and nh[1] > nh[0] and nh[0] == 0     # NS catch stags, NH only hares
    roles = exp.mac.init_episode(4)                            # a fresh shuffled assignment
    assert len({tuple(r) for r in roles}) > 1                 # slots really are shuffled
    focal = np.argwhere(roles == index["hop"])
    for b, i in focal:
        for j in range(4):
            if roles[b, j] != index["hop"]:
                favoured = 0 if roles[b, j] == index["NS"] else 1
                assert beliefs.belief[b, i, j].argmax() == favoured
    directory = exp.save()
    restored = make_experiment("hop", **overrides)
    restored.restore(os.path.dirname(directory))
    state, back = beliefs.state_dict(), restored.mac.actor.beliefs.state_dict()
    for key in ("counts", "reached", "focal", "role_of_slot", "fold_pending"):
        np.testing.assert_array_equal(state[key], back[key])
    np.testing.assert_array_equal(beliefs.prior(), restored.mac.actor.beliefs.prior())


def test_bad_belief_settings_raise():
    with pytest.raises(ValueError, match="inter_om_alpha"):
        GoalBeliefs(1, 2, 2, alpha=1.5, prior_count=1.0)


def test_inter_om_discounts_once_per_episode_and_counts_one_unit_per_episode():
    beliefs = GoalBeliefs(2, 3, 2, alpha=0.5, prior_count=1.0)
    roles = np.array([[0, 1, 1], [0, 1, 1], [0, 1, 1]])
    beliefs.start_episode(np.array([[True, False, False]] * 3), roles)
    beliefs.record(np.array([[-1, 0, 0], [-1, 0, 1], [-1, 1, -1]]), training=True)
    beliefs.start_episode(np.array([[True, False, False]]), roles[:1])
    # episode 1: two stags (one unit), episode 2: a stag and a hare (half each), episode 3: a hare
    np.testing.assert_allclose(beliefs.counts[1], [0.25 * 1.0 + 0.5 * 0.5, 0.5 * 0.5 + 1.0])
    np.testing.assert_allclose(beliefs.counts[0], 0.0)


def test_one_batch_of_hare_episodes_cannot_make_the_stag_unbelievable():
    share = 0.1
    beliefs = GoalBeliefs(2, 4, 2, alpha=0.995, prior_count=1.0, prior_share=share)
    roles = np.tile([0, 1, 1, 1], (64, 1))
    for _ in range(10):                                  # ten batches of 64 envs, every co-player takes a hare
        beliefs.start_episode(np.tile([True, False, False, False], (64, 1)), roles)
        beliefs.record(np.tile([-1, 1, 1, 1], (64, 1)), training=True)
    beliefs.start_episode(np.array([[True, False, False, False]]), roles[:1])
    assert beliefs.counts[1, 1] > 150                   # 640 episodes of evidence (discounted)
    assert beliefs.prior()[1, 0] == pytest.approx(share / (1 + 2 * share))
    # ... and a few stag-taking episodes move it back up
    for _ in range(5):
        beliefs.start_episode(np.tile([True, False, False, False], (64, 1)), roles)
        beliefs.record(np.tile([-1, 0, 0, 0], (64, 1)), training=True)
    beliefs.start_episode(np.array([[True, False, False, False]]), roles[:1])
    assert beliefs.prior()[1, 0] > 0.3
    without_share = GoalBeliefs(2, 4, 2, alpha=0.995, prior_count=1.0)
    without_share.start_episode(np.tile([True, False, False, False], (64, 1)), roles)
    without_share.record(np.tile([-1, 1, 1, 1], (64, 1)), training=True)
    without_share.start_episode(np.array([[True, False, False, False]]), roles[:1])
    assert without_share.prior()[1, 0] < 0.02          # what the pseudo-count alone would give


def test_belief_quality_reports_p_true_goal_after_k_steps_per_role():
    beliefs = GoalBeliefs(3, 3, 2, alpha=1.0, prior_count=1.0)
    beliefs.start_episode(np.array([[True, False, False]]), np.array([[0, 1, 2]]))
    observed = np.array([[True, True, True]])
    steps = [np.array([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]])] * 5
    for likelihood in steps:
        beliefs.update(likelihood, observed)
    beliefs.record(np.array([[-1, 0, 1]]), training=True)    # slot 1 (role 1) took the stag, slot 2 a hare
    quality = beliefs.quality()
    p1 = 0.9 / (0.9 + 0.1)
    np.testing.assert_allclose(quality[(1, 1)], [p1])
    np.testing.assert_allclose(quality[(1, 3)], [0.9 ** 3 / (0.9 ** 3 + 0.1 ** 3)])
    np.testing.assert_allclose(quality[(2, 5)], [0.8 ** 5 / (0.8 ** 5 + 0.2 ** 5)])
    assert (0, 1) not in quality                         # the planning agent itself is nobody's co-player here
