"""Paired comparison of two methods by co-player group and seed."""
import numpy as np
import pytest

from tools.paired import paired_rows
from tools.results_table import SacredRun
from utils.errors import ConfigError


def run(name, coplayer, seed, value, status="COMPLETED"):
    config = {"name": name, "roles": [name] + [coplayer] * 3, "seed": seed}
    return SacredRun(f"/{name}/{coplayer}/{seed}", config, {f"return_{name}": {"values": [0.0, value]}}, status)


def test_runs_are_paired_by_group_and_seed_and_unshared_seeds_are_left_out():
    a = [run("hop", "NS", 0, 2.0), run("hop", "NS", 1, 3.0), run("hop", "NS", 2, 9.0), run("hop", "NH", 0, 1.0)]
    b = [run("dom", "NS", 1, 2.5), run("dom", "NS", 0, 1.0), run("dom", "NH", 0, 1.0), run("dom", "NS", 3, 0.0)]
    rows = {row.group: row for row in paired_rows(a, b, "return_{name}")}
    ns = rows["3 NS"]
    assert ns.seeds == [0, 1] and ns.mean_a == 2.5 and ns.mean_b == 1.75
    assert np.allclose(ns.differences, [1.0, 0.5]) and np.isclose(ns.standard_error, 0.25)
    assert rows["3 NH"].differences.tolist() == [0.0] and np.isnan(rows["3 NH"].standard_error)


def test_unfinished_runs_do_not_count_and_a_repeated_pair_is_an_error():
    a = [run("hop", "NS", 0, 2.0), run("hop", "NS", 1, 5.0, status="FAILED")]
    b = [run("dom", "NS", 0, 1.0), run("dom", "NS", 1, 1.0)]
    assert [row.seeds for row in paired_rows(a, b, "return_{name}")] == [[0]]
    with pytest.raises(ConfigError, match="a second run of co-players '3 NS' with seed 0"):
        paired_rows(a + [run("hop", "NS", 0, 3.0)], b, "return_{name}")
