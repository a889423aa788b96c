"""Step-by-step trace of the exact-model search on one map: why a planner loses to a rule.

The planner plays slot 0 of one ``stag_hunt_small`` map next to three rule co-players, with their
exact policies as π_ω and leaves valued by the exact value of ``--rule`` (every agent plays its
rule from the leaf in the true simulator), as in ``scripts/probe_search.py``. Each step prints the
positions, the planner's greedy action, the action the rule would take, the root Q (normalised per
tree, averaged over trees) and the root visits.

    python -m scripts.trace_search --coplayers RAND --rule NS --discount 0.99 --map 0
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from envs.rule_based import make
from envs.stag_hunt import StagHuntCore
from planners.mcts import BatchedMCTS, SearchSettings
from planners.rule_goals import RuleTreeGoals
from planners.search_probe import STAG_HUNT_SMALL, RolloutModels, exact_goal_roles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coplayers", default="RAND", choices=["NS", "NH", "RAND"])
    parser.add_argument("--rule", default="NS", choices=["NS", "NH"], help="the rule whose value the leaves carry")
    parser.add_argument("--map", type=int, default=0, help="map seed")
    parser.add_argument("--discount", type=float, default=0.95)
    parser.add_argument("--simulations", type=int, default=200)
    parser.add_argument("--trees", type=int, default=5)
    options = parser.parse_args()
    if options.map < 0 or options.simulations < 1 or options.trees < 1 or not 0 < options.discount <= 1:
        print("trace_search: --map >= 0, --simulations and --trees >= 1, --discount in (0, 1]", file=sys.stderr)
        return 2
    core = StagHuntCore(1, **STAG_HUNT_SMALL)
    core.reset([options.map])
    goal_roles = exact_goal_roles(core.name, [options.coplayers])
    goals = np.zeros((1, options.trees, core.n_agents), dtype=np.int64)
    goals[..., 1:] = goal_roles.index(options.coplayers)
    roles = [options.rule] + [options.coplayers] * 3
    settings = SearchSettings(options.simulations, options.trees, 1.25, options.discount)
    search = BatchedMCTS(core, RolloutModels(roles, options.discount), settings)
    generator = torch.Generator().manual_seed(0)
    rule, coplayers = make(core.name, options.rule), make(core.name, options.coplayers)
    names, step, total = core.action_names, 0, 0.0
    while not core.done[0] and core.alive[0, 0]:
        result = search.search(core, np.array([0]), np.array([0]), RuleTreeGoals(goals, goal_roles), generator)
        action = int(result.greedy()[0])
        actions = np.array([[action] + [int(coplayers.act(core, np.array([k]))[0, 0]) for k in (1, 2, 3)]])
        print(f"t={step:2d} positions {core.agent_pos[0].tolist()} alive {core.alive[0].astype(int).tolist()} "
              f"planner {names[action]:5s} {options.rule} would {names[int(rule.act(core, np.array([0]))[0, 0])]:5s} "
              f"Q {np.round(result.q[0], 2).tolist()} visits {result.visits.sum(axis=1)[0].astype(int).tolist()}")
        rewards, _, _ = core.step(actions)
        total += float(rewards[0, 0])
        step += 1
    print(f"planner's return {total:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
