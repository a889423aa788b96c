"""``run_mode: train`` — train for ``t_max`` env steps, or only test a checkpoint with ``evaluate=True``."""
from __future__ import annotations

import os

from munch import Munch

from experiment import Experiment
from runners.replay import save_replays
from utils.logging import Logger


def train_or_evaluate(_run, args: Munch, logger: Logger) -> None:
    """The default mode: train for ``t_max`` env steps, or only test with ``evaluate=True``."""
    experiment = Experiment(args, logger)
    if args.checkpoint_path:
        experiment.restore(args.checkpoint_path)
    if args.evaluate:
        stats = experiment.test()
        logger.print_recent_stats(experiment.runner.t_env, experiment.episode, args.t_max)
        _run.info["test"] = {k: float(v) for k, v in stats.items()}
        if args.save_replay:
            directory = os.path.join(args.local_results_path, "replays", args.unique_token)
            written = save_replays(experiment.runner, directory, args.replay_episodes,
                                   [r.name for r in experiment.mac.roles])
            logger.console.info(f"wrote {len(written) // 2} replays (GIF + JSON trace) to {directory}")
    else:
        experiment.train()
