"""Plot learning curves (mean ± std over seeds) from Sacred run folders to a PNG.

    python scripts/plot.py results/sacred/1 results/sacred/2 --key test_return_mean --out docs/curve.png
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from utils.plotting import plot_curves  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="Sacred run folders (results/sacred/<id>)")
    parser.add_argument("--key", default="test_return_mean", help="metric to plot")
    parser.add_argument("--out", default="curve.png", help="output PNG")
    parser.add_argument("--title", default=None)
    parser.add_argument("--reference", nargs="*", default=[], metavar="NAME=VALUE",
                        help="dashed horizontal reference lines, e.g. NS=2.55")
    opts = parser.parse_args()
    try:
        references = {name: float(value) for name, value in (r.split("=", 1) for r in opts.reference)}
        groups = plot_curves(opts.runs, opts.key, opts.out, opts.title, references)
    except ValueError as e:
        print(f"plot: error: {e}", file=sys.stderr)
        return 2
    for label, count in groups.items():
        print(f"{label}: {count} run(s)")
    print(f"wrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
