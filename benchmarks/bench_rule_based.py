"""Rule-based co-player throughput: prints one JSON line of actions/s per env and role.

One ``act`` call chooses the actions of every agent slot of every env (default B = 1024,
default env_args, ties from the envs' own RNGs); the env is stepped with them between calls
(untimed) and reset when every env is done. ``cpu`` figures are process time (more stable
on a shared machine); each figure is the best of ``--repeats`` runs. PettingZoo env
steps/s are in ``bench_envs.py``.

    python -m benchmarks.bench_rule_based [--batch 1024] [--calls 30] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from envs import rule_based
from envs.multiagentenv import CoreEnv
from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore

CORES = {"stag_hunt": StagHuntCore, "snowdrift": SnowdriftCore}


def time_policy(env_name: str, role: str, batch: int, calls: int) -> tuple[float, float]:
    """Seconds (wall, cpu) spent in ``calls`` act() calls over a rollout."""
    env = CoreEnv(CORES[env_name], batch, seed=0)
    env.reset()
    policy = rule_based.make(env_name, role)
    slots = np.arange(env.n_agents)
    wall = cpu = 0.0
    for _ in range(calls):
        if env.done.all():
            env.reset()
        w, c = time.perf_counter(), time.process_time()
        actions = policy.act(env, slots)
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
        env.step(actions)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    row = {"bench": "rule_based_actions_per_s", "batch_size": args.batch, "calls": args.calls}
    for env_name, roles in rule_based.REGISTRY.items():
        n_actions = args.batch * CORES[env_name](1).n_agents * args.calls
        for role in roles:
            runs = [time_policy(env_name, role, args.batch, args.calls) for _ in range(args.repeats)]
            row[f"{env_name}/{role}"] = round(n_actions / min(r[0] for r in runs))
            row[f"{env_name}/{role}/cpu"] = round(n_actions / min(r[1] for r in runs))
    print(json.dumps(row))


if __name__ == "__main__":
    main()
