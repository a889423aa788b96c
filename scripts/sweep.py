"""Run a grid of config overrides × seeds, each run in its own folder; resumable.

    python -m scripts.sweep --config ppo --env-config stag_hunt_small \\
        --grid 'roles=[[ppo,ppo,ppo,ppo],[ppo,NS,NS,NS]]' --seeds 0 1 2 \\
        --set t_max=300000 --workers 2 --results results/sweeps/ppo_small

Every run is `python src/main.py --config=.. --env-config=.. with k=v .. seed=S
local_results_path=<results>/<grid values>__seed<S>` with one thread per library. Runs whose
folder holds a COMPLETED Sacred run are skipped. `{seed}` in a value is replaced by the run's
seed (e.g. adapt_checkpoint=results/sweeps/sp/seed{seed}). Backends: local (default), ray
(--ray-address auto on a cluster), slurm (writes an sbatch job array; each task runs
`python -m scripts.sweep <same args> --index $SLURM_ARRAY_TASK_ID`).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

from utils.errors import ConfigError
from tools.sweep import BACKENDS, BackendOptions, Sweep, load_grid_file, parse_assignment, parse_grid_item, run_index


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="ppo", help="algorithm yaml in config/algs/")
    p.add_argument("--env-config", default="stag_hunt_small", help="env yaml in config/envs/")
    p.add_argument("--grid", nargs="+", default=[], metavar="KEY=[V1,V2]", help="values to sweep, one key each")
    p.add_argument("--grid-file", default=None, help="yaml file mapping keys to lists of values (added to --grid)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds of every grid point")
    p.add_argument("--set", nargs="+", default=[], metavar="KEY=V", help="overrides shared by all runs")
    p.add_argument("--results", required=True, help="folder of the sweep; one subfolder per run")
    p.add_argument("--backend", choices=sorted(BACKENDS), default="local")
    p.add_argument("--workers", type=int, default=1, help="concurrent runs (local, and Ray's CPUs when local)")
    p.add_argument("--ray-address", default="", help="Ray cluster to join (e.g. auto); default: start Ray here")
    p.add_argument("--slurm-arg", action="append", default=[], metavar="OPT",
                   help="an extra #SBATCH line (repeatable), e.g. --slurm-arg=--time=04:00:00 --slurm-arg=--mem=4G")
    p.add_argument("--index", type=int, default=None, help="run only this run (a SLURM array task)")
    return p


def _terminate(signum: int, frame) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, _terminate)      # also when started in the background
    signal.signal(signal.SIGTERM, _terminate)     # e.g. a scheduler ending the job: interrupt runs cleanly
    opts = parser().parse_args(argv)
    try:
        if opts.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {opts.workers}")
        grid = dict(parse_grid_item(item) for item in opts.grid)
        if opts.grid_file:
            from_file = load_grid_file(opts.grid_file)
            if set(from_file) & set(grid):
                raise ConfigError(f"--grid-file and --grid both give {', '.join(sorted(set(from_file) & set(grid)))}")
            grid.update(from_file)
        fixed = dict(parse_assignment(item, "--set") for item in opts.set)
        sweep = Sweep(opts.config, opts.env_config, grid, opts.seeds, fixed, opts.results)
        runs = sweep.runs()
        if opts.index is not None:
            return run_index(runs, opts.index)
        options = BackendOptions(opts.workers, opts.ray_address, opts.slurm_arg)
        print(f"sweep: {len(runs)} runs ({len(runs) // len(opts.seeds)} grid points x {len(opts.seeds)} seeds) "
              f"in {os.path.abspath(opts.results)}, backend {opts.backend}", flush=True)
        return BACKENDS[opts.backend](sweep, runs, options)
    except ConfigError as e:
        print(f"sweep: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
