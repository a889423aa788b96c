"""Training throughput: env steps/s of rollout + update (one JSON line per setting), with the
seconds per iteration of the rollout and of each learner's update.

    python -m benchmarks.bench_train [--iterations 10] [--threads 2] [--algs ppo] [--envs stag_hunt_small stag_hunt]
    python -m benchmarks.bench_train --algs ppo hop_plus --envs stag_hunt_small --repeats 5   # medians, ratio
    python -m benchmarks.bench_train --algs hop_plus hop_plus_wm --envs stag_hunt_small \
        --trained hop_plus=results/models/<run> hop_plus_wm=results/models/<run>             # trained, not fresh

An entry of ``--algs`` may carry overrides of its own, ``ALG+KEY=V[,KEY=V]``, to compare settings
of one alg interleaved (e.g. ``hop_plus_wm hop_plus_wm+wm_spatial_channels=16``).

``--trained ALG=DIR`` starts that entry of ``--algs`` (overrides included) from the latest checkpoint under ``DIR`` (a run's model
folder) instead of fresh networks: what an iteration costs later in a run, where a planner whose
co-player model has become decisive may step fewer branches (``wm_coplayer_expectation: top_mass``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from experiment import Experiment
from launch import load_config, prepare_args
from utils.logging import Logger, get_logger


def trained_dirs(items: list[str], algs: list[str]) -> dict[str, str] | None:
    """``--trained`` items ``ALG=DIR`` -> {ALG: DIR}; ALG is an entry of ``algs``, overrides included
    (``hop_plus_wm+wm_spatial_fusion=late=DIR``); None if an item names no entry or one is named twice."""
    trained: dict[str, str] = {}
    for item in items:
        alg = next((a for a in sorted(algs, key=len, reverse=True) if item.startswith(a + "=")), None)
        if alg is None or alg in trained:
            return None
        trained[alg] = item[len(alg) + 1:]
    return trained


def measure(alg: str, env: str, batch_size: int, iterations: int, overrides: dict, trained: str | None = None) -> dict:
    config = {"batch_size_run": batch_size, "buffer_size": batch_size, "batch_size": batch_size, **overrides}
    args = prepare_args(load_config(alg, env, config))
    exp = Experiment(args, Logger(get_logger()))
    if trained is not None:
        exp.restore(trained)
    checkpoint_t_env = exp.runner.t_env if trained is not None else None
    exp.train_step()                                      # warm-up (allocations, first Adam step)
    rollout = 0.0
    per_learner = {learner.name: 0.0 for learner in exp.learners}
    start_steps = exp.runner.t_env
    for _ in range(iterations):
        t0 = time.perf_counter()
        batch, _ = exp.runner.run()
        exp.buffer.insert_episode_batch(batch)
        rollout += time.perf_counter() - t0
        for learner in exp.learners:
            t1 = time.perf_counter()
            learner.train(exp.buffer, exp.runner.t_env, 0)
            per_learner[learner.name] += time.perf_counter() - t1
    update = sum(per_learner.values())
    steps = exp.runner.t_env - start_steps
    return {"bench": "train", "alg": alg, "env": env, "batch_size_run": batch_size, "threads": torch.get_num_threads(),
            "iterations": iterations, "env_steps": steps, "env_steps_per_s": round(steps / (rollout + update), 1),
            "rollout_env_steps_per_s": round(steps / rollout, 1), "update_s_per_iteration": round(update / iterations, 4),
            "rollout_s_per_iteration": round(rollout / iterations, 4),
            "update_s_per_learner": {name: round(t / iterations, 4) for name, t in per_learner.items()},
            "overrides": overrides, "trained": trained, "checkpoint_t_env": checkpoint_t_env}


def variant(entry: str) -> tuple[str, dict]:
    """``ALG+KEY=V,KEY=V`` -> (ALG, {KEY: yaml value}); a plain ``ALG`` has no overrides of its own."""
    from utils.config import parse_yaml
    alg, _, extra = entry.partition("+")
    pairs = [item.split("=", 1) for item in extra.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"bench_train: --algs entry '{entry}': overrides must be KEY=V separated by commas")
    return alg, {key: parse_yaml(value) for key, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--algs", nargs="+", default=["ppo"], help="alg configs, each optionally ALG+KEY=V[,KEY=V]")
    parser.add_argument("--envs", nargs="+", default=["stag_hunt_small", "stag_hunt"])
    parser.add_argument("--set", nargs="*", default=[], help="extra overrides key=value (yaml values)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="measure every (alg, env) this many times, the algs interleaved, then print the "
                             "medians and each alg's median ratio to the first alg (for a machine whose speed drifts)")
    parser.add_argument("--trained", nargs="*", default=[], metavar="ALG=DIR",
                        help="start ALG from the latest checkpoint under DIR (a run's model folder)")
    opts = parser.parse_args()
    trained = trained_dirs(opts.trained, opts.algs)
    if trained is None:
        parser.error(f"--trained: give ALG=DIR for algs among --algs {opts.algs} (got {opts.trained})")
    torch.set_num_threads(opts.threads)
    from utils.config import parse_yaml
    overrides = {k: parse_yaml(v) for k, v in (s.split("=", 1) for s in opts.set)}
    figures: dict[tuple[str, str], list[float]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    for _ in range(opts.repeats):
        for env in opts.envs:
            for alg in opts.algs:
                name, own = variant(alg)
                result = measure(name, env, opts.batch_size, opts.iterations, {**overrides, **own}, trained.get(alg))
                result["alg"] = alg
                print(json.dumps(result), flush=True)
                figures.setdefault((alg, env), []).append(result["env_steps_per_s"])
                first = figures[(opts.algs[0], env)][-1]
                ratios.setdefault((alg, env), []).append(result["env_steps_per_s"] / first)
    if opts.repeats > 1:
        for (alg, env), values in figures.items():
            print(json.dumps({"bench": "train_median", "alg": alg, "env": env, "repeats": opts.repeats,
                              "env_steps_per_s": round(statistics.median(values), 1),
                              f"ratio_to_{opts.algs[0]}": round(statistics.median(ratios[(alg, env)]), 3),
                              "ratios": [round(r, 3) for r in ratios[(alg, env)]]}), flush=True)


if __name__ == "__main__":
    main()
