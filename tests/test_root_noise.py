"""Dirichlet noise at the search roots: a distribution over the available actions, the same in the
batched search and the reference, and it lets a search find the best action a sharp prior hides."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings as hyp_settings, strategies as st

from envs.stag_hunt import HARE, StagHuntCore
from planners.mcts import BatchedMCTS, SearchSettings, root_q
from planners.root_noise import draw_root_noise
from planners.tree_goals import DiscreteTreeGoals
from reference_mcts import reference_search
from search_models import IntegerModels

LEFT, RIGHT, STAY = 2, 3, 4


class SharpPriorModels(IntegerModels):
    """Prior logit ``sharpness`` on ``favoured`` everywhere (probability ~0.998), value 0: a prior
    that has stopped proposing anything else, with a value that knows nothing."""

    def __init__(self, *args, favoured: int = LEFT, sharpness: float = 8.0, **kwargs) -> None:
        super().__init__(*args, flat_prior=True, **kwargs)
        self.favoured, self.sharpness = favoured, sharpness

    def prior_value(self, obs, time, slot):
        logits = np.zeros((len(obs), self.shape[2]))
        logits[:, self.favoured] = self.sharpness
        return logits, np.zeros(len(obs))


@hyp_settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=7, max_size=7), min_size=1, max_size=6),
       st.floats(0.01, 5.0), st.integers(1, 4), st.integers(0, 2 ** 31))
def test_noise_is_a_distribution_over_the_available_actions(rows, alpha, trees, seed):
    avail = np.array(rows)
    avail[:, STAY] = True                                          # STAY is always available
    eta = draw_root_noise(avail, trees, alpha, torch.Generator().manual_seed(seed))
    assert eta.shape == (len(avail), trees, 7)
    assert (eta[~np.repeat(avail[:, None], trees, axis=1)] == 0).all()
    np.testing.assert_allclose(eta.sum(axis=-1), 1.0)
    again = draw_root_noise(avail, trees, alpha, torch.Generator().manual_seed(seed))
    np.testing.assert_array_equal(eta, again)                      # the run's seed fixes it


def _search(core, models, settings, env_idx, slot_idx, goals, explore, seed=0):
    return BatchedMCTS(core, models, settings).search(core, env_idx, slot_idx,
                                                      DiscreteTreeGoals(models.coplayer_logits, goals),
                                                      torch.Generator().manual_seed(seed), explore=explore)


def test_no_noise_in_test_searches_or_at_fraction_zero_and_no_draw_then():
    core = StagHuntCore(3, grid_size=4, n_walls=0, seed=0)
    core.reset(np.arange(3))
    models = IntegerModels(core.obs_shape, 4, 2, 7, seed=1)
    env_idx, slot_idx = np.array([0, 1, 2]), np.array([0, 3, 1])
    goals = np.random.default_rng(0).integers(0, 2, size=(3, 2, 4))
    plain = _search(core, models, SearchSettings(25, 2, 1.0, 0.95), env_idx, slot_idx, goals, explore=True)
    testing = _search(core, models, SearchSettings(25, 2, 1.0, 0.95, root_noise_fraction=0.25), env_idx, slot_idx,
                      goals, explore=False)
    assert plain.root_noise is None and testing.root_noise is None
    np.testing.assert_array_equal(plain.visits, testing.visits)     # no draw either: the runs are unchanged
    with pytest.raises(ValueError, match="alpha"):
        draw_root_noise(np.ones((2, 7), dtype=bool), 2, 0.0, torch.Generator())


def test_batched_search_with_root_noise_gives_the_reference_visit_counts():
    core = StagHuntCore(3, grid_size=4, n_walls=0, seed=0)
    core.reset(np.arange(3))
    settings = SearchSettings(num_simulations=25, tree_num=2, c_puct=1.0, discount=0.95, root_noise_fraction=0.5)
    models = IntegerModels(core.obs_shape, 4, 2, 7, seed=1)
    env_idx, slot_idx = np.array([0, 1, 2, 2]), np.array([0, 3, 1, 2])
    goals = np.random.default_rng(0).integers(0, 2, size=(4, 2, 4))
    result = _search(core, models, settings, env_idx, slot_idx, goals, explore=True)
    assert result.root_noise.shape == (4, 2, 7)
    np.testing.assert_allclose(result.root_noise.sum(axis=-1), 1.0)
    visits, sums, lower, upper = reference_search(core, env_idx, slot_idx, goals, models, settings,
                                                  np.random.default_rng(0), result.root_noise)
    np.testing.assert_array_equal(result.visits, visits)
    np.testing.assert_allclose(result.q, root_q(visits, sums, lower, upper))
    plain = _search(core, models, settings, env_idx, slot_idx, goals, explore=False)
    assert not np.array_equal(plain.visits, result.visits)         # the noise changed the search


def _standing_on_the_hare() -> StagHuntCore:
    core = StagHuntCore(1, n_agents=2, layout=[".1H", "...", "..2"], seed=0)
    core.reset(np.arange(1))
    core.step(np.array([[RIGHT, STAY]]))                           # agent 1 now stands on the hare
    assert core.avail_actions()[0, 0, HARE]
    return core


@pytest.mark.parametrize("fraction, best", [(0.0, LEFT), (0.25, HARE)])
def test_root_noise_lets_the_search_take_the_hare_a_sharp_prior_walks_away_from(fraction, best):
    """The capture pays 1 now; the prior puts 0.998 on LEFT (away from it) at every node and the value
    is 0. Without noise every simulation goes LEFT and HARE is never tried; with AlphaZero's noise
    (fraction 0.25, alpha 0.3) every seed's search takes the hare."""
    picks = []
    for seed in range(10):
        core = _standing_on_the_hare()
        settings = SearchSettings(200, 5, 1.25, 0.95, root_noise_fraction=fraction)
        models = SharpPriorModels(core.obs_shape, 2, 2, 7)
        result = _search(core, models, settings, np.array([0]), np.array([0]), np.ones((1, 5, 2), dtype=np.int64),
                         explore=True, seed=seed)
        picks.append(int(result.greedy()[0]))
    assert picks == [best] * 10
