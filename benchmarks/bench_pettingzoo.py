"""Throughput of the PettingZoo envs and of the rule-based co-players.

Prints two JSON lines: PettingZoo ``parallel_env`` steps/s (random available actions, one
env, resets included) and rule-based actions/s at B envs (all agent slots, one ``act`` call
per env step, the step itself not timed).

    python benchmarks/bench_pettingzoo.py [--steps 3000] [--batch 1024] [--rollout-steps 20]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from envs import rule_based, snowdrift, stag_hunt  # noqa: E402
from envs.multiagentenv import CoreEnv  # noqa: E402
from envs.snowdrift import SnowdriftCore  # noqa: E402
from envs.stag_hunt import StagHuntCore  # noqa: E402


def pettingzoo_steps_per_s(module, steps: int) -> float:
    env = module.parallel_env(seed=0)
    rng = np.random.default_rng(0)
    obs, _ = env.reset()
    start = time.perf_counter()
    for _ in range(steps):
        if not env.agents:
            obs, _ = env.reset()
        actions = {name: int(rng.choice(np.flatnonzero(obs[name]["action_mask"]))) for name in env.agents}
        obs, *_ = env.step(actions)
    return steps / (time.perf_counter() - start)


def rule_based_actions_per_s(core_cls, env_name: str, role: str, batch: int, rollout_steps: int) -> float:
    env = CoreEnv(core_cls, batch, seed=0)
    env.reset()
    policy = rule_based.make(env_name, role)
    slots = np.arange(env.n_agents)
    elapsed, calls = 0.0, 0
    while calls < rollout_steps:
        if env.done.all():
            env.reset()
        start = time.perf_counter()
        actions = policy.act(env, slots)
        elapsed += time.perf_counter() - start
        calls += 1
        env.step(actions)
    return calls * batch * len(slots) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--rollout-steps", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps({
        "benchmark": "pettingzoo_parallel_env",
        "stag_hunt_steps_per_s": round(pettingzoo_steps_per_s(stag_hunt, args.steps)),
        "snowdrift_steps_per_s": round(pettingzoo_steps_per_s(snowdrift, args.steps)),
    }))
    roles = {"stag_hunt": (StagHuntCore, ("NS", "NH", "RAND")), "snowdrift": (SnowdriftCore, ("ND", "FIX", "RAND"))}
    print(json.dumps({
        "benchmark": "rule_based_actions",
        "batch_size": args.batch,
        **{f"{env_name}_{role}_actions_per_s": round(rule_based_actions_per_s(core_cls, env_name, role, args.batch,
                                                                             args.rollout_steps))
           for env_name, (core_cls, role_names) in roles.items() for role in role_names},
    }))


if __name__ == "__main__":
    main()
