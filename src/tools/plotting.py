"""Learning curves from Sacred run folders: load, group by configuration, mean ± std over seeds."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from tools.results_table import config_value, find_runs, format_key, matches


@dataclass
class RunCurve:
    """One metric of one recorded run."""

    run_dir: str
    label: str
    steps: np.ndarray
    values: np.ndarray


LABEL_KEYS = ("name", "env_config", "roles")   # what a curve's runs share by default (all but the seed)


def run_label(config: dict, keys: tuple[str, ...] | list[str] = LABEL_KEYS, missing: dict | None = None) -> str:
    """Label of a run from its config ``keys`` (dotted for nested ones); ValueError naming a key
    the run's config does not have, unless ``missing`` gives its value for such runs (runs recorded
    before the key existed)."""
    parts = []
    for key in keys:
        try:
            parts.append(format_key(config_value(config, key)).replace(",", "-"))
        except KeyError:
            if missing and key in missing:
                parts.append(str(missing[key]))
                continue
            import difflib
            close = difflib.get_close_matches(key, list(config), n=3, cutoff=0.5)
            hint = f" Closest keys: {', '.join(close)}." if close else " The keys are those of the run's config.json."
            raise ValueError(f"--group-by: no config key '{key}' in the runs.{hint}") from None
    return " | ".join(parts)


def x_label(key: str) -> str:
    """Adaptation metrics (``adapt_*``) are logged per episode, the others per env step."""
    return "episodes" if key.startswith("adapt_") else "env steps"


def expand_run_dirs(paths: list[str], statuses: tuple[str, ...] | None = ("COMPLETED",)) -> list[str]:
    """Sacred run folders as given, plus the runs (with a status in ``statuses``; None = any)
    found below any other folder, e.g. a sweep's ``<results>/<run>/sacred/<id>/``."""
    run_dirs = []
    for path in paths:
        if os.path.isfile(os.path.join(path, "config.json")) or not os.path.isdir(path):
            run_dirs.append(path)
            continue
        found = [r.path for r in find_runs([path]) if statuses is None or r.status in statuses]
        if not found:
            raise ValueError(f"no Sacred runs{' with status ' + '/'.join(statuses) if statuses else ''} below {path}")
        run_dirs += found
    return run_dirs


def load_curve(run_dir: str, key: str, label_keys: tuple[str, ...] | list[str] = LABEL_KEYS,
               missing: dict | None = None) -> RunCurve:
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
    return RunCurve(run_dir, run_label(config, label_keys, missing), np.asarray(metrics[key]["steps"], dtype=float),
                    np.asarray(metrics[key]["values"], dtype=float))


def smooth(curve: RunCurve, window: int) -> RunCurve:
    """Trailing mean over ``window`` logged points (x = the window's last point); 1 = unchanged."""
    if window < 1:
        raise ValueError(f"smoothing window must be >= 1, got {window}")
    if window == 1:
        return curve
    if len(curve.values) < window:
        raise ValueError(f"{curve.run_dir}: {len(curve.values)} points, fewer than the smoothing window {window}")
    values = np.convolve(curve.values, np.ones(window) / window, mode="valid")
    return RunCurve(curve.run_dir, curve.label, curve.steps[window - 1:], values)


def mean_std(curves: list[RunCurve], points: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate curves onto a common step grid (up to the shortest run) and return x, mean, std."""
    end = min(c.steps[-1] for c in curves)
    start = max(c.steps[0] for c in curves)
    grid = np.linspace(start, end, points) if end > start else np.array([end])
    stacked = np.stack([np.interp(grid, c.steps, c.values) for c in curves])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


def select_runs(run_dirs: list[str], where: dict | None) -> list[str]:
    """The run folders whose ``config.json`` has every ``where`` value (see ``results_table.matches``)."""
    if not where:
        return list(run_dirs)
    selected = []
    for run_dir in run_dirs:
        with open(os.path.join(run_dir, "config.json")) as f:
            if matches(json.load(f), where):
                selected.append(run_dir)
    if not selected:
        raise ValueError(f"none of the {len(run_dirs)} runs has {where}")
    return selected


LINE_STYLES = ("-", "--", "-.", ":")


def curve_style(index: int) -> tuple[int, str]:
    """(tab10 colour index, line style) of the ``index``-th curve: the style changes after every
    10 curves (the colour cycle), so up to 40 curves stay distinguishable."""
    return index % 10, LINE_STYLES[(index // 10) % len(LINE_STYLES)]


IMAGE_FORMATS = (".png", ".pdf", ".svg")


def check_out_path(out: str) -> None:
    """ValueError unless ``out`` is a file path ending in an image format, not an existing folder."""
    if os.path.isdir(out):
        raise ValueError(f"--out '{out}' is a folder; give a file name ending in {', '.join(IMAGE_FORMATS)}")
    if os.path.splitext(out)[1].lower() not in IMAGE_FORMATS:
        raise ValueError(f"--out '{out}' must end in {', '.join(IMAGE_FORMATS)}")
    parent = os.path.dirname(os.path.abspath(out))
    probe = parent
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise ValueError(f"--out '{out}': '{probe}' is a file, not a folder")


def plot_curves(run_dirs: list[str], key: str, out: str, title: str | None = None,
                references: dict[str, float] | None = None,
                label_keys: tuple[str, ...] | list[str] = LABEL_KEYS, window: int = 1,
                where: dict | None = None, missing: dict | None = None) -> dict[str, int]:
    """Plot ``key`` against its logged x (env steps; episodes for ``adapt_*``), one line (mean ± std
    over its runs) per label, plus dashed horizontal ``references`` (e.g. a rule-based agent's
    return); only runs matching ``where``; each run is first smoothed over ``window`` points;
    ``missing`` gives label keys' values for runs whose config lacks them; returns runs per label."""
    check_out_path(out)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[RunCurve]] = {}
    for run_dir in select_runs(run_dirs, where):
        curve = smooth(load_curve(run_dir, key, label_keys, missing), window)
        groups.setdefault(curve.label, []).append(curve)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = plt.get_cmap("tab10")
    for index, (label, curves) in enumerate(sorted(groups.items())):
        x, mean, std = mean_std(curves)
        colour_index, style = curve_style(index)
        colour = colours(colour_index)
        ax.plot(x, mean, label=f"{label} (n={len(curves)})", color=colour, linestyle=style)
        ax.fill_between(x, mean - std, mean + std, alpha=0.25, color=colour)
    for name, value in (references or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1, color="gray")
        ax.annotate(f"{name} = {value:g}", (0, value), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel(x_label(key))
    ax.set_ylabel(key if window == 1 else f"{key} (mean of last {window} points)")
    ax.set_title(title or key)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return {label: len(curves) for label, curves in groups.items()}
