"""Batched PUCT search: same visit counts as the unbatched reference, finds known best actions."""
import numpy as np
import pytest
import torch

from controllers.search_acting import acting_diagnostics
from envs.grid_core import STAY
from envs.stag_hunt import HARE, STAG, StagHuntCore
from planners.mcts import BatchedMCTS, SearchSettings, masked_softmax, root_q
from planners.tree_goals import DiscreteTreeGoals
from reference_mcts import reference_search
from search_models import IntegerModels

LEFT, RIGHT = 2, 3


def _core(batch=1, **env_args):
    core = StagHuntCore(batch, **env_args)
    core.reset(np.arange(batch))
    return core


@pytest.mark.parametrize("stag_move", [STAY, LEFT])
def test_batched_search_gives_the_reference_visit_counts(stag_move):
    core = _core(3, grid_size=4, n_walls=0, seed=0)
    settings = SearchSettings(num_simulations=25, tree_num=2, c_puct=1.0, discount=0.95)
    models = IntegerModels(core.obs_shape, 4, 2, 7, seed=1, stag_move=stag_move)
    env_idx, slot_idx = np.array([0, 1, 2, 2]), np.array([0, 3, 1, 2])
    goals = np.random.default_rng(0).integers(0, 2, size=(4, 2, 4))
    result = BatchedMCTS(core, models, settings).search(core, env_idx, slot_idx, DiscreteTreeGoals(models.coplayer_logits, goals),
                                                       torch.Generator().manual_seed(0))
    visits, sums, lower, upper = reference_search(core, env_idx, slot_idx, goals, models, settings,
                                                  np.random.default_rng(0))
    np.testing.assert_array_equal(result.visits, visits)
    np.testing.assert_allclose(result.q, root_q(visits, sums, lower, upper))
    assert (result.visits.sum(axis=-1) == 25).all()


def _plan(layout, goals, **settings):
    core = _core(1, n_agents=2, layout=layout, seed=0)
    settings = SearchSettings(**{"num_simulations": 200, "tree_num": 5, "c_puct": 1.25, "discount": 0.95, **settings})
    models = IntegerModels(core.obs_shape, 2, 2, 7, flat_prior=True, stag_move=LEFT)
    search = BatchedMCTS(core, models, settings)
    tree_goals = DiscreteTreeGoals(models.coplayer_logits, np.array(goals).reshape(1, settings.tree_num, 2))
    result = search.search(core, np.array([0]), np.array([0]), tree_goals, torch.Generator().manual_seed(0))
    return np.where(result.avail, result.q, -np.inf)[0]


def test_search_walks_to_the_hare():
    q = _plan(["1.H", "...", "..2"], [[0, 1]] * 5)
    assert q.argmax() == RIGHT                          # RIGHT, RIGHT, HARE
    assert 0 < q[RIGHT] <= 1                            # on each tree's normalised scale


def test_goal_of_the_coplayer_decides_between_stag_and_hare():
    # co-player 2 under goal 0 walks LEFT onto the stag and plays STAG; under goal 1 it stays
    layout = ["H1S2"]
    assert _plan(layout, [[0, 0]] * 5).argmax() == RIGHT  # stag together: 5 at t=2
    assert _plan(layout, [[0, 1]] * 5).argmax() == LEFT   # co-player stays: hare


def test_leaving_agent_is_terminal_and_root_q_averages_trees():
    q = _plan(["1H", ".2"], [[1, 1], [1, 1], [1, 1]], tree_num=3)
    assert q.argmax() == RIGHT and 0 < q[RIGHT] <= 1   # RIGHT, HARE; then the agent left: terminal
    visits = np.array([[[2, 0, 1], [0, 0, 3]]], dtype=float)
    sums = np.array([[[4, 0, 3], [0, 0, 9]]], dtype=float)
    lower, upper = np.array([[0.0, 1.0]]), np.array([[4.0, 3.0]])
    # tree 0: Q 2, -, 3 -> 0.5, -, 0.75; tree 1: Q -, -, 3 -> 1.0; averaged over the trees that visited
    np.testing.assert_allclose(root_q(visits, sums, lower, upper), [[0.5, 0.0, 0.875]])  # unvisited: 0


class _SharpPrior(IntegerModels):
    """A trained-looking prior: all but certain of STAG where it is available, else of RIGHT."""

    def prior_value(self, obs, time, slot):
        logits = np.zeros((len(obs), self.shape[2]))
        logits[:, RIGHT], logits[:, STAG] = 20.0, 40.0
        return logits, np.zeros(len(obs))


