"""What a rule earns in the focal slot next to rule co-players: the reference for a learned agent.

Plays ``--maps`` random maps of ``--env`` (``stag_hunt_small``, or ``snowdrift_small`` with its
rules ND, FIX, RAND) with each rule of ``--rules`` in slot 0 and the co-player group in slots 1-3,
and prints one markdown row per group: the focal rule's mean
return (undiscounted, and discounted with each ``--discount``, the objective a planner with that
``mcts_discount`` maximises). Slot order does not matter for rules on random maps, so a mixed group
stands for the same group with shuffled slots.

    python -m scripts.rule_baselines --maps 512 --discount 0.95 0.99
    python -m scripts.rule_baselines --env snowdrift_small --maps 512 --discount 0.95
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from envs.rule_based import play_rules
from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore
from launch import load_config

ENVS = {   # env config (its env_args come from config/envs/<env>.yaml): (core, the rules, co-player groups)
    "stag_hunt_small": (StagHuntCore, ("NS", "NH", "RAND"),
                        {"3 NS": ["NS"] * 3, "3 NH": ["NH"] * 3, "3 RAND": ["RAND"] * 3,
                         "NS + NH + RAND": ["NS", "NH", "RAND"]}),
    "snowdrift_small": (SnowdriftCore, ("ND", "FIX", "RAND"),
                        {"3 ND": ["ND"] * 3, "3 FIX": ["FIX"] * 3, "3 RAND": ["RAND"] * 3,
                         "ND + FIX + RAND": ["ND", "FIX", "RAND"]}),
}


def focal_returns(rule: str, coplayers: list[str], seeds: np.ndarray, discount: float,
                  env: str = "stag_hunt_small") -> np.ndarray:
    """Discounted return of ``rule`` in slot 0 of ``env`` maps ``seeds`` next to ``coplayers``."""
    core_cls = ENVS[env][0]
    env_args = load_config("ppo", env)["env_args"]
    return play_rules(core_cls(len(seeds), **env_args), seeds, [rule, *coplayers], discount)[:, 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="stag_hunt_small", choices=list(ENVS))
    parser.add_argument("--maps", type=int, default=512, help="random maps (seeds 0..maps-1)")
    parser.add_argument("--rules", nargs="+", help="focal rules (default: stag hunt NS NH, snowdrift ND FIX)")
    parser.add_argument("--discount", type=float, nargs="*", default=[0.95, 0.99])
    options = parser.parse_args()
    _, known, groups = ENVS[options.env]
    rules = options.rules or list(known[:2])
    if options.maps < 1 or any(not 0 < d <= 1 for d in options.discount) or not set(rules) <= set(known):
        print(f"rule_baselines: --maps must be >= 1, every --discount in (0, 1] and every rule of --env "
              f"{options.env} one of {', '.join(known)}", file=sys.stderr)
        return 2
    seeds = np.arange(options.maps)
    discounts = [1.0, *options.discount]
    header = " | ".join(f"{rule} (γ = {d:g})" if d < 1 else f"{rule}" for rule in rules for d in discounts)
    print(f"| co-players | {header} |\n|---|{'---|' * (len(rules) * len(discounts))}")
    for name, coplayers in groups.items():
        cells = [f"{focal_returns(rule, coplayers, seeds, d, options.env).mean():.2f}" for rule in rules
                 for d in discounts]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
