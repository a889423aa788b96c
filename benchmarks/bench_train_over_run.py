"""One training iteration's cost along a run: ``bench_train`` of two algs started from their runs'
checkpoints at the same env steps (0 = fresh networks), interleaved, one JSON line per step with
the median of each alg's env steps/s and the ratio; then the whole run's figure, the summed time
per env step of one alg over the other's (steps equally spaced: what a run of the same length
costs on the iterations of these checkpoints).

    python -m benchmarks.bench_train_over_run --base hop_plus=results/sweeps/hop_plus_sp200k_ckpt10k/seed1/models/<run> \
        --other hop_plus_wm=results/sweeps/hop_plus_wm_sp200k_ckpt10k/seed1/models/<run> \
        --steps 0 10000 20000 40000 100000 200000 --repeats 3 --plot docs/figures/bench_train_over_run.png

Each checkpoint is the one closest to the step in its folder (``load_step``); the batch settings
are ``bench_train``'s (``--batch-size`` envs, buffer and training batch).
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch

from benchmarks.bench_train import measure


def alg_and_folder(item: str, flag: str) -> tuple[str, str]:
    """``ALG=DIR`` -> (ALG, DIR)."""
    alg, sep, folder = item.partition("=")
    if not sep or not alg or not folder:
        raise SystemExit(f"bench_train_over_run: {flag} must be ALG=DIR (a run's model folder), got '{item}'")
    return alg, folder


def seconds_per_step_ratio(base: list[float], other: list[float]) -> float:
    """Summed seconds per env step of ``other`` over ``base`` (each a list of env steps/s per checkpoint)."""
    return sum(1 / v for v in other) / sum(1 / v for v in base)


def plot(rows: list[dict], base: str, other: str, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [row["step"] for row in rows]
    ax.plot(steps, [row["slower_by"] for row in rows], marker="o", label=f"{other} / {base}")
    ax.axhline(2.0, color="grey", linestyle="--", label="2x")
    ax.set_xlabel("checkpoint (env steps of training)")
    ax.set_ylabel(f"seconds per env step, x {base}'s")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, metavar="ALG=DIR")
    parser.add_argument("--other", required=True, metavar="ALG=DIR")
    parser.add_argument("--steps", nargs="+", type=int, required=True, help="checkpoint env steps; 0 = fresh networks")
    parser.add_argument("--env", default="stag_hunt_small")
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", default="", help="write the ratio per checkpoint to this png")
    opts = parser.parse_args()
    if any(step < 0 for step in opts.steps):
        parser.error(f"--steps must be env steps >= 0, got {opts.steps}")
    torch.set_num_threads(opts.threads)
    (base, base_dir), (other, other_dir) = alg_and_folder(opts.base, "--base"), alg_and_folder(opts.other, "--other")
    rows = []
    for step in opts.steps:
        speeds: dict[str, list[float]] = {base: [], other: []}
        checkpoints: dict[str, int | None] = {}
        for _ in range(opts.repeats):
            for alg, folder in ((base, base_dir), (other, other_dir)):
                trained = None if step == 0 else folder
                result = measure(alg, opts.env, opts.batch_size, opts.iterations, {"load_step": step}, trained)
                speeds[alg].append(result["env_steps_per_s"])
                checkpoints[alg] = result["checkpoint_t_env"]
        row = {"bench": "train_over_run", "step": step, "env": opts.env, "repeats": opts.repeats,
               f"{base}_env_steps_per_s": round(statistics.median(speeds[base]), 1),
               f"{other}_env_steps_per_s": round(statistics.median(speeds[other]), 1),
               "slower_by": round(statistics.median(b / o for b, o in zip(speeds[base], speeds[other])), 2),
               "checkpoint_t_env": checkpoints}
        rows.append(row)
        print(json.dumps(row), flush=True)
    whole = seconds_per_step_ratio([r[f"{base}_env_steps_per_s"] for r in rows],
                                   [r[f"{other}_env_steps_per_s"] for r in rows])
    print(json.dumps({"bench": "train_over_run_summary", "env": opts.env, "steps": opts.steps,
                      "slower_by_summed_over_steps": round(whole, 2)}), flush=True)
    if opts.plot:
        plot(rows, base, other, opts.plot)


if __name__ == "__main__":
    main()
