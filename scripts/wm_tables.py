"""Markdown tables of world-model fits (``scripts/fit_world_model.py`` outputs).

    python -m scripts.wm_tables results/wm_fit/stag_hunt_small results/wm_fit/stag_hunt results/wm_fit/snowdrift_small
"""
from __future__ import annotations

import argparse
import json
import os


def fmt(value: float) -> str:
    return f"{100 * value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+")
    options = parser.parse_args()
    print("| env | data | agent cells (worst channel) | walls | prey (worst kind) | exact match | reward acc | "
          "reward acc (rewarded rows) | done acc | 5-step open-loop exact match |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for directory in options.dirs:
        with open(os.path.join(directory, "metrics.json")) as f:
            metrics = json.load(f)
        for part in [k for k in metrics if isinstance(metrics[k], dict)]:
            m = metrics[part]
            cells = {k[len("cell_acc_"):]: v for k, v in m.items() if k.startswith("cell_acc_")}
            agents = min(v for k, v in cells.items() if k == "self" or k.startswith("agent"))
            prey = min(v for k, v in cells.items() if k != "walls" and k != "self" and not k.startswith("agent"))
            print(f"| {metrics['env']} | {part} | {fmt(agents)} | {fmt(cells['walls'])} | {fmt(prey)} | "
                  f"{fmt(m['exact_match'])} | {fmt(m['reward_acc'])} | {fmt(m.get('reward_acc_nonzero', float('nan')))} | "
                  f"{fmt(m['done_acc'])} | "
                  f"{fmt(m.get('rollout_exact_match_k5', float('nan')))} |")


if __name__ == "__main__":
    main()
