"""Do two runs log exactly the same numbers? Compares every metric value by value at equal env
steps, over the steps both runs cover (e.g. a short re-run of a recorded sweep run after a code
change that must not alter results, or a resumed run against its uninterrupted twin). A series or
a step inside that range that only one run logged is reported and makes the runs NOT identical.
A run resumed in place (a folder whose Sacred runs share one run token, e.g. a sweep run continued
after an interruption) is compared as one run, the later record counting at the steps it logged
again. A run whose heartbeat stopped without a final status is shown as DEAD. Exit status 0 when
identical, 1 when not, 2 on bad arguments.

    python -m scripts.compare_runs results/sweeps/i6_hop_plus/roles=hop_plus-NSx3__seed0/sacred/1 /tmp/rerun/sacred/1
    python -m scripts.compare_runs RUN_A RUN_B --until 40000
"""
from __future__ import annotations

import argparse
import os
import sys

from utils.errors import ConfigError
from tools.results_table import find_runs
from utils.run_diff import diff_metrics, merge_metrics


def _one_run(root: str) -> tuple[str, dict]:
    """(description, metrics) of the run in ``root``: one Sacred run, or the Sacred runs of one run
    resumed in place (same run token, e.g. a sweep run continued after an interruption), merged."""
    runs = find_runs([root])
    tokens = {r.config.get("unique_token") for r in runs}
    if len(runs) == 1:
        return f"{runs[0].path} ({runs[0].status})", runs[0].metrics
    if len(runs) > 1 and len(tokens) == 1 and None not in tokens:
        runs.sort(key=lambda r: int(os.path.basename(r.path)) if os.path.basename(r.path).isdigit() else 0)
        parts = ", ".join(f"{os.path.basename(r.path)} {r.status}" for r in runs)
        return f"{root} (one run resumed in place: sacred {parts})", merge_metrics([r.metrics for r in runs])
    raise ConfigError(f"{root} holds {len(runs)} Sacred runs of {len(tokens)} run tokens; give the folder of one run")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_a", help="a Sacred run folder (or a folder holding exactly one)")
    p.add_argument("run_b")
    p.add_argument("--until", type=int, default=None, help="compare only values logged at env steps <= this")
    opts = p.parse_args(argv)
    try:
        if opts.until is not None and opts.until < 0:
            raise ConfigError(f"--until must be >= 0, got {opts.until}")
        (name_a, metrics_a), (name_b, metrics_b) = _one_run(opts.run_a), _one_run(opts.run_b)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    diff = diff_metrics(metrics_a, metrics_b, opts.until)
    print(f"A = {name_a}, B = {name_b}")
    window = f"env steps {diff.window[0]}..{diff.window[1]}" if diff.window else "no env steps in common"
    print(f"{diff.series} metric series, {diff.values} values compared at equal steps over {window}")
    for name, (step, value_a, value_b) in diff.differing.items():
        print(f"  differs: {name} at step {step}: {value_a!r} vs {value_b!r}")
    for name, (run, steps) in diff.missing_steps.items():
        shown = ", ".join(map(str, steps[:5])) + (f", ... ({len(steps)} steps)" if len(steps) > 5 else "")
        print(f"  missing steps: {name}: run {run} lacks step(s) {shown}")
    for run in ("A", "B"):
        lacking = [name for name, has in diff.only_in_one.items() if has != run]
        if lacking:
            print(f"  missing series: run {run} lacks {len(lacking)} of "
                  f"{diff.series + len(diff.only_in_one)} series: {', '.join(lacking)}")
    print("identical" if diff.identical else "NOT identical")
    return 0 if diff.identical else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
