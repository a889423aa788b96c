"""Paired comparison of two methods run on the same seeds: per-seed differences of a metric."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tools.results_table import SacredRun, coplayers, final_value, metric_name
from utils.errors import ConfigError


@dataclass
class PairedRow:
    """One co-player group: both methods' means over the shared seeds and their paired difference."""

    group: str
    seeds: list[int]
    mean_a: float
    mean_b: float
    differences: np.ndarray   # a - b, one per seed

    @property
    def standard_error(self) -> float:
        n = len(self.differences)
        return float(self.differences.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def by_group_and_seed(runs: list[SacredRun], metric: str, last: int) -> dict[tuple[str, int], float]:
    """``{(co-player group, seed): value}`` of the COMPLETED runs; a second run of one pair is an error."""
    values: dict[tuple[str, int], float] = {}
    for run in runs:
        if run.status != "COMPLETED":
            continue
        name = metric_name(metric, run.config)
        if name not in run.metrics:
            raise ConfigError(f"{run.path}: no metric '{name}'")
        key = (coplayers(run.config), int(run.config["seed"]))
        if key in values:
            raise ConfigError(f"{run.path}: a second run of co-players '{key[0]}' with seed {key[1]}")
        values[key] = final_value(run.metrics, name, last)
    return values


def paired_rows(runs_a: list[SacredRun], runs_b: list[SacredRun], metric: str, last: int = 1) -> list[PairedRow]:
    """Per co-player group, the seeds both methods ran and the differences a - b on them."""
    a, b = by_group_and_seed(runs_a, metric, last), by_group_and_seed(runs_b, metric, last)
    rows = []
    for group in sorted({g for g, _ in a} & {g for g, _ in b}):
        seeds = sorted(s for g, s in a if g == group and (g, s) in b)
        if seeds:
            rows.append(PairedRow(group, seeds, float(np.mean([a[group, s] for s in seeds])),
                                  float(np.mean([b[group, s] for s in seeds])),
                                  np.array([a[group, s] - b[group, s] for s in seeds])))
    return rows