def test_sampled_acting_follows_a_search_that_spent_every_simulation_on_one_action():
    # "1S2": RIGHT onto the stag, then STAG with the co-player who walks onto it (goal 0); the sharp
    # prior sends every simulation of every tree down RIGHT. The acting softmax must play it, not
    # treat the never-tried STAY as its equal (the old fill of unvisited actions with the lowest
    # visited Q tied them, and a trained HOP sampled uniformly wherever its prior was sure).
    core = _core(1, n_agents=2, layout=["1S2"], seed=0)
    models = _SharpPrior(core.obs_shape, 2, 2, 7, flat_prior=True, stag_move=LEFT)
    goals = DiscreteTreeGoals(models.coplayer_logits, np.zeros((1, 5, 2), dtype=np.int64))
    result = BatchedMCTS(core, models, SearchSettings(200, 5, 1.25, 0.95)).search(
        core, np.array([0]), np.array([0]), goals, torch.Generator().manual_seed(0))
    assert result.visits[0, :, RIGHT].sum() == result.visits.sum() and result.avail[0, STAY]
    acting = masked_softmax(10.0 * result.q, result.avail)
    assert acting[0, RIGHT] > 0.99 and result.greedy()[0] == RIGHT
    stats = acting_diagnostics(result, acting)                         # what a training run logs
    assert stats["search_one_action"][0] == 1.0 and stats["acting_top_prob"][0] > 0.99


def test_unvisited_edges_take_the_first_play_value_and_ties_break_by_prior_then_seeded_draw():
    core = _core(1, grid_size=4, n_walls=0, seed=0)
    models = IntegerModels(core.obs_shape, 4, 2, 7, flat_prior=True)
    search = BatchedMCTS(core, models, SearchSettings(1, 1, 1.0, 0.95))
    goals = DiscreteTreeGoals(models.coplayer_logits, np.zeros((1, 1, 4), dtype=np.int64))
    first = [search.search(core, np.array([0]), np.array([0]), goals, torch.Generator().manual_seed(s)).visits[0, 0]
             for s in range(40)]
    chosen = {int(np.argmax(v)) for v in first}
    avail = np.flatnonzero(core.avail_actions()[0, 0])
    assert chosen == set(avail.tolist())                 # flat prior: every available action gets picked first
    again = search.search(core, np.array([0]), np.array([0]), goals, torch.Generator().manual_seed(3)).visits[0, 0]
    np.testing.assert_array_equal(again, first[3])      # ... by a seeded draw
    # a higher prior wins the tie of equal (first-play) values
    models.w_logits[:, avail[-1]] = 1.0
    preferred = search.search(core, np.array([0]), np.array([0]), goals, torch.Generator().manual_seed(0)).visits[0, 0]
    assert np.argmax(preferred) == avail[-1]


def test_q_scale_does_not_change_the_search():
    # rewards scaled by 10: the same visits, the same normalised root Q
    layout, goals = ["H1S2"], np.array([[[0, 0]] * 5])
    results = []
    for scale in (1.0, 10.0):
        core = StagHuntCore(1, n_agents=2, layout=layout, seed=0, stag_reward=10.0 * scale, hare_reward=scale)
        core.reset([0])
        models = IntegerModels(core.obs_shape, 2, 2, 7, flat_prior=True, stag_move=LEFT)
        search = BatchedMCTS(core, models, SearchSettings(100, 5, 1.25, 0.95))
        results.append(search.search(core, np.array([0]), np.array([0]),
                                     DiscreteTreeGoals(models.coplayer_logits, goals), torch.Generator().manual_seed(0)))
    np.testing.assert_array_equal(results[0].visits, results[1].visits)
    np.testing.assert_allclose(results[0].q, results[1].q)


def test_on_hare_cell_hare_is_chosen_and_policy_is_masked():
    core = _core(1, n_agents=2, layout=["1H", ".2"], seed=0)
    core.step(np.array([[RIGHT, STAY]]))
    models = IntegerModels(core.obs_shape, 2, 2, 7, flat_prior=True)
    result = BatchedMCTS(core, models, SearchSettings(30, 1, 1.0, 0.95)).search(
        core, np.array([0]), np.array([0]), DiscreteTreeGoals(models.coplayer_logits, np.ones((1, 1, 2))), torch.Generator())
    assert np.where(result.avail, result.q, -np.inf)[0].argmax() == HARE
    probs = masked_softmax(2.0 * result.q, result.avail)
    np.testing.assert_allclose(result.visit_policy().sum(axis=1), 1.0)
    assert result.visit_policy()[0, STAG] == 0
    assert probs[0, STAG] == 0 and probs.sum() == pytest.approx(1.0)


def test_bad_settings_and_goal_shapes_raise():
    core = _core(1, grid_size=4, n_walls=0, seed=0)
    models = IntegerModels(core.obs_shape, 4, 2, 7)
    with pytest.raises(ValueError, match="num_simulations"):
        BatchedMCTS(core, models, SearchSettings(0, 1, 1.0, 0.95))
    with pytest.raises(ValueError, match="goals must have shape"):
        BatchedMCTS(core, models, SearchSettings(2, 2, 1.0, 0.95)).search(
            core, np.array([0]), np.array([0]), DiscreteTreeGoals(models.coplayer_logits, np.zeros((1, 1, 4))),
            torch.Generator())
