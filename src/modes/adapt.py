"""``run_mode: adapt`` — few-shot adaptation of a trained focal role to unseen co-players (docs/design.md: Adaptation protocol).

The focal role's modules and its learners' modules and optimisers are loaded from a checkpoint of
a (self-play) run; nothing else is (no buffer, no t_env, no RNG or other roles' state). The role
then plays with the co-players of ``roles`` (rule-based or ``ckpt:``) and keeps learning with the
same ``train_step`` as training for ``adapt_episodes`` episodes. The measured episodes are played
in sequence, ``adapt_batch_size_run`` envs per rollout (default 1: one episode at a time), so each
method's between-episode adaptation (inter-OM update, learner updates) happens between them.
Recorded per episode (x = episode index): ``adapt_focal_return``, the focal role's own return
(averaged over its slots, found by role, so ``shuffle_slots`` is fine); at the end
``adapt_focal_return_first<k>`` for every k of ``adapt_report_first`` (mean over the first k
episodes, x = k) and ``adapt_focal_return_mean`` (x = adapt_episodes). The actor's non-module state (HOP's inter-OM
goal counts) is carried over as the actor defines in ``CARRY_ACTOR_STATE``.
"""
from __future__ import annotations

import glob
import json
import os
from typing import Callable

import numpy as np
from munch import Munch

from controllers.policy_networks import CONFIG_FILE
from controllers.role_controller import ROLE_CONFIG_FILE
from experiment import Experiment
from utils.checkpoint import STATE_FILE, CheckpointError, find_checkpoint, load_checkpoint
from utils.errors import ConfigError
from utils.logging import Logger

MATCH_KEYS = ("env", "obs_shape", "n_actions", "n_agents")   # role_config.json entries the run must share


def resolve_checkpoint(path: str, load_step: int = 0, key: str = "adapt_checkpoint") -> str:
    """The step folder of the checkpoint given by ``key``: a step folder itself, a model dir
    (``models/<token>``: the latest step, or the closest to ``load_step``), or a run's
    ``local_results_path`` holding exactly one ``models/<token>``."""
    if not path:
        raise ConfigError(f"{key} is empty: give a checkpoint of the focal role (models/<token>)")
    if not os.path.isdir(path):
        raise ConfigError(f"{key} '{path}' is not a directory")
    if os.path.isfile(os.path.join(path, STATE_FILE)):
        return path
    models = os.path.join(path, "models")
    if os.path.isdir(models):
        tokens = sorted(os.listdir(models))
        if len(tokens) != 1:
            raise ConfigError(f"{key} '{path}' holds {len(tokens)} model dirs in models/ "
                              f"({', '.join(tokens) or 'none'}); give one of them")
        path = os.path.join(models, tokens[0])
    return find_checkpoint(path, load_step)[0]


def check_compatible(directory: str, args: Munch) -> None:
    """The checkpoint's learned role must have been trained on this env, observation shape and slot count."""
    found = [os.path.join(directory, name) for name in (ROLE_CONFIG_FILE, CONFIG_FILE)
             if os.path.isfile(os.path.join(directory, name))]   # policy_config.json: checkpoints older than role_config.json
    if not found:
        raise CheckpointError(f"adapt_checkpoint {directory} has no {ROLE_CONFIG_FILE}: not a checkpoint of a learned role")
    config_path = found[0]
    with open(config_path) as f:
        saved = json.load(f)
    ours = {"env": args.env, "obs_shape": list(args.obs_shape), "n_actions": args.n_actions, "n_agents": args.n_agents}
    wrong = [f"{k}={saved.get(k)!r} (this run: {ours[k]!r})" for k in MATCH_KEYS if saved.get(k) != ours[k]]
    if wrong:
        raise CheckpointError(f"adapt_checkpoint {directory} was trained with {', '.join(wrong)}; "
                              "adapt on the env configuration it was trained on")


def training_roles(directory: str) -> list[str] | None:
    """Distinct roles (first-seen order) of the run that wrote the step folder ``directory``
    (``<local_results_path>/models/<token>/<t_env>``), from its Sacred config; None if not found."""
    model_dir = os.path.dirname(os.path.abspath(directory))
    token, results = os.path.basename(model_dir), os.path.dirname(os.path.dirname(model_dir))
    for config_path in glob.glob(os.path.join(results, "sacred", "*", "config.json")):
        with open(config_path) as f:
            config = json.load(f)
        if config.get("unique_token") == token:
            return list(dict.fromkeys(config["roles"]))
    return None


