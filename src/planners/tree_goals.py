"""What the co-players pursue inside HOP's search trees (docs/methods.md: HOP): the co-player action
distributions the batched search samples from when it expands a node.

``BatchedMCTS`` calls a ``TreeGoals`` at four points: ``begin`` (the roots are in the scratch
core), ``begin_simulation`` (before every simulation), ``coplayer_logits`` (a parent is about
to be expanded) and ``expanded`` (new children were stepped into the scratch core). With
``cache`` the distributions of a node are computed once, when it is first expanded; without
it they are recomputed at every expansion (they change between simulations).

- ``DiscreteTreeGoals``: HOP / Direct-OM: each tree fixes one discrete goal per co-player
  (sampled from the beliefs); π_ω(a_j | s, g_j) is read from the all-goals co-player model.
- ``planners.subgoal_goals.SubgoalTreeGoals``: HOP+ with MCTS: continuous OMG_AM subgoals.
"""
from __future__ import annotations

import numpy as np
import torch

from envs.grid_core import GridCore


class TreeGoals:
    """Base class: co-players' goals in the trees of one search (see module doc)."""

    cache: bool = True

    def begin(self, n_rows: int, tree_num: int, sim: GridCore, focal: np.ndarray, nodes_per_tree: int,
              generator: torch.Generator) -> None:
        """A search of ``n_rows * tree_num`` trees starts; ``sim`` row r holds tree r's root, planned
        for slot ``focal[r]``; tree r's nodes are ids ``r * nodes_per_tree + [0, nodes_per_tree)``."""

    def begin_simulation(self, generator: torch.Generator) -> None:
        """One more simulation of every tree starts."""

    def coplayer_logits(self, sim: GridCore, rows: np.ndarray, trees: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Every slot's action logits ``[L,N,A]`` at nodes ``nodes`` of trees ``trees`` (scratch rows ``rows``)."""
        raise NotImplementedError

    def expanded(self, sim: GridCore, trees: np.ndarray, parents: np.ndarray, nodes: np.ndarray,
                 actions: np.ndarray, generator: torch.Generator) -> None:
        """New nodes ``nodes`` (scratch rows 0..L-1) were stepped from ``parents`` with joint ``actions [L,N]``."""


class DiscreteTreeGoals(TreeGoals):
    """One discrete goal per co-player and tree, ``goals [M, tree_num, N]`` (the planning agent's
    own entry is ignored); ``coplayer_logits(state, time) -> [L,N,G,A]`` is the co-player model,
    given the states as ``GridOnes`` with ``sparse`` (``GridCore.grid_ones``), else as grids."""

    def __init__(self, coplayer_logits, goals: np.ndarray, sparse: bool = False) -> None:
        self.model, self.goals, self.sparse = coplayer_logits, np.asarray(goals, dtype=np.int64), sparse

    def begin(self, n_rows: int, tree_num: int, sim: GridCore, focal: np.ndarray, nodes_per_tree: int,
              generator: torch.Generator) -> None:
        if self.goals.shape != (n_rows, tree_num, sim.n_agents):
            raise ValueError(f"goals must have shape {(n_rows, tree_num, sim.n_agents)}, got {self.goals.shape}")
        self.tree_goals = self.goals.reshape(n_rows * tree_num, sim.n_agents)

    def coplayer_logits(self, sim: GridCore, rows: np.ndarray, trees: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        state = sim.grid_ones(rows) if self.sparse else sim.state_observation(rows)
        logits = self.model(state, sim.time()[rows])                                          # [L,N,G,A]
        return logits[np.arange(len(rows))[:, None], np.arange(sim.n_agents), self.tree_goals[trees]]
