"""Sweeps: a grid of config overrides × seeds, every run a ``src/main.py`` subprocess in its own folder.

A run's folder (its ``local_results_path``) is named by its grid values and seed, e.g.
``<results>/roles=ppo-NSx3__seed0``; it holds ``sweep_run.json`` (what the run was started
with), ``log.txt`` (stdout and stderr of the latest attempt) and Sacred's ``sacred/<id>/``.
A run whose folder already holds a COMPLETED Sacred run is skipped, so a sweep resumes.
Backends (``BACKENDS``): ``local`` (a pool of ``workers`` subprocesses), ``ray`` (the same run
function as Ray tasks) and ``slurm`` (an sbatch job array, one run per array index).
"""
from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable

from launch import load_config
from utils.config import parse_yaml
from utils.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAIN = os.path.join(REPO, "src", "main.py")
SWEEP_MODULE = "scripts.sweep"   # run as ``python -m scripts.sweep`` with the repository root on the path
MANIFEST = "sweep_run.json"
LOG = "log.txt"
RESERVED = ("seed", "local_results_path")    # set by the sweep itself
SEED_PLACEHOLDER = "{seed}"                  # replaced by the run's seed in string values
MAX_FOLDER = 120


# ---------------------------------------------------------------------- grid and runs
def parse_assignment(text: str, what: str) -> tuple[str, Any]:
    """``key=<yaml value>`` -> (key, value)."""
    key, eq, raw = text.partition("=")
    if not eq or not key:
        raise ConfigError(f"{what}: expected key=value, got '{text}'")
    if key in RESERVED:
        raise ConfigError(f"{what}: '{key}' is set by the sweep (use --seeds; runs get their own folders)")
    return key, parse_yaml(raw)


def check_grid_entry(key: str, values: Any) -> tuple[str, list]:
    """A grid key and its values: a non-empty list, the key not one the sweep sets itself."""
    if key in RESERVED:
        raise ConfigError(f"--grid: '{key}' is set by the sweep (use --seeds; runs get their own folders)")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"--grid: '{key}' needs a non-empty list of values, e.g. {key}=[a,b], got {values!r}")
    return key, values


def parse_grid_item(text: str) -> tuple[str, list]:
    """``key=[v1, v2, ...]`` -> (key, values)."""
    return check_grid_entry(*parse_assignment(text, "--grid"))


def load_grid_file(path: str) -> dict[str, list]:
    """A yaml file mapping each key to its list of values."""
    if not os.path.isfile(path):
        raise ConfigError(f"--grid-file: {path} not found")
    with open(path) as f:
        data = parse_yaml(f.read())
    if not isinstance(data, dict):
        raise ConfigError(f"--grid-file: {path} must map keys to lists of values")
    return dict(check_grid_entry(str(key), values) for key, values in data.items())


def format_value(value: Any) -> str:
    """A value as command-line yaml that reads back to the same value: ``[ppo,NS]``, ``0.001``."""
    if isinstance(value, list):
        text = "[" + ",".join(format_value(v) for v in value) + "]"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    try:
        if parse_yaml(text) == value:
            return text
    except Exception:  # noqa: BLE001  (any yaml error: fall back to json, which yaml reads)
        pass
    return json.dumps(value)


def _slug(value: Any) -> str:
    """Short folder-name text of a value; repeated list items are counted (``ppo-NSx3``)."""
    if isinstance(value, list):
        parts = [(k, len(list(g))) for k, g in itertools.groupby(_slug(v) for v in value)]
        return "-".join(k if n == 1 else f"{k}x{n}" for k, n in parts)
    if isinstance(value, dict):
        return "_".join(f"{k}-{_slug(v)}" for k, v in value.items())
    if isinstance(value, str) and "/" in value:
        return os.path.basename(value.rstrip("/"))
    return str(value)


def folder_name(grid_values: dict[str, Any], seed: int) -> str:
    """``key=value__...__seed<S>`` with unsafe characters replaced; long names end in a hash."""
    parts = [f"{key}={_slug(value)}" for key, value in grid_values.items()] + [f"seed{seed}"]
    name = re.sub(r"[^A-Za-z0-9._=+-]", "_", "__".join(parts))
    if len(name) > MAX_FOLDER:
        digest = hashlib.sha1(json.dumps([grid_values, seed], sort_keys=True).encode()).hexdigest()[:8]
        name = f"{name[:MAX_FOLDER - 10]}__{digest}"
    return name