def carry_inter_om(saved: dict, directory: str, role_names: list[str]) -> dict:
    """HOP's inter-OM goal counts are per co-player role: keep the rows of roles this run shares
    with the training run (by name), start the others (unseen co-players) at zero."""
    old_names = training_roles(directory)
    beliefs = saved["beliefs"]
    if old_names is None or len(old_names) != len(beliefs["counts"]):
        raise CheckpointError(f"cannot tell which roles the inter-OM counts in {directory} belong to: the Sacred "
                              "config of the run that wrote it is not in <local_results_path>/sacred/")
    counts = np.zeros((len(role_names), beliefs["counts"].shape[1]))
    for index, name in enumerate(role_names):
        if name in old_names:
            counts[index] = beliefs["counts"][old_names.index(name)]
    n_agents = beliefs["focal"].shape[1]
    return {"beliefs": {"counts": counts, "focal": np.zeros((0, n_agents), dtype=bool),
                        "role_of_slot": np.zeros((0, n_agents), dtype=np.int64), "training": False,
                        "reached": np.zeros((0, n_agents, counts.shape[1]))}}


# How an actor's non-module state moves to a run with other roles: fn(saved, checkpoint dir, role names).
# Actors not listed load their saved state unchanged.
CARRY_ACTOR_STATE: dict[str, Callable[[dict, str, list[str]], dict]] = {
    "mcts": carry_inter_om,
}


def load_focal(experiment, directory: str) -> None:
    """Load the focal role's modules, its learners' modules and optimisers and the actor's state
    (through ``CARRY_ACTOR_STATE``) from the step folder ``directory``; nothing else."""
    args = experiment.args
    check_compatible(directory, args)
    state = load_checkpoint(directory, experiment._modules(), experiment._optimisers(), restore_rng=False)
    saved_actor = state["mac"]["actor"]
    carry = CARRY_ACTOR_STATE.get(args.actor)
    if saved_actor and carry is not None:
        saved_actor = carry(saved_actor, directory, [r.name for r in experiment.mac.roles])
    experiment.mac.actor.load_state_dict(saved_actor)


def focal_returns(returns: np.ndarray, role_of_slot: np.ndarray, focal_index: int) -> np.ndarray:
    """Per episode, the mean own return of the slots the focal role plays: ``[B,N] -> [B]``."""
    mask = role_of_slot == focal_index
    return (returns * mask).sum(axis=1) / mask.sum(axis=1)


def check_adapt_args(args: Munch) -> None:
    if args.name not in args.roles:
        raise ConfigError(f"run_mode=adapt: roles {list(args.roles)} must include the focal (learned) role "
                          f"'{args.name}' next to the co-players")
    if args.adapt_batch_size_run < 1 or args.adapt_episodes < 1 or args.adapt_episodes % args.adapt_batch_size_run:
        raise ConfigError(f"adapt_episodes ({args.adapt_episodes}) must be a positive multiple of adapt_batch_size_run "
                          f"({args.adapt_batch_size_run} >= 1): episodes are played {args.adapt_batch_size_run} at a time")
    if args.runner == "stream" and args.adapt_batch_size_run > 1:
        raise ConfigError(f"runner 'stream' with adapt_batch_size_run {args.adapt_batch_size_run}: episodes would run "
                          f"across adaptation updates; use adapt_batch_size_run=1 (the default) or runner=parallel")
    wrong = [k for k in args.adapt_report_first if not (isinstance(k, int) and 1 <= k <= args.adapt_episodes)]
    if wrong or not args.adapt_report_first:
        raise ConfigError(f"adapt_report_first {list(args.adapt_report_first)}: every entry must be an int in "
                          f"1..adapt_episodes ({args.adapt_episodes}), at least one")


def adapt(_run, args: Munch, logger: Logger) -> None:
    """Load the focal checkpoint, adapt for ``adapt_episodes`` episodes, record its returns."""
    check_adapt_args(args)
    args.batch_size_run = args.adapt_batch_size_run          # the runner plays this many episodes per rollout
    directory = resolve_checkpoint(args.adapt_checkpoint, args.load_step)
    experiment = Experiment(args, logger)
    load_focal(experiment, directory)
    logger.console.info(f"adapting {args.name} from {directory} with roles {list(args.roles)} "
                        f"for {args.adapt_episodes} episodes")
    focal_index = experiment.mac.role_index[args.name]
    returns: list[float] = []
    while len(returns) < args.adapt_episodes:
        experiment.train_step()
        results = experiment.train_results[-1]
        for value in focal_returns(results.returns, results.role_of_slot, focal_index):
            logger.log_stat("adapt_focal_return", value, len(returns))
            returns.append(float(value))
        if experiment.runner.t_env - experiment.last_log >= args.log_interval:
            experiment.log()
    first = {k: float(np.mean(returns[:k])) for k in args.adapt_report_first}
    for k, value in first.items():
        logger.log_stat(f"adapt_focal_return_first{k}", value, k)
    logger.log_stat("adapt_focal_return_mean", float(np.mean(returns)), args.adapt_episodes)
    experiment.log()
    _run.info["adapt"] = {"checkpoint": os.path.abspath(directory), "episodes": len(returns),
                          "focal_return_mean": float(np.mean(returns)),
                          **{f"focal_return_first{k}": value for k, value in first.items()}}
    if args.save_model:
        experiment.drain()
        experiment.save()
