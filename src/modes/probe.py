"""``run_mode: probe_subgoals`` — how well the inferred subgoals tell co-player types apart (docs/methods.md: OMG_AM).

The focal (learned) role, loaded from ``checkpoint_path`` (a step folder, ``models/<token>`` or a
run's ``local_results_path``; its modules only, as in adaptation; untrained when empty, which
gives the baseline), plays ``probe_episodes`` test episodes with the
rule-based co-players of ``roles`` (e.g. ``[hop_plus, NS, NH, RAND]`` with ``shuffle_slots: True``).
Every step where the focal agent and co-player k are alive gives one row: OMG_AM's posterior mean
``infer_mu`` of k's subgoal, labelled with k's role. A linear probe (softmax regression) is fitted
on the first half of the episodes and scored on the held-out second half. Logged: ``probe_accuracy``,
``probe_chance`` (majority class of the held-out rows); written: ``probe.json`` and ``probe.png``
(confusion matrix) under ``<local_results_path>/probes/<unique_token>/``.
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from munch import Munch

from experiment import Experiment
from modes.adapt import load_focal, resolve_checkpoint
from modules.opponent_models.ego import coplayer_slots
from utils.errors import ConfigError
from utils.linear_probe import ProbeResult, fit_linear_probe
from utils.logging import Logger


def check_probe_args(args: Munch) -> list[str]:
    """The co-player types to probe (the rule-based roles of ``roles``); ConfigError if unusable."""
    if not args.use_subgoal or args.actor != "subgoal":
        raise ConfigError("run_mode=probe_subgoals needs the HOP+ actor with subgoals (actor: subgoal, use_subgoal: True)")
    if args.name not in args.roles:
        raise ConfigError(f"run_mode=probe_subgoals: roles {list(args.roles)} must include the focal role '{args.name}'")
    types = list(dict.fromkeys(r for r in args.roles if r != args.name))
    if len(types) < 2:
        raise ConfigError(f"run_mode=probe_subgoals needs co-players of at least 2 types in roles, got {list(args.roles)} "
                          "(e.g. roles=[hop_plus,NS,NH,RAND] shuffle_slots=True)")
    if args.probe_episodes < 2 * args.batch_size_run:
        raise ConfigError(f"probe_episodes ({args.probe_episodes}) must be >= 2 x batch_size_run "
                          f"({args.batch_size_run}): half the episodes train the probe, half test it")
    return types


def subgoal_rows(batch, focal_index: int, role_names: list[str], types: list[str],
                 n_agents: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows ``(infer_mu [R,G], type label [R], episode [R])`` of one test batch: every filled step
    where a focal agent and its co-player k (ego-first: slot (i + 1 + k) % N) are alive."""
    length = batch.max_t_filled()
    role = batch["role"][..., 0]                                                    # [B,N]
    alive = batch["alive"][:, :length, :, 0] > 0                                    # [B,T,N]
    filled = batch["filled"][:, :length, 0] > 0                                     # [B,T]
    co_slot = coplayer_slots(torch.arange(n_agents), n_agents)                      # [N,K] ego-first
    label_of_role = torch.tensor([types.index(r) if r in types else -1 for r in role_names])
    co_label = label_of_role[role[:, co_slot]]                                      # [B,N,K]
    keep = (filled[:, :, None, None] & alive[:, :, :, None] & alive[:, :, co_slot]
            & (role == focal_index)[:, None, :, None] & (co_label >= 0)[:, None])   # [B,T,N,K]
    b, t, i, k = torch.nonzero(keep, as_tuple=True)
    return batch["infer_mu"][:, :length][b, t, i, k], co_label[b, i, k], b


def run_probe(experiment, types: list[str], n_episodes: int) -> ProbeResult:
    """Play ``n_episodes`` test episodes, fit the probe on the first half, score on the rest."""
    mac, args = experiment.mac, experiment.args
    role_names = [r.name for r in mac.roles]
    features, labels, episodes = [], [], []
    played = 0
    while played < n_episodes:
        batch, results = experiment.runner.run(test_mode=True)
        x, y, b = subgoal_rows(batch, mac.role_index[args.name], role_names, types, args.n_agents)
        features.append(x)
        labels.append(y)
        episodes.append(b + played)
        played += len(results.lengths)
    x, y, episode = torch.cat(features), torch.cat(labels), torch.cat(episodes)
    train = episode < played // 2
    return fit_linear_probe(x[train], y[train], x[~train], y[~train], len(types))


def write_probe(result: ProbeResult, types: list[str], directory: str, title: str) -> None:
    """``probe.json`` (accuracy, chance, confusion, sizes) and ``probe.png`` (confusion matrix)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "probe.json"), "w") as f:
        json.dump({"types": types, "accuracy": result.accuracy, "chance": result.chance,
                   "confusion": result.confusion.tolist(), "n_train": result.n_train, "n_test": result.n_test}, f, indent=1)
    shares = result.confusion / np.maximum(1, result.confusion.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(shares, vmin=0, vmax=1, cmap="Blues")
    for (row, col), share in np.ndenumerate(shares):
        ax.text(col, row, f"{share:.2f}", ha="center", va="center", color="white" if share > 0.5 else "black")
    ax.set_xticks(range(len(types)), types)
    ax.set_yticks(range(len(types)), types)
    ax.set_xlabel("predicted type")
    ax.set_ylabel("co-player type")
    ax.set_title(f"{title}\nheld-out accuracy {result.accuracy:.3f} (chance {result.chance:.3f})", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "probe.png"), dpi=120)
    plt.close(fig)


def probe_subgoals(_run, args: Munch, logger: Logger) -> None:
    """Load the focal role (if ``checkpoint_path``), run the probe, log and write its results."""
    types = check_probe_args(args)
    experiment = Experiment(args, logger)
    source = "untrained"
    if args.checkpoint_path:
        directory = resolve_checkpoint(args.checkpoint_path, args.load_step, key="checkpoint_path")
        load_focal(experiment, directory)
        source = directory
    result = run_probe(experiment, types, args.probe_episodes)
    logger.log_stat("probe_accuracy", result.accuracy, 0)
    logger.log_stat("probe_chance", result.chance, 0)
    out = os.path.join(args.local_results_path, "probes", args.unique_token)
    write_probe(result, types, out, f"{args.name} subgoals ({os.path.basename(source.rstrip('/'))})")
    _run.info["probe"] = {"accuracy": result.accuracy, "chance": result.chance, "checkpoint": source,
                          "n_train": result.n_train, "n_test": result.n_test}
    logger.console.info(f"subgoal probe over {types}: held-out accuracy {result.accuracy:.3f} "
                        f"(chance {result.chance:.3f}, {result.n_train} train / {result.n_test} test rows); wrote {out}")
