"""Env steps and wall time until a run's metric first reaches a threshold, per Sacred run.

    python -m scripts.time_to_return /work/sweeps/hop_sp8k --metric test_return_mean --threshold 11

One markdown row per run (any status: an interrupted run says how far it got): the first logged
step where the metric is >= the threshold and the seconds from the run's start to that log, or
"not reached" with the best value and the last step logged.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

from tools.results_table import find_runs
from utils.errors import ConfigError


def _seconds(start: str, stamp: str) -> float:
    return (datetime.datetime.fromisoformat(stamp) - datetime.datetime.fromisoformat(start)).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="+", help="folders holding Sacred runs")
    parser.add_argument("--metric", default="test_return_mean")
    parser.add_argument("--threshold", type=float, required=True)
    options = parser.parse_args()
    try:
        runs = find_runs(options.roots)
    except ConfigError as error:
        print(f"time_to_return: {error}", file=sys.stderr)
        return 2
    if not runs:
        print(f"time_to_return: no Sacred runs under {', '.join(options.roots)}", file=sys.stderr)
        return 2
    print(f"| run | seed | status | first step with {options.metric} >= {options.threshold:g} | wall seconds to it | "
          f"best value | last step logged |\n|---|---|---|---|---|---|---|")
    for run in runs:
        series = run.metrics.get(options.metric)
        if series is None:
            print(f"| {run.path} | {run.config.get('seed')} | {run.status} | no {options.metric} logged | | | |")
            continue
        with open(os.path.join(run.path, "run.json")) as f:
            start = json.load(f)["start_time"]
        hits = [i for i, v in enumerate(series["values"]) if v >= options.threshold]
        first = (f"{series['steps'][hits[0]]} | {_seconds(start, series['timestamps'][hits[0]]):.0f}" if hits
                 else "not reached | –")
        print(f"| {run.config.get('unique_token', run.path)} | {run.config.get('seed')} | {run.status} | {first} | "
              f"{max(series['values']):.2f} | {series['steps'][-1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
