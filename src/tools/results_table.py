"""Results tables from Sacred run folders: a metric's final value, grouped by config keys,
as mean ± std over runs (seeds) in a markdown table."""
from __future__ import annotations

import glob
import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from utils.errors import ConfigError


RUN_PATH_KEYS = ("local_results_path", "unique_token")   # differ between otherwise identical runs


@dataclass
class SacredRun:
    """One recorded run: its folder, config, metrics and Sacred status."""

    path: str
    config: dict
    metrics: dict
    status: str


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def load_run(path: str) -> SacredRun:
    """Read ``<path>/{config,metrics,run}.json`` (metrics may be missing: no metric logged yet)."""
    metrics_path = os.path.join(path, "metrics.json")
    metrics = _read_json(metrics_path) if os.path.isfile(metrics_path) else {}
    return SacredRun(path, _read_json(os.path.join(path, "config.json")), metrics,
                     _read_json(os.path.join(path, "run.json")).get("status", "UNKNOWN"))


def is_run_folder(path: str) -> bool:
    return all(os.path.isfile(os.path.join(path, f)) for f in ("config.json", "run.json"))


def find_runs(roots: list[str]) -> list[SacredRun]:
    """Every Sacred run at or below the roots (``<root>/**/sacred/<id>/``), in path order."""
    paths: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            raise ConfigError(f"results root {root} is not a folder")
        if is_run_folder(root):
            paths.append(root)
            continue
        found = glob.glob(os.path.join(root, "**", "sacred", "[0-9]*", "run.json"), recursive=True)
        paths += [os.path.dirname(p) for p in found if is_run_folder(os.path.dirname(p))]
    return [load_run(p) for p in sorted(set(paths))]


def coplayers(config: dict) -> str:
    """Who the learned role plays with: ``self-play`` when every slot is learned, else the other
    roles compacted (``[hop,NS,NS,NS]`` -> ``3 NS``, ``[ppo,NS,NH,RAND]`` -> ``NS+NH+RAND``), so
    runs of different algorithms against the same co-players share a column. A frozen
    ``ckpt:<dir>`` co-player is named by its run token without the time stamp (``ckpt_label``)."""
    others = [ckpt_label(r) for r in config["roles"] if r != config["name"]]
    if not others:
        return "self-play"
    names = list(dict.fromkeys(others))
    return f"{len(others)} {names[0]}" if len(names) == 1 else "+".join(others)


def ckpt_label(role: str) -> str:
    """``ckpt:results/models/ppo__stag_hunt_small__ppo-NSx3__seed0__<stamp>/200000`` ->
    ``ckpt:ppo__stag_hunt_small__ppo-NSx3__seed0``; other roles unchanged."""
    if not role.startswith("ckpt:"):
        return role
    parts = [p for p in role[len("ckpt:"):].replace("\\", "/").split("/") if p]
    tokens = [p for p in parts if p.count("__") >= 4]
    return "ckpt:" + (tokens[-1].rsplit("__", 1)[0] if tokens else (parts[-1] if parts else ""))


def from_checkpoint(config: dict) -> bool:
    """Whether the run started from a checkpoint (``checkpoint_path`` or ``adapt_checkpoint``), e.g.
    a probe of a trained model vs. of an untrained one."""
    return bool(config.get("checkpoint_path") or config.get("adapt_checkpoint"))


def parse_where(items: list[str]) -> dict[str, Any]:
    """``["coplayers=3 NS", "t_max=2000"]`` -> ``{"coplayers": "3 NS", "t_max": 2000}`` (yaml values)."""
    from utils.config import parse_yaml
    where: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"--where: expected key=value, got '{item}'")
        where[key] = parse_yaml(value)
    return where


def matches(config: dict, where: dict[str, Any] | None) -> bool:
    """Whether a run's config has every ``where`` value (config keys, dotted keys or ``DERIVED_KEYS``)."""
    try:
        return all(config_value(config, k) == v for k, v in (where or {}).items())
    except KeyError:
        return False


# Keys computed from a run's config (usable in --rows / --cols / --where like config keys).
DERIVED_KEYS = {"coplayers": coplayers, "from_checkpoint": from_checkpoint}


def config_value(config: dict, dotted: str) -> Any:
    """``config["env_args"]["grid_size"]`` for ``env_args.grid_size`` (or a ``DERIVED_KEYS``
    entry); KeyError if absent."""
    if dotted in DERIVED_KEYS and dotted not in config:
        return DERIVED_KEYS[dotted](config)
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def format_key(value: Any) -> str:
    """Table text of a config value: lists joined by commas."""
    if isinstance(value, list):
        return ",".join(format_key(v) for v in value)
    return str(value)


