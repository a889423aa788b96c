"""Environment throughput: prints one JSON line per setting.

Batched core rows: env steps/s (one env step = one step of one env that is still running)
of ``StagHuntCore`` / ``SnowdriftCore`` at B = 1, 64, 1024 with default env_args, computing
observations and availability masks every step and resetting when every env is done.
Random available actions come from a precomputed noise pool (argmax of noise x mask) so
that the policy is not what is measured. ``wall`` is elapsed time, ``cpu`` process time
(more stable on a shared machine); each figure is the best of ``--repeats`` runs.

    python -m benchmarks.bench_envs [--repeats 3] [--scale 1.0]
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore

CORES = {"stag_hunt": StagHuntCore, "snowdrift": SnowdriftCore}
BATCH_SIZES = (1, 64, 1024)
NOISE_POOL = 16


def run_core(core_cls: type, batch_size: int, min_env_steps: int) -> tuple[int, float, float]:
    """Steps a core with random available actions; returns (env steps, wall s, cpu s)."""
    core = core_cls(batch_size, seed=0)
    noise = np.random.default_rng(0).random((NOISE_POOL, batch_size, core.n_agents, core.n_actions), dtype=np.float32)
    env_steps, k = 0, 0
    wall, cpu = time.perf_counter(), time.process_time()
    core.reset()
    while env_steps < min_env_steps:
        avail = core.avail_actions()
        core.observations()
        env_steps += int((~core.done).sum())
        core.step((noise[k % NOISE_POOL] * avail).argmax(axis=2))
        k += 1
        if core.done.all():
            core.reset()
    return env_steps, time.perf_counter() - wall, time.process_time() - cpu


def bench_core(env: str, batch_size: int, repeats: int, scale: float) -> dict[str, Any]:
    min_env_steps = int(scale * {1: 3_000, 64: 60_000, 1024: 400_000}[batch_size])
    runs = [run_core(CORES[env], batch_size, min_env_steps) for _ in range(repeats)]
    steps = runs[0][0]
    return {"bench": "env_steps_per_s", "env": env, "impl": "batched_core", "batch_size": batch_size,
            "env_steps_per_s": round(steps / min(r[1] for r in runs)),
            "cpu_env_steps_per_s": round(steps / min(r[2] for r in runs)),
            "env_steps": steps, "repeats": repeats, "includes": "obs+avail+step+reset"}


def bench_pettingzoo(env: str, repeats: int, scale: float) -> dict[str, Any]:
    """PettingZoo ParallelEnv steps/s (one env, random actions from the action masks)."""
    row: dict[str, Any] = {"bench": "env_steps_per_s", "env": env, "impl": "pettingzoo_parallel_env", "batch_size": 1}
    try:
        module = __import__(f"envs.{env}", fromlist=["parallel_env"])
        pz_env = module.parallel_env(seed=0)
    except ImportError as err:
        return {**row, "skipped": f"parallel_env not importable: {err}"}
    rng = np.random.default_rng(0)
    n_steps = int(scale * 3_000)
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        observations, _ = pz_env.reset(seed=0)
        for _ in range(n_steps):
            actions = {agent: int(rng.choice(np.flatnonzero(observations[agent]["action_mask"])))
                       for agent in pz_env.agents}
            observations, *_ = pz_env.step(actions)
            if not pz_env.agents:
                observations, _ = pz_env.reset()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return {**row, "env_steps_per_s": round(n_steps / best_wall), "cpu_env_steps_per_s": round(n_steps / best_cpu),
            "env_steps": n_steps, "repeats": repeats, "includes": "obs dict+masks+step+reset+python policy"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of env steps")
    args = parser.parse_args()
    for env in CORES:
        for batch_size in BATCH_SIZES:
            print(json.dumps(bench_core(env, batch_size, args.repeats, args.scale)), flush=True)
        print(json.dumps(bench_pettingzoo(env, args.repeats, args.scale)), flush=True)


if __name__ == "__main__":
    main()
