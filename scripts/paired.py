"""Two methods on the same seeds: mean of each, and the mean paired difference (A - B) ± its
standard error, per co-player group. Runs are paired by co-player group and `seed` (with the same
seed the envs draw the same maps), so the spread of the maps drops out of the difference.

    python -m scripts.paired --a results/sweeps/adapt_hop --b results/sweeps/adapt_direct_om \\
        --metric adapt_focal_return_first20
"""
from __future__ import annotations

import argparse
import sys

from tools.paired import paired_rows
from tools.results_table import find_runs
from utils.errors import ConfigError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", nargs="+", required=True, help="results folders of method A")
    parser.add_argument("--b", nargs="+", required=True, help="results folders of method B")
    parser.add_argument("--metric", required=True, help="metric ({key} = the run's config value)")
    parser.add_argument("--last", type=int, default=1, help="mean of the last N logged values per run")
    options = parser.parse_args()
    try:
        runs_a, runs_b = find_runs(options.a), find_runs(options.b)
        names = {run.config["name"] for run in runs_a}, {run.config["name"] for run in runs_b}
        rows = paired_rows(runs_a, runs_b, options.metric, options.last)
    except ConfigError as error:
        print(f"paired: {error}", file=sys.stderr)
        return 2
    if not rows:
        print("paired: no co-player group and seed that both A and B ran", file=sys.stderr)
        return 2
    a, b = ", ".join(sorted(names[0])), ", ".join(sorted(names[1]))
    print(f"| co-players | seeds | A ({a}) | B ({b}) | A - B (± standard error) | A - B per seed |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        per_seed = ", ".join(f"{d:+.2f}" for d in row.differences)
        print(f"| {row.group} | {len(row.seeds)} | {row.mean_a:.2f} | {row.mean_b:.2f} | "
              f"{row.differences.mean():+.2f} ± {row.standard_error:.2f} | {per_seed} |")
    print(f"\n`{options.metric}`, mean of the last {options.last} logged value(s) per run; runs paired by seed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