def metric_name(template: str, config: dict) -> str:
    """The metric of a run: ``{key}`` in the template is that run's config value
    (``test_return_role_{name}_mean`` -> ``test_return_role_hop_mean`` for a hop run)."""
    class Lookup(dict):
        def __missing__(self, key: str) -> str:
            raise ConfigError(f"metric '{template}': no config key '{key}'")
    return template.format_map(Lookup({k: format_key(v) for k, v in config.items()}))


def final_value(metrics: dict, metric: str, last: int) -> float:
    """Mean of the last ``last`` logged values of ``metric``."""
    values = metrics[metric]["values"][-last:]
    return float(np.mean(values))


@dataclass
class Cell:
    """The runs of one table cell."""

    values: list[float]
    configs: list[str]   # each run's config without its paths (json), to spot runs recorded twice

    def text(self, digits: int) -> str:
        if not self.values:
            return "–"
        mean = float(np.mean(self.values))
        std = float(np.std(self.values, ddof=1)) if len(self.values) > 1 else math.nan
        spread = f" ± {std:.{digits}f}" if math.isfinite(std) else ""
        return f"{mean:.{digits}f}{spread} (n={len(self.values)})"


@dataclass
class Table:
    """Cells by (row label, column label), and the runs left out with the reason."""

    rows: list[str]
    cols: list[str]
    row_keys: list[str]
    col_keys: list[str]
    cells: dict[tuple[str, str], Cell]
    skipped: list[str]


def _label(config: dict, keys: list[str], path: str) -> str:
    try:
        return ", ".join(format_key(config_value(config, k)) for k in keys) if keys else "all"
    except KeyError as e:
        raise ConfigError(f"run {path} has no config key {e}") from None


def build_table(runs: list[SacredRun], metric: str, rows: list[str], cols: list[str], last: int = 1,
                where: dict[str, Any] | None = None, statuses: tuple[str, ...] | None = ("COMPLETED",)) -> Table:
    """Group ``runs`` (with a status in ``statuses``; None = any) matching ``where`` by the config
    keys ``rows`` × ``cols`` and take each run's ``metric`` (mean of its last ``last`` values)."""
    if last < 1:
        raise ConfigError(f"--last must be >= 1, got {last}")
    cells: dict[tuple[str, str], Cell] = {}
    row_labels: list[str] = []
    col_labels: list[str] = []
    skipped: list[str] = []
    for run in runs:
        if statuses is not None and run.status not in statuses:
            skipped.append(f"{run.path}: status {run.status}")
            continue
        if not matches(run.config, where):
            continue
        name = metric_name(metric, run.config)
        if name not in run.metrics:
            skipped.append(f"{run.path}: no metric {name}")
            continue
        row, col = _label(run.config, rows, run.path), _label(run.config, cols, run.path)
        row_labels += [row] if row not in row_labels else []
        col_labels += [col] if col not in col_labels else []
        cell = cells.setdefault((row, col), Cell([], []))
        cell.values.append(final_value(run.metrics, name, last))
        cell.configs.append(json.dumps({k: v for k, v in run.config.items() if k not in RUN_PATH_KEYS}, sort_keys=True))
    return Table(sorted(row_labels), sorted(col_labels), rows, cols, cells, skipped)


def render_markdown(table: Table, metric: str, last: int, digits: int = 2) -> str:
    """The table as markdown, with a caption saying what the numbers are."""
    corner = (", ".join(table.row_keys) or "runs") + " \\ " + (", ".join(table.col_keys) or "metric")
    headers = table.cols if table.col_keys else [metric]
    lines = ["| " + corner.replace("|", "/") + " | " + " | ".join(c.replace("|", "/") for c in headers) + " |",
             "|" + "---|" * (len(table.cols) + 1)]
    for row in table.rows:
        cells = [table.cells.get((row, col), Cell([], [])).text(digits) for col in table.cols]
        lines.append("| " + row.replace("|", "/") + " | " + " | ".join(cells) + " |")
    what = "final value" if last == 1 else f"mean of the last {last} logged values"
    lines.append("")
    lines.append(f"`{metric}`: {what} per run; mean ± std (sample std over runs, n = runs/seeds per cell).")
    return "\n".join(lines) + "\n"


def repeated_runs(table: Table) -> list[str]:
    """Cells holding two runs of the same config and seed (e.g. a run recorded twice)."""
    return [f"{row} / {col}" for (row, col), cell in table.cells.items() if len(set(cell.configs)) < len(cell.configs)]
