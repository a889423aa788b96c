"""The rule references of the planner results: known answers of whole episodes."""
import numpy as np

from scripts.rule_baselines import focal_returns

MAPS = np.arange(16)


def test_a_hare_hunter_always_gets_its_hare_next_to_stag_hunters():
    assert focal_returns("NH", ["NS", "NS", "NS"], MAPS, 1.0).tolist() == [1.0] * 16


def test_a_stag_hunter_gets_nothing_next_to_hare_hunters():
    assert focal_returns("NS", ["NH", "NH", "NH"], MAPS, 1.0).tolist() == [0.0] * 16


def test_discounting_counts_from_the_first_step():
    # the hare comes at step k >= 1 (a move then HARE), worth 0.9^(k-1); never more than undiscounted
    undiscounted = focal_returns("NH", ["NS", "NS", "NS"], MAPS, 1.0)
    discounted = focal_returns("NH", ["NS", "NS", "NS"], MAPS, 0.9)
    steps = np.log(discounted) / np.log(0.9)
    assert np.allclose(steps, np.round(steps)) and (discounted <= undiscounted).all() and (discounted < 1).any()


def test_a_free_rider_earns_only_from_others_removals_on_snowdrift():
    # FIX never removes: next to three FIX nobody removes anything, next to ND it collects 6 per removal
    assert focal_returns("FIX", ["FIX"] * 3, MAPS, 1.0, env="snowdrift_small").tolist() == [0.0] * 16
    next_to_nd = focal_returns("FIX", ["ND"] * 3, MAPS, 1.0, env="snowdrift_small")
    assert (next_to_nd > 0).all() and np.allclose(next_to_nd % 6, 0)
