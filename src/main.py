"""Entry point: ``python src/main.py --config=<alg> --env-config=<env> [with key=value ...]``.

Merges the configuration, validates it, and starts a Sacred-recorded run (docs/design.md: Configuration and runs).
A user mistake prints one line on stderr and exits with code 2; Ctrl-C exits with 130
after Sacred has marked the run INTERRUPTED.
"""
from __future__ import annotations

import signal
import sys

from utils.errors import ConfigError

USAGE = """usage: python src/main.py [--config=<alg>] [--env-config=<env>] [with key=value ...]

  --config       algorithm yaml in config/algs/ (default: ppo)
  --env-config   environment yaml in config/envs/ (default: stag_hunt_small)
  with k=v ...   overrides; nested keys with dots (env_args.grid_size=6), values read as yaml

Every shared key, with its default and meaning, is listed in config/default.yaml; a learner's
or actor's own keys in its class (config_defaults).
Examples:
  python src/main.py with t_max=1000000 'roles=[ppo,NS,NS,NS]'
  python src/main.py --config=hop_plus --env-config=snowdrift_small with seed=3"""


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(argv: list[str]) -> int:
    """Run one experiment from command-line arguments; return the process exit code."""
    # SIGINT (also when started in the background, where shells ignore it) and SIGTERM (cluster
    # schedulers) end the run as an interruption: Sacred marks it INTERRUPTED, metrics kept.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    from launch import load_config, prepare_args, start_sacred_run
    from utils.config import parse_cli
    try:
        alg, env, overrides = parse_cli(argv)
        config = load_config(alg, env, overrides)
        args = prepare_args(config)
    except ConfigError as e:
        print(f"hopplus: error: {e}", file=sys.stderr)
        return 2
    from learners.base import TrainingError
    from utils.checkpoint import CheckpointError
    try:
        start_sacred_run(args)
    except (ConfigError, CheckpointError) as e:
        print(f"hopplus: error: {e}", file=sys.stderr)
        return 2
    except TrainingError as e:
        print(f"hopplus: training stopped: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hopplus: interrupted; the run is recorded as INTERRUPTED with its metrics so far", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
