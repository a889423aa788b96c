"""Markdown table of a metric (mean ± std over seeds) from Sacred runs, grouped by config keys.

    python -m scripts.table results/sweeps/ppo_small --rows name --cols roles --metric test_return_mean
    python -m scripts.table results/sweeps --rows name env_config --cols roles \\
        --metric 'test_return_role_{name}_mean' --last 3 --out docs/results.md

Runs are found at `<root>/**/sacred/<id>/`; only COMPLETED runs count unless --all-statuses.
`{key}` in --metric is each run's config value (the focal role's metric of every algorithm).
"""
from __future__ import annotations

import argparse
import os
import sys

from utils.errors import ConfigError
from tools.results_table import build_table, find_runs, parse_where, render_markdown, repeated_runs


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("roots", nargs="+", help="folders holding Sacred runs (searched recursively)")
    p.add_argument("--metric", default="test_return_mean", help="metric name; {key} = the run's config value")
    p.add_argument("--rows", nargs="*", default=["name"], help="config keys of the rows (dotted for nested)")
    p.add_argument("--cols", nargs="*", default=["roles"], help="config keys of the columns")
    p.add_argument("--last", type=int, default=1, help="average each run's last k logged values (default 1: final)")
    p.add_argument("--where", nargs="*", default=[], metavar="KEY=V", help="only runs with these config values")
    p.add_argument("--all-statuses", action="store_true", help="also count runs that are not COMPLETED")
    p.add_argument("--digits", type=int, default=2)
    p.add_argument("--out", default=None, help="also write the table to this markdown file")
    opts = p.parse_args(argv)
    try:
        where = parse_where(opts.where)
        runs = find_runs(opts.roots)
        table = build_table(runs, opts.metric, opts.rows, opts.cols, opts.last, where,
                            None if opts.all_statuses else ("COMPLETED",))
        if not table.cells:
            available = sorted(set().union(*(r.metrics for r in runs)))
            raise ConfigError(f"no counted run under {', '.join(opts.roots)} has metric '{opts.metric}' ({len(runs)} "
                              f"runs found, {len(table.skipped)} skipped); metrics there: {', '.join(available)}")
    except ConfigError as e:
        print(f"table: error: {e}", file=sys.stderr)
        return 2
    for reason in table.skipped:
        print(f"table: skipped {reason}", file=sys.stderr)
    for cell in repeated_runs(table):
        print(f"table: warning: cell {cell} holds runs with the same config and seed (recorded twice?)", file=sys.stderr)
    text = render_markdown(table, opts.metric, opts.last, opts.digits)
    print(text, end="")
    if opts.out:
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        with open(opts.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