def _fill_seed(value: Any, seed: int) -> Any:
    if isinstance(value, str):
        return value.replace(SEED_PLACEHOLDER, str(seed))
    if isinstance(value, list):
        return [_fill_seed(v, seed) for v in value]
    if isinstance(value, dict):
        return {k: _fill_seed(v, seed) for k, v in value.items()}
    return value


def _nested(flat: dict[str, Any]) -> dict:
    """``{"env_args.grid_size": 6}`` -> ``{"env_args": {"grid_size": 6}}``."""
    nested: dict = {}
    for dotted, value in flat.items():
        target = nested
        *outer, last = dotted.split(".")
        for part in outer:
            target = target.setdefault(part, {})
        target[last] = value
    return nested


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its index, folder (``local_results_path``) and ``main.py`` overrides."""

    index: int
    config: str
    env_config: str
    folder: str
    overrides: dict = field(hash=False)

    @property
    def log(self) -> str:
        return os.path.join(self.folder, LOG)

    def command(self) -> list[str]:
        """The ``main.py`` command line of this run."""
        assignments = [f"{k}={format_value(v)}" for k, v in self.overrides.items()]
        return [sys.executable, MAIN, f"--config={self.config}", f"--env-config={self.env_config}", "with",
                *assignments, f"local_results_path={self.folder}"]

    def manifest(self) -> dict:
        return {"config": self.config, "env_config": self.env_config, "overrides": self.overrides}


@dataclass
class Sweep:
    """A grid of overrides (keys in order, the last varying fastest) × seeds, plus fixed overrides."""

    config: str
    env_config: str
    grid: dict[str, list]
    seeds: list[int]
    fixed: dict[str, Any]
    results: str

    def runs(self) -> list[RunSpec]:
        """Every run, validated against the config files (unknown keys, wrong types)."""
        if not self.seeds:
            raise ConfigError("--seeds: give at least one seed")
        clash = sorted(set(self.grid) & set(self.fixed))
        if clash:
            raise ConfigError(f"--grid and --set both give {', '.join(clash)}; give each key once")
        results = os.path.abspath(self.results)
        specs, folders = [], {}
        for values in itertools.product(*self.grid.values()):
            grid_values = dict(zip(self.grid, values))
            for seed in self.seeds:
                overrides = _fill_seed({**grid_values, **self.fixed}, seed)
                overrides["seed"] = seed
                load_config(self.config, self.env_config, _nested(overrides))
                name = folder_name(grid_values, seed)
                if name in folders:
                    raise ConfigError(f"--grid: runs {folders[name]} and {overrides} would share the folder "
                                      f"{name}; make the grid values differ in their text")
                folders[name] = overrides
                specs.append(RunSpec(len(specs), self.config, self.env_config, os.path.join(results, name),
                                     overrides))
        return specs

    def to_argv(self) -> list[str]:
        """Arguments of ``python -m scripts.sweep`` that define this sweep (without backend options)."""
        argv = ["--config", self.config, "--env-config", self.env_config,
                "--results", os.path.abspath(self.results), "--seeds", *map(str, self.seeds)]
        if self.grid:
            argv += ["--grid", *(f"{k}={format_value(v)}" for k, v in self.grid.items())]
        if self.fixed:
            argv += ["--set", *(f"{k}={format_value(v)}" for k, v in self.fixed.items())]
        return argv


# ---------------------------------------------------------------------- one run
def sacred_statuses(folder: str) -> list[str]:
    """Statuses of the Sacred runs recorded under ``folder`` (oldest first)."""
    statuses = []
    paths = glob.glob(os.path.join(folder, "sacred", "[0-9]*", "run.json"))
    for path in sorted(paths, key=lambda p: int(os.path.basename(os.path.dirname(p)))):
        try:
            with open(path) as f:
                statuses.append(json.load(f).get("status", "UNKNOWN"))
        except (OSError, json.JSONDecodeError):
            statuses.append("UNREADABLE")
    return statuses


def is_completed(folder: str) -> bool:
    """Whether ``folder`` holds a Sacred run with status COMPLETED."""
    return "COMPLETED" in sacred_statuses(folder)


@dataclass
class RunResult:
    """What happened to one run: ``completed``, ``skipped`` (was complete) or ``failed``."""

    index: int
    folder: str
    outcome: str
    seconds: float = 0.0
    message: str = ""


_CHILDREN: set[subprocess.Popen] = set()     # runs in progress in this process
_CHILDREN_LOCK = threading.Lock()


def interrupt_children() -> None:
    """Send SIGINT to the runs this process has in progress: each ends as INTERRUPTED, metrics kept."""
    with _CHILDREN_LOCK:
        for proc in _CHILDREN:
            proc.send_signal(signal.SIGINT)


def execute(spec: RunSpec) -> RunResult:
    """Run ``spec`` as a subprocess with one thread per library, unless its folder already holds
    a COMPLETED run; a folder started with other overrides is a failure, never reused."""
    manifest_path = os.path.join(spec.folder, MANIFEST)
    if os.path.isfile(manifest_path):
        with open(manifest_path) as f:
            recorded = json.load(f)
        if recorded != json.loads(json.dumps(spec.manifest())):
            return RunResult(spec.index, spec.folder, "failed",
                             message=f"{manifest_path} records other settings {recorded}; use another --results")
        if is_completed(spec.folder):
            return RunResult(spec.index, spec.folder, "skipped")
    os.makedirs(spec.folder, exist_ok=True)
    with open(manifest_path, "w") as f:
        json.dump(spec.manifest(), f, indent=1)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.time()
    with open(spec.log, "w") as log:
        log.write(shlex.join(spec.command()) + "\n")
        log.flush()
        # Own session: a Ctrl-C in the terminal reaches the sweep only, which interrupts each run once.
        proc = subprocess.Popen(spec.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        with _CHILDREN_LOCK:
            _CHILDREN.add(proc)
        try:
            code = proc.wait()
        except BaseException:           # interrupted (e.g. a cancelled Ray task): stop the run as INTERRUPTED
            proc.send_signal(signal.SIGINT)
            proc.wait()
            raise
        finally:
            with _CHILDREN_LOCK:
                _CHILDREN.discard(proc)
    seconds = time.time() - start
    if code == 0 and is_completed(spec.folder):
        return RunResult(spec.index, spec.folder, "completed", seconds)
    return RunResult(spec.index, spec.folder, "failed", seconds, f"exit code {code}, log: {spec.log}")


# ---------------------------------------------------------------------- progress
def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """Prints one progress line per finished run: bar, done/total, failures, elapsed and ETA."""

    def __init__(self, total: int, out=sys.stdout) -> None:
        self.total, self.out = total, out
        self.results: list[RunResult] = []
        self.start = time.time()

    def update(self, result: RunResult) -> None:
        self.results.append(result)
        done = len(self.results)
        counts = {o: sum(r.outcome == o for r in self.results) for o in ("completed", "skipped", "failed")}
        executed = counts["completed"] + counts["failed"]
        elapsed = time.time() - self.start
        eta = _duration(elapsed / executed * (self.total - done)) if executed else "-"
        bar = "#" * (20 * done // self.total) + "-" * (20 - 20 * done // self.total)
        what = os.path.basename(result.folder) + f" {result.outcome}"
        if result.message:
            what += f" ({result.message})"
        print(f"[{bar}] {done}/{self.total} | ok {counts['completed']} skipped {counts['skipped']} "
              f"failed {counts['failed']} | {_duration(elapsed)} elapsed, ETA {eta} | {what}",
              file=self.out, flush=True)

    def summary(self) -> int:
        """Print the failed runs with their logs; return the exit code (1 if any failed)."""
        failed = [r for r in self.results if r.outcome == "failed"]
        for r in failed:
            print(f"FAILED {r.folder}: {r.message}", file=self.out)
        print(f"sweep: {len(self.results) - len(failed)}/{self.total} runs complete, {len(failed)} failed",
              file=self.out, flush=True)
        return 1 if failed else 0


# ---------------------------------------------------------------------- backends
@dataclass
class BackendOptions:
    """Options shared by the backends."""

    workers: int = 1
    ray_address: str = ""
    slurm_args: list[str] = field(default_factory=list)


def run_local(sweep: Sweep, runs: list[RunSpec], options: BackendOptions) -> int:
    """A pool of ``workers`` concurrent subprocesses on this machine. On Ctrl-C (or SIGTERM, see
    python -m scripts.sweep) runs not started are dropped and running ones are interrupted."""
    progress = Progress(len(runs))
    pool = ThreadPoolExecutor(max_workers=options.workers)
    try:
        for future in as_completed([pool.submit(execute, spec) for spec in runs]):
            progress.update(future.result())
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        interrupt_children()
        pool.shutdown(wait=True)
        print(f"sweep: interrupted after {len(progress.results)}/{len(runs)} runs; run it again to resume",
              file=sys.stderr)
        return 130
    pool.shutdown()
    return progress.summary()


def run_ray(sweep: Sweep, runs: list[RunSpec], options: BackendOptions) -> int:
    """The same ``execute`` as Ray tasks (one CPU each): a local Ray with ``workers`` CPUs, or the
    cluster at ``ray_address`` (e.g. ``auto``), whose nodes must see this repo and the results path."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install -e '.[cluster]'") from None
    src = os.path.join(REPO, "src")
    runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}}
    if options.ray_address:
        ray.init(address=options.ray_address, runtime_env=runtime_env)
    else:
        ray.init(num_cpus=options.workers, runtime_env=runtime_env, include_dashboard=False)
    task = ray.remote(num_cpus=1)(execute)
    pending = [task.remote(spec) for spec in runs]
    progress = Progress(len(runs))
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            progress.update(ray.get(done[0]))
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)             # a running task's execute stops its run as INTERRUPTED
        ray.wait(pending, num_returns=len(pending), timeout=60)
        print(f"sweep: interrupted after {len(progress.results)}/{len(runs)} runs; run it again to resume",
              file=sys.stderr)
        return 130
    finally:
        ray.shutdown()
    return progress.summary()


