"""Evaluate a world model on held-out episodes against rule-based co-players; one JSON line per co-player.

    python -m scripts.eval_world_model results/models/<token> --config hop_plus_wm --coplayers NS NH RAND
    python -m scripts.eval_world_model "" --config hop_plus_mbrl --episodes 64 --k 5   # untrained baseline

The checkpoint (a run's model dir, latest step unless --load-step) must come from a run of the same
--config / --env-config. For each co-player kind X the roles are [<learned>, X, X, X]; --episodes
test-mode episodes (the test seed stream, never trained on) are played by the loaded agent and
the co-players, and the world model is scored on every acting agent's transitions: wrong cells
per grid of the predicted next observation (overall and per channel), per-channel cell accuracy,
exact match of the whole next observation, reward accuracy and MSE, done accuracy and recall,
value MSE, and the k-step open-loop rollout's wrong cells and exact-match rate for k = 1..--k
(``learners.world_model_eval``). To fit a model offline on co-player mixtures and score it the
same way: ``python -m scripts.fit_world_model``.
"""
from __future__ import annotations

import argparse
import json
import sys

from utils.errors import ConfigError


def evaluate(options: argparse.Namespace, coplayer: str) -> dict:
    from learners.world_model_eval import one_step_metrics, rollout_errors
    from modules.world_model.grid_rules import grid_rules
    from experiment import Experiment
    from launch import load_config, prepare_args
    from utils.logging import Logger, get_logger

    config = load_config(options.config, options.env_config, {})
    learned = config["name"]
    overrides = {"roles": [learned] + [coplayer] * (config["env_args"]["n_agents"] - 1), "save_model": False,
                 "batch_size_run": options.episodes, "buffer_size": options.episodes, "seed": options.seed,
                 "load_step": options.load_step}
    args = prepare_args(load_config(options.config, options.env_config, overrides))
    experiment = Experiment(args, Logger(get_logger()))
    if options.checkpoint:
        experiment.restore(options.checkpoint)
    model = experiment.mac.modules().get("world_model")
    if model is None:
        raise ConfigError(f"--config {options.config}: its actor '{args.actor}' owns no world model")
    batch, results = experiment.runner.run(test_mode=True)
    stats = {"coplayers": coplayer, "episodes": options.episodes, "checkpoint": options.checkpoint or None,
             "focal_return_mean": float(results.returns[:, 0].mean())}
    stats.update(one_step_metrics(model, batch, args.gamma, grid_rules(args).channel_names))
    stats.update(rollout_errors(model, batch, options.k))
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="model dir of a training run ('' = untrained model)")
    parser.add_argument("--config", default="hop_plus_wm", help="alg config of that run (hop_plus_wm, hop_plus_mbrl)")
    parser.add_argument("--env-config", default="stag_hunt_small")
    parser.add_argument("--coplayers", nargs="+", default=["NS", "NH", "RAND"])
    parser.add_argument("--episodes", type=int, default=32, help="held-out episodes per co-player kind")
    parser.add_argument("--k", type=int, default=5, help="longest open-loop rollout scored")
    parser.add_argument("--load-step", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    try:
        for coplayer in options.coplayers:
            print(json.dumps(evaluate(options, coplayer)), flush=True)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
