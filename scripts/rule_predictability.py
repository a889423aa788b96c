"""Best possible top-1 accuracy of predicting a rule-based co-player's next action.

A rule-based policy chooses uniformly among the actions its rule allows (e.g. NH: every move on a
shortest path to the nearest hare), so even a predictor that knows the rule and the state is right
with probability 1/|allowed| at each step. This script plays episodes with the given roles and
prints, per rule-based role, the mean of 1/|allowed| over its alive steps: the ceiling for MOA's
``moa_top1_<role>`` on that co-player.

    python -m scripts.rule_predictability [--env-config stag_hunt_small] [--roles NS NH RAND RAND] [--episodes 512]
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from envs import REGISTRY as ENVS
from envs import rule_based
from launch import load_config


def ceilings(env_config: str, roles: list[str], episodes: int, batch_size: int = 64, seed: int = 0) -> dict:
    """``{role: mean 1/|allowed| over its alive steps}`` for the rule-based roles of ``roles``."""
    config = load_config("ppo", env_config, {})
    env = ENVS[config["env"]](batch_size=batch_size, **{**config["env_args"], "seed": seed})
    policies = {role: rule_based.make(config["env"], role) for role in set(roles)}
    slots = {role: np.array([i for i, r in enumerate(roles) if r == role]) for role in policies}
    sums = {role: 0.0 for role in policies}
    counts = {role: 0 for role in policies}
    for start in range(0, episodes, batch_size):
        env.reset(seed * 1_000_003 + start + np.arange(batch_size))
        core = env.core
        while not core.done.all():
            actions = np.zeros((batch_size, len(roles)), dtype=np.int64)
            alive = core.alive & ~core.done[:, None]
            avail = core.avail_actions()
            for role, policy in policies.items():
                allowed = policy._allowed(core, slots[role], avail[:, slots[role]])
                n_allowed = allowed.sum(-1)
                live = alive[:, slots[role]]
                sums[role] += float((1.0 / np.maximum(n_allowed, 1))[live].sum())
                counts[role] += int(live.sum())
                actions[:, slots[role]] = policy.act(env, slots[role])
            env.step(actions)
    return {role: sums[role] / max(1, counts[role]) for role in policies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-config", default="stag_hunt_small")
    parser.add_argument("--roles", nargs="+", default=["NS", "NH", "RAND", "RAND"])
    parser.add_argument("--episodes", type=int, default=512)
    opts = parser.parse_args()
    result = ceilings(opts.env_config, opts.roles, opts.episodes)
    print(json.dumps({"env_config": opts.env_config, "roles": opts.roles, "top1_ceiling": result}))


if __name__ == "__main__":
    main()