def slurm_script(sweep: Sweep, n_runs: int, options: BackendOptions) -> str:
    """An sbatch job array script: array index i runs run i of the sweep."""
    results = os.path.abspath(sweep.results)
    lines = ["#!/bin/bash", f"#SBATCH --job-name=sweep-{os.path.basename(results)}",
             f"#SBATCH --array=0-{n_runs - 1}", "#SBATCH --cpus-per-task=1",
             f"#SBATCH --output={os.path.join(results, 'slurm', '%A_%a.out')}",
             *(f"#SBATCH {a}" for a in options.slurm_args),
             "export OMP_NUM_THREADS=1", f"export PYTHONPATH={shlex.quote(REPO)}",
             f"cd {shlex.quote(os.getcwd())}",
             shlex.join([sys.executable, "-m", SWEEP_MODULE, *sweep.to_argv(), "--index"]) + " $SLURM_ARRAY_TASK_ID"]
    return "\n".join(lines) + "\n"


def run_slurm(sweep: Sweep, runs: list[RunSpec], options: BackendOptions) -> int:
    """Write ``<results>/slurm/commands.txt`` (line i = run i) and ``sweep.sbatch``; print both."""
    directory = os.path.join(os.path.abspath(sweep.results), "slurm")
    os.makedirs(directory, exist_ok=True)
    commands = [shlex.join(spec.command()) for spec in runs]
    with open(os.path.join(directory, "commands.txt"), "w") as f:
        f.write("\n".join(commands) + "\n")
    script = os.path.join(directory, "sweep.sbatch")
    with open(script, "w") as f:
        f.write(slurm_script(sweep, len(runs), options))
    for index, command in enumerate(commands):
        print(f"{index}: {command}")
    print(f"wrote {len(runs)} commands to {directory}/commands.txt; submit with: sbatch {script}")
    return 0


BACKENDS: dict[str, Callable[[Sweep, list[RunSpec], BackendOptions], int]] = {
    "local": run_local,
    "ray": run_ray,
    "slurm": run_slurm,
}


def run_index(runs: list[RunSpec], index: int) -> int:
    """Run only run ``index`` (a SLURM array task); exit code 1 if it failed."""
    if not 0 <= index < len(runs):
        raise ConfigError(f"--index {index}: the sweep has runs 0..{len(runs) - 1}")
    progress = Progress(1)
    progress.update(execute(runs[index]))
    return progress.summary()
