"""Learning curves from Sacred run folders: load, group by configuration, mean ± std over seeds."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np


@dataclass
class RunCurve:
    """One metric of one recorded run."""

    run_dir: str
    label: str
    steps: np.ndarray
    values: np.ndarray


def run_label(config: dict) -> str:
    """Label of a run without its seed: algorithm, env config and roles."""
    roles = config.get("roles", [])
    return f"{config.get('name', '?')} | {config.get('env_config', config.get('env', '?'))} | {'-'.join(roles)}"


def load_curve(run_dir: str, key: str) -> RunCurve:
    """Read ``key`` from ``<run_dir>/metrics.json``; a missing run folder or key raises ValueError."""
    metrics_path = os.path.join(run_dir, "metrics.json")
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(metrics_path) or not os.path.isfile(config_path):
        raise ValueError(f"{run_dir} is not a Sacred run folder (needs metrics.json and config.json)")
    with open(metrics_path) as f:
        metrics = json.load(f)
    with open(config_path) as f:
        config = json.load(f)
    if key not in metrics:
        raise ValueError(f"metric '{key}' not in {metrics_path}; it has: {', '.join(sorted(metrics))}")
    return RunCurve(run_dir, run_label(config), np.asarray(metrics[key]["steps"], dtype=float),
                    np.asarray(metrics[key]["values"], dtype=float))


def mean_std(curves: list[RunCurve], points: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate curves onto a common step grid (up to the shortest run) and return x, mean, std."""
    end = min(c.steps[-1] for c in curves)
    start = max(c.steps[0] for c in curves)
    grid = np.linspace(start, end, points) if end > start else np.array([end])
    stacked = np.stack([np.interp(grid, c.steps, c.values) for c in curves])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


def plot_curves(run_dirs: list[str], key: str, out: str, title: str | None = None,
                references: dict[str, float] | None = None) -> dict[str, int]:
    """Plot ``key`` against env steps, one line (mean ± std over its runs) per label, plus
    dashed horizontal ``references`` (e.g. a rule-based agent's return); returns runs per label."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[RunCurve]] = {}
    for run_dir in run_dirs:
        curve = load_curve(run_dir, key)
        groups.setdefault(curve.label, []).append(curve)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, curves in sorted(groups.items()):
        x, mean, std = mean_std(curves)
        ax.plot(x, mean, label=f"{label} (n={len(curves)})")
        ax.fill_between(x, mean - std, mean + std, alpha=0.25)
    for name, value in (references or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1, color="gray")
        ax.annotate(f"{name} = {value:g}", (0, value), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel("env steps")
    ax.set_ylabel(key)
    ax.set_title(title or key)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return {label: len(curves) for label, curves in groups.items()}
