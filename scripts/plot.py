"""Plot learning or adaptation curves (mean ± std over seeds) from Sacred runs to a PNG.

    python -m scripts.plot results/sacred/1 results/sacred/2 --key test_return_mean --out docs/curve.png
    python -m scripts.plot results/sweeps/ppo_small --group-by roles --out docs/ppo_small.png
    python -m scripts.plot results/sweeps/adapt_ppo --key adapt_focal_return --smooth 8 --out docs/adapt.png

A path that is not a Sacred run folder is searched for runs (`<path>/**/sacred/<id>/`, COMPLETED
only unless --all-statuses). Runs with the same --group-by config values form one curve.
"""
from __future__ import annotations

import argparse
import sys

from utils.errors import ConfigError
from tools.plotting import LABEL_KEYS, check_out_path, expand_run_dirs, plot_curves
from tools.results_table import parse_where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="Sacred run folders (results/sacred/<id>) or folders holding runs")
    parser.add_argument("--key", default="test_return_mean", help="metric to plot (adapt_* metrics: x = episodes)")
    parser.add_argument("--out", default="curve.png", help="output PNG")
    parser.add_argument("--title", default=None)
    parser.add_argument("--group-by", nargs="+", default=list(LABEL_KEYS), metavar="KEY",
                        help=f"config keys that make a curve (default: {' '.join(LABEL_KEYS)})")
    parser.add_argument("--missing-as", nargs="*", default=[], metavar="KEY=V",
                        help="value of a --group-by key in runs whose config lacks it (recorded before the key existed)")
    parser.add_argument("--smooth", type=int, default=1, metavar="K",
                        help="trailing mean over K logged points per run (e.g. per-episode adaptation returns)")
    parser.add_argument("--where", nargs="*", default=[], metavar="KEY=V",
                        help="only runs with these config values (derived keys too, e.g. 'coplayers=3 NS')")
    parser.add_argument("--all-statuses", action="store_true", help="also plot runs found that are not COMPLETED")
    parser.add_argument("--reference", nargs="*", default=[], metavar="NAME=VALUE",
                        help="dashed horizontal reference lines, e.g. NS=2.55")
    opts = parser.parse_args(argv)
    try:
        if opts.smooth < 1:
            raise ValueError(f"--smooth must be >= 1, got {opts.smooth}")
        for option, values in (("--reference", opts.reference), ("--missing-as", opts.missing_as)):
            bad = [r for r in values if "=" not in r]
            if bad:
                raise ValueError(f"{option}: expected NAME=VALUE, got '{bad[0]}'")
        check_out_path(opts.out)
        references = {name: float(value) for name, value in (r.split("=", 1) for r in opts.reference)}
        run_dirs = expand_run_dirs(opts.runs, None if opts.all_statuses else ("COMPLETED",))
        missing = dict(m.split("=", 1) for m in opts.missing_as)
        groups = plot_curves(run_dirs, opts.key, opts.out, opts.title, references, opts.group_by, opts.smooth,
                             parse_where(opts.where), missing)
    except (ValueError, ConfigError) as e:
        print(f"plot: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"plot: error: cannot write {opts.out}: {e.strerror or e}", file=sys.stderr)
        return 1
    for label, count in groups.items():
        print(f"{label}: {count} run(s)")
    print(f"wrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
