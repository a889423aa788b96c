"""Known-answer probe of HOP's search: whole episodes with exact co-player models.

The planner sits in slot 0 of random maps next to three rule-based co-players and is given their
true policies as π_ω (``planners.search_probe``); the same maps are played with the rule itself
in slot 0. Leaves are valued either by a constant 0 (an untrained value network: the search
alone must find the rewards) or by a rollout of the rules in the true simulator (the exact value
of the rule the planner should improve on). With ``--rollout-depth d`` > 0 a constant-leaf
search values its leaves by the search's own d-step rollouts instead (``mcts_rollout_depth``:
the flat prior for the planner, the exact π_ω for the co-players, bootstrapped with the
constant). With ``--leaf networks --checkpoint DIR`` the prior and the leaf values are a trained
``hop`` / ``direct_om`` run's networks (its latest checkpoint), and only its co-player model is
replaced by the exact one: what the run would earn with a perfect π_ω and perfect beliefs. With
``--coplayer-model learned`` the co-players are simulated by the checkpoint's own π_ω instead,
each under its true goal (NS: stag, NH: hare): what the run earns with its co-player model but
perfect beliefs. It first prints the networks' mean value and mean top prior probability at the
maps' first states.
Prints one markdown table row per setting:
mean focal return of the planner and of the rule, the share of maps where the planner did worse,
and the seconds the setting took.

    python -m scripts.probe_search --maps 32 --out docs/results/search_probe.md
    python -m scripts.probe_search --maps 64 --coplayers NS --leaf networks --checkpoint results/models/<token>
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import numpy as np
import torch

from envs.stag_hunt import StagHuntCore
from planners.mcts import SearchSettings
from planners.search_probe import COPLAYER_MODELS, STAG_HUNT_SMALL, PartialModels, probe_search
from utils.errors import ConfigError


def checkpoint_networks(config: str, checkpoint: str, load_step: int, settings: list[str]):
    """The search's view of the networks of a trained run's checkpoint, prior, value and π_ω
    (``load_step`` 0: the latest; ``settings`` the run's KEY=VALUE overrides)."""
    from experiment import Experiment
    from launch import load_config, prepare_args
    from utils.config import parse_overrides
    from utils.logging import Logger, get_logger

    overrides = {"save_model": False, "load_step": load_step, **parse_overrides(settings, "--set")}
    args = prepare_args(load_config(config, "stag_hunt_small", overrides))
    experiment = Experiment(args, Logger(get_logger()))
    experiment.restore(checkpoint)
    return experiment.mac.actor.models


def first_state_summary(networks, maps: int) -> str:
    """What the networks hold at the maps' first states (slot 0): mean V and the mean top probability of the prior."""
    core = StagHuntCore(maps, **STAG_HUNT_SMALL)
    core.reset(np.arange(maps))
    slot = np.zeros(maps, dtype=np.int64)
    logits, value = networks.prior_value(core.observations(slots=slot), core.time(), slot)
    prior = np.exp(logits - logits.max(axis=1, keepdims=True))
    prior /= prior.sum(axis=1, keepdims=True)
    return (f"checkpoint networks at the {maps} first states (slot 0): mean V {value.mean():.2f}, "
            f"mean top prior probability {prior.max(axis=1).mean():.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=int, default=32, help="random stag_hunt_small maps (seeds 0..maps-1)")
    parser.add_argument("--coplayers", nargs="+", default=["NS", "NH"], choices=["NS", "NH", "RAND"])
    parser.add_argument("--rule", choices=["NS", "NH"],
                        help="the rule played in the focal slot for comparison (default: the co-players' own, NS for RAND)")
    parser.add_argument("--leaf", nargs="+", default=["constant", "rollout"], choices=["constant", "rollout", "networks"])
    parser.add_argument("--checkpoint", help="model dir of a hop / direct_om run, for --leaf networks")
    parser.add_argument("--config", default="hop", help="alg config of the --checkpoint run")
    parser.add_argument("--load-step", type=int, default=0, help="the --checkpoint step to load (0: the latest)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="run-config overrides the --checkpoint run was trained with (e.g. 'roles=[hop,NS,NS,NS]')")
    parser.add_argument("--networks", nargs="+", default=["prior+value"], choices=["prior+value", "prior", "value"],
                        help="which of the checkpoint's networks to use (the other: flat prior / leaf value 0), "
                             "one table row each")
    parser.add_argument("--coplayer-model", nargs="+", default=["exact"], choices=list(COPLAYER_MODELS),
                        help="who simulates the co-players in the trees, under their true goals: their rules (exact) "
                             "or the --checkpoint's π_ω (learned; NS and NH co-players only); one row each")
    parser.add_argument("--true-goal-share", type=float, nargs="+", default=[1.0],
                        help="probability that a tree simulates a co-player under its true goal (else the other of "
                             "stag and hare): beliefs short of certain; one row each")
    parser.add_argument("--c-puct", type=float, nargs="+", default=[1.25, 5.0])
    parser.add_argument("--simulations", type=int, nargs="+", default=[200])
    parser.add_argument("--rollout-depth", type=int, nargs="+", default=[0],
                        help="the search's own leaf rollouts (mcts_rollout_depth); used with --leaf constant")
    parser.add_argument("--discount", type=float, default=0.95, help="the search's discount (mcts_discount)")
    parser.add_argument("--trees", type=int, default=5)
    parser.add_argument("--root-noise", type=float, nargs="+", default=[0.0],
                        help="share of Dirichlet noise in the root priors (mcts_root_noise_fraction), one row each")
    parser.add_argument("--dirichlet-alpha", type=float, default=0.3, help="its concentration (mcts_root_dirichlet_alpha)")
    parser.add_argument("--out", help="also write the table to this markdown file")
    options = parser.parse_args()
    if (options.maps < 1 or options.trees < 1 or min(options.simulations) < 1 or min(options.c_puct) <= 0
            or min(options.rollout_depth) < 0 or not 0 < options.discount <= 1
            or not all(0 <= f <= 1 for f in options.root_noise) or options.dirichlet_alpha <= 0
            or not all(0 <= p <= 1 for p in options.true_goal_share)):
        print("probe_search: --maps, --trees and --simulations must be >= 1, --c-puct > 0, --rollout-depth >= 0, "
              "--discount in (0, 1], --root-noise and --true-goal-share in [0, 1], --dirichlet-alpha > 0", file=sys.stderr)
        return 2
    if ("networks" in options.leaf) != bool(options.checkpoint):
        print("probe_search: --leaf networks and --checkpoint go together", file=sys.stderr)
        return 2
    if "learned" in options.coplayer_model and (not options.checkpoint or "RAND" in options.coplayers):
        print("probe_search: --coplayer-model learned needs --checkpoint and NS / NH co-players (RAND has no goal "
              "of the trained model)", file=sys.stderr)
        return 2
    if options.out and os.path.isdir(options.out):
        print(f"probe_search: --out {options.out} is a directory; give a file path", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    try:
        networks = (checkpoint_networks(options.config, options.checkpoint, options.load_step, options.set)
                    if options.checkpoint else None)
    except (ConfigError, ValueError, FileNotFoundError) as error:
        print(f"probe_search: --checkpoint {options.checkpoint}: {error}", file=sys.stderr)
        return 2
    lines = ["| co-players | co-player model | P(true goal) | leaf value | search rollouts | discount | c_puct | root noise | trees × simulations | planner | "
             "rule in the same slot | maps where the planner earned less | seconds |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    if networks is not None:
        print(first_state_summary(networks, options.maps), flush=True)
    print("\n".join(lines), flush=True)
    for coplayer, coplayer_model, share, leaf, depth, c_puct, noise, sims, parts in itertools.product(
            options.coplayers, options.coplayer_model, options.true_goal_share, options.leaf, options.rollout_depth, options.c_puct,
            options.root_noise, options.simulations, options.networks):
        if depth and leaf != "constant" or leaf != "networks" and parts != options.networks[0]:
            continue                        # rollouts belong to the constant leaf, network parts to the networks
        rule = options.rule or ("NS" if coplayer == "RAND" else coplayer)
        models = None if networks is None else PartialModels(networks, "prior" in parts, "value" in parts)
        start = time.perf_counter()
        result = probe_search(StagHuntCore, STAG_HUNT_SMALL, np.arange(options.maps), 0, ["-"] + [coplayer] * 3,
                              SearchSettings(sims, options.trees, c_puct, options.discount, depth, noise,
                                             options.dirichlet_alpha), rule, leaf=leaf,
                              networks=models, coplayer_model=coplayer_model, true_goal_share=share)
        worse = float(np.mean(result.planner_returns < result.rule_returns))
        name = f"networks ({parts})" if leaf == "networks" else leaf
        line = (f"| 3 {coplayer} | {coplayer_model} | {share:g} | {name} | {f'{depth} steps' if depth else '-'} | {options.discount:g} | {c_puct:g} | "
                f"{f'{noise:g} (α {options.dirichlet_alpha:g})' if noise else '-'} | {options.trees} × {sims} | {result.planner:.2f} | "
                f"{result.rule:.2f} ({rule}) | {worse:.0%} | {time.perf_counter() - start:.0f} |")
        lines.append(line)
        print(line, flush=True)
    if options.out:
        with open(options.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
