"""Exact co-player models for the search: rule-based policies as π_ω (docs/design.md, "HOP").

``RuleTreeGoals`` plays the part of π_ω(a_j | s, g) with a rule-based co-player per goal (stag
hunt: goal 0 (stag) = ``NS``, goal 1 (hare) = ``NH``): the action distribution of slot j under
goal g is uniform over the actions the rule allows there (the rule breaks ties uniformly), STAY
when it allows none. Plugged into ``BatchedMCTS`` it gives the search a perfect model of rule
co-players, the known-answer setting in which the planner must do at least as well as the rule.
"""
from __future__ import annotations

import numpy as np

from envs.grid_core import STAY, GridCore
from envs.rule_based import make
from planners.tree_goals import TreeGoals

BLOCKED = -1e9
DEFAULT_GOAL_ROLES = {"stag_hunt": ("NS", "NH"), "snowdrift": ("ND", "FIX")}


def rule_logits(sim: GridCore, roles: tuple[str, ...]) -> np.ndarray:
    """Logits ``[B,N,G,A]`` of every slot of every row of ``sim`` under rule ``roles[g]``: 0 on the
    actions the rule allows (STAY if it allows none), ``BLOCKED`` elsewhere."""
    slots = np.arange(sim.n_agents)
    avail = sim.avail_actions()
    logits = np.full((len(avail), sim.n_agents, len(roles), sim.n_actions), BLOCKED)
    for goal, role in enumerate(roles):
        allowed = make(sim.name, role)._allowed(sim, slots, avail)
        allowed[~allowed.any(axis=-1), STAY] = True
        logits[:, :, goal] = np.where(allowed, 0.0, BLOCKED)
    return logits


class RuleTreeGoals(TreeGoals):
    """Discrete goals per tree ``goals [M, tree_num, N]`` with rule ``roles[g]`` as the exact
    co-player policy under goal g."""

    def __init__(self, goals: np.ndarray, roles: tuple[str, ...]) -> None:
        self.goals, self.roles = np.asarray(goals, dtype=np.int64), tuple(roles)

    def begin(self, n_rows: int, tree_num: int, sim: GridCore, focal: np.ndarray, nodes_per_tree: int,
              generator) -> None:
        if self.goals.shape != (n_rows, tree_num, sim.n_agents):
            raise ValueError(f"goals must have shape {(n_rows, tree_num, sim.n_agents)}, got {self.goals.shape}")
        if self.goals.max(initial=0) >= len(self.roles):
            raise ValueError(f"goal {self.goals.max()} has no rule: roles {self.roles}")
        self.tree_goals = self.goals.reshape(n_rows * tree_num, sim.n_agents)

    def coplayer_logits(self, sim: GridCore, rows: np.ndarray, trees: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        logits = rule_logits(sim, self.roles)[rows]
        return logits[np.arange(len(rows))[:, None], np.arange(sim.n_agents), self.tree_goals[trees]]
