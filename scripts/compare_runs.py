"""Do two runs log exactly the same numbers? Compares every metric both Sacred runs logged, value
by value, over the steps both reached (e.g. a short re-run of a recorded sweep run after a code
change that must not alter results). Exit status 0 when identical, 1 when not.

    python -m scripts.compare_runs results/sweeps/i6_hop_plus/roles=hop_plus-NSx3__seed0/sacred/1 /tmp/rerun/sacred/1
    python -m scripts.compare_runs RUN_A RUN_B --until 40000
"""
from __future__ import annotations

import argparse
import sys

from utils.errors import ConfigError
from tools.results_table import find_runs
from utils.run_diff import diff_metrics


def _one_run(root: str):
    runs = find_runs([root])
    if len(runs) != 1:
        raise ConfigError(f"{root} holds {len(runs)} Sacred runs; give the folder of exactly one")
    return runs[0]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_a", help="a Sacred run folder (or a folder holding exactly one)")
    p.add_argument("run_b")
    p.add_argument("--until", type=int, default=None, help="compare only values logged at env steps <= this")
    opts = p.parse_args(argv)
    try:
        a, b = _one_run(opts.run_a), _one_run(opts.run_b)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    diff = diff_metrics(a.metrics, b.metrics, opts.until)
    print(f"{diff.series} metric series, {diff.values} values compared")
    for name, (step, value_a, value_b) in diff.differing.items():
        print(f"  differs: {name} at step {step}: {value_a!r} vs {value_b!r}")
    if diff.only_in_one:
        print(f"  logged by one run only: {', '.join(diff.only_in_one)}")
    print("identical" if diff.identical else "NOT identical")
    return 0 if diff.identical else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
