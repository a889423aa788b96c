"""What a rule earns in the focal slot next to rule co-players: the reference for a learned agent.

Plays ``--maps`` random ``stag_hunt_small`` maps with each rule of ``--rules`` in slot 0 and the
co-player group in slots 1-3, and prints one markdown row per group: the focal rule's mean
return (undiscounted, and discounted with each ``--discount``, the objective a planner with that
``mcts_discount`` maximises). Slot order does not matter for rules on random maps, so a mixed group
stands for the same group with shuffled slots.

    python -m scripts.rule_baselines --maps 512 --discount 0.95 0.99
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from envs.rule_based import play_rules
from envs.stag_hunt import StagHuntCore
from planners.search_probe import STAG_HUNT_SMALL

GROUPS = {"3 NS": ["NS"] * 3, "3 NH": ["NH"] * 3, "3 RAND": ["RAND"] * 3, "NS + NH + RAND": ["NS", "NH", "RAND"]}


def focal_returns(rule: str, coplayers: list[str], seeds: np.ndarray, discount: float) -> np.ndarray:
    """Discounted return of ``rule`` in slot 0 of maps ``seeds`` next to ``coplayers``."""
    return play_rules(StagHuntCore(len(seeds), **STAG_HUNT_SMALL), seeds, [rule, *coplayers], discount)[:, 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=int, default=512, help="random maps (seeds 0..maps-1)")
    parser.add_argument("--rules", nargs="+", default=["NS", "NH"], choices=["NS", "NH", "RAND"])
    parser.add_argument("--discount", type=float, nargs="*", default=[0.95, 0.99])
    options = parser.parse_args()
    if options.maps < 1 or any(not 0 < d <= 1 for d in options.discount):
        print("rule_baselines: --maps must be >= 1 and every --discount in (0, 1]", file=sys.stderr)
        return 2
    seeds = np.arange(options.maps)
    discounts = [1.0, *options.discount]
    header = " | ".join(f"{rule} (γ = {d:g})" if d < 1 else f"{rule}" for rule in options.rules for d in discounts)
    print(f"| co-players | {header} |\n|---|{'---|' * (len(options.rules) * len(discounts))}")
    for name, coplayers in GROUPS.items():
        cells = [f"{focal_returns(rule, coplayers, seeds, d).mean():.2f}" for rule in options.rules for d in discounts]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
