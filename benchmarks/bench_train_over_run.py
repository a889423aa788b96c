"""One training iteration's cost along a run: ``bench_train`` of two algs started from their runs'
checkpoints at the same env steps (0 = fresh networks), interleaved, one JSON line per step with
the medians of each alg's env steps/s and seconds per iteration and the two ratios (per env step,
``slower_by``, and per iteration: the algs' iterations hold different numbers of env steps once
their episodes shorten); then the whole run's figure: the seconds per
env step of each alg integrated over the run (trapezoids between the checkpoints), one over the
other, i.e. what a run from the first to the last checkpoint costs if each iteration costs what
the nearest checkpoints' iterations cost.

    python -m benchmarks.bench_train_over_run --base hop_plus --other hop_plus_wm \
        --pairs <hop_plus run's model folder>,<hop_plus_wm run's model folder> [more pairs: other seeds] \
        --steps 0 10000 20000 40000 100000 200000 --repeats 3 --plot docs/figures/bench_train_over_run.png

Each checkpoint is the one closest to the step in its folder (``load_step``); the batch settings
are ``bench_train``'s (``--batch-size`` envs, buffer and training batch).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics

import torch

from benchmarks.bench_train import measure


def folder_pair(item: str) -> tuple[str, str]:
    """``BASE_DIR,OTHER_DIR`` -> (BASE_DIR, OTHER_DIR): the model folders of one run of each alg."""
    base, sep, other = item.partition(",")
    if not sep or not base or not other or "," in other:
        raise SystemExit(f"bench_train_over_run: --pairs items must be BASE_DIR,OTHER_DIR (two runs' model folders), "
                         f"got '{item}'")
    return base, other


def run_seconds_ratio(steps: list[int], base: list[float], other: list[float]) -> float:
    """Seconds ``other`` spends on a run over ``steps`` against ``base``'s, from their env steps/s at
    each step: seconds per env step integrated by trapezoids (a single step: the plain ratio)."""
    def run_seconds(speeds: list[float]) -> float:
        per_step = [1 / v for v in speeds]
        if len(steps) == 1:
            return per_step[0]
        return sum((b - a) * (x + y) / 2 for a, b, x, y in zip(steps, steps[1:], per_step, per_step[1:]))
    return run_seconds(other) / run_seconds(base)


def plot(rows: list[dict], base: str, other: str, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for pair in sorted({row["pair"] for row in rows}):
        mine = [row for row in rows if row["pair"] == pair]
        steps = [row["step"] for row in mine]
        line, = ax.plot(steps, [row["slower_by"] for row in mine], marker="o", label=f"--pairs item {pair}: per env step")
        ax.plot(steps, [row["slower_by_per_iteration"] for row in mine], marker="x", linestyle=":",
                color=line.get_color(), label=f"--pairs item {pair}: per iteration")
    ax.axhline(2.0, color="grey", linestyle="--", label="2x")
    ax.set_title(f"one training iteration: {other} against {base}")
    ax.set_xlabel("checkpoint (env steps of training)")
    ax.set_ylabel(f"seconds, x {base}'s")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, metavar="ALG", help="the alg the other is measured against")
    parser.add_argument("--other", required=True, metavar="ALG")
    parser.add_argument("--pairs", nargs="+", required=True, metavar="BASE_DIR,OTHER_DIR",
                        help="model folders of a run of each alg (e.g. one pair per seed)")
    parser.add_argument("--steps", nargs="+", type=int, required=True, help="checkpoint env steps; 0 = fresh networks")
    parser.add_argument("--env", default="stag_hunt_small")
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", default="", help="write the ratio per checkpoint to this png")
    opts = parser.parse_args()
    if any(step < 0 for step in opts.steps) or opts.steps != sorted(set(opts.steps)):
        parser.error(f"--steps must be increasing env steps >= 0, got {opts.steps}")
    pairs = [folder_pair(item) for item in opts.pairs]
    missing = [folder for pair in pairs for folder in pair if not os.path.isdir(folder)]
    if missing:
        parser.error(f"--pairs: not a folder: {', '.join(missing)}")
    torch.set_num_threads(opts.threads)
    base, other = opts.base, opts.other
    rows = []
    for pair, (base_dir, other_dir) in enumerate(pairs):
        rows += measure_pair(pair, base, base_dir, other, other_dir, opts)
    if opts.plot:
        plot(rows, base, other, opts.plot)


def measure_pair(pair: int, base: str, base_dir: str, other: str, other_dir: str, opts: argparse.Namespace) -> list[dict]:
    """One JSON line per checkpoint step of one pair of runs, then the pair's whole-run line."""
    rows = []
    for step in opts.steps:
        speeds: dict[str, list[float]] = {base: [], other: []}
        iteration_s: dict[str, list[float]] = {base: [], other: []}
        checkpoints: dict[str, int | None] = {}
        for _ in range(opts.repeats):
            for alg, folder in ((base, base_dir), (other, other_dir)):
                trained = None if step == 0 else folder
                result = measure(alg, opts.env, opts.batch_size, opts.iterations, {"load_step": step}, trained)
                speeds[alg].append(result["env_steps_per_s"])
                iteration_s[alg].append(result["rollout_s_per_iteration"] + result["update_s_per_iteration"])
                checkpoints[alg] = result["checkpoint_t_env"]
        row = {"bench": "train_over_run", "pair": pair, "step": step, "env": opts.env, "repeats": opts.repeats,
               f"{base}_env_steps_per_s": round(statistics.median(speeds[base]), 1),
               f"{other}_env_steps_per_s": round(statistics.median(speeds[other]), 1),
               f"{base}_s_per_iteration": round(statistics.median(iteration_s[base]), 3),
               f"{other}_s_per_iteration": round(statistics.median(iteration_s[other]), 3),
               "slower_by": round(statistics.median(b / o for b, o in zip(speeds[base], speeds[other])), 2),
               "slower_by_per_iteration": round(statistics.median(
                   o / b for b, o in zip(iteration_s[base], iteration_s[other])), 2),
               "checkpoint_t_env": checkpoints}
        rows.append(row)
        print(json.dumps(row), flush=True)
    whole = run_seconds_ratio(opts.steps, [r[f"{base}_env_steps_per_s"] for r in rows],
                              [r[f"{other}_env_steps_per_s"] for r in rows])
    print(json.dumps({"bench": "train_over_run_summary", "pair": pair, "env": opts.env, "steps": opts.steps,
                      "slower_by_over_the_run": round(whole, 2)}), flush=True)
    return rows


if __name__ == "__main__":
    main()
