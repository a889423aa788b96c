"""HOP+ with MCTS (``hop_plus_mcts``, docs/methods.md: HOP): the co-players' goals inside the search trees are
OMG_AM subgoals g_j (continuous, ``subgoal_dim``) and their actions come from π_ω(a_j | s, g_j)
(``SubgoalCoplayerModel``). ``GOAL_UPDATES[args.goal_update]`` says when the subgoals are inferred:

- ``root_only``: once per decision, at the root, from the real history: each tree draws one
  sample g ~ q(g | x_root, cond_root) per co-player and keeps it at every node of the tree.
  Co-player distributions are cached per node. Cheapest.
- ``per_simulation``: the root posterior q(g | x_root, cond_root) is the same, but every tree
  draws a fresh sample before every simulation, so each simulation's expansion sees another
  plausible subgoal (the search averages over the posterior). Co-player distributions are
  recomputed at every expansion (no cache).
- ``every_node``: subgoals are re-inferred at every node the search creates, from the node's
  simulated observation of the planning agent: x = encoder(o_node) and the history is advanced
  along the simulated edge, cond_node = GRU(cond_parent, x_parent, joint action on the edge,
  ego-first), as OMG_AM does between real steps; then one sample g ~ q(g | x, cond_node) per
  co-player (the root uses the real history). One encoder + GRU + posterior call per
  simulation step for all new nodes of all trees. Co-player distributions are cached per node.

"Sample" means the reparameterised draw mu + sigma * eps with the search's generator; with
``sample=False`` (greedy test mode) the posterior mean is used everywhere, and
``per_simulation`` then coincides with ``root_only``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from envs.grid_core import GridCore
from modules.coplayer_model import SubgoalCoplayerModel
from modules.opponent_models import OMGPosterior
from modules.opponent_models.gaussian import reparameterise
from planners.tree_goals import TreeGoals
from utils.errors import ConfigError


@dataclass
class RootPosterior:
    """OMG_AM at the decision's roots, from the real history, per planning row m: encoder output
    ``x [M,H]``, history ``cond [M,H]`` (cond_x of this step), posterior ``mu, log_var [M,N-1,D]``
    over the co-players' subgoals in ego-first order."""

    x: torch.Tensor
    cond: torch.Tensor
    mu: torch.Tensor
    log_var: torch.Tensor

    def repeat(self, times: int) -> "RootPosterior":
        """Each row repeated ``times`` times (one per tree)."""
        return RootPosterior(*(v.repeat_interleave(times, dim=0) for v in (self.x, self.cond, self.mu, self.log_var)))


class SubgoalTreeGoals(TreeGoals):
    """Common part: co-player logits from π_ω(a_j | s, g_j) with every slot's subgoal ``[L,N,D]``
    (zeros at the planning agent's own slot); subclasses say where the subgoals come from."""

    def __init__(self, omg: OMGPosterior, coplayer: SubgoalCoplayerModel, root: RootPosterior, sample: bool) -> None:
        self.omg, self.coplayer, self.root, self.sample = omg, coplayer, root, sample
        self.device = next(coplayer.parameters()).device

    def begin(self, n_rows: int, tree_num: int, sim: GridCore, focal: np.ndarray, nodes_per_tree: int,
              generator: torch.Generator) -> None:
        if self.root.mu.shape[0] != n_rows:
            raise ValueError(f"root posterior has {self.root.mu.shape[0]} rows, the search plans for {n_rows}")
        self.n_agents, self.focal = sim.n_agents, torch.from_numpy(focal)
        self.trees = self.root.repeat(tree_num)
        self.nodes_per_tree = nodes_per_tree

    def draw(self, mu: torch.Tensor, log_var: torch.Tensor, focal: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A subgoal per co-player (posterior sample, or the mean without ``sample``), ego-first
        ``[L,N-1,D]`` -> by global slot ``[L,N,D]`` (zeros at the planning agent's slot)."""
        mu, log_var = mu.cpu(), log_var.cpu()
        g = reparameterise(mu, log_var, generator) if self.sample else mu
        slots = (focal[:, None] + torch.arange(1, self.n_agents)) % self.n_agents
        out = g.new_zeros(len(g), self.n_agents, g.shape[-1])
        out[torch.arange(len(g))[:, None], slots] = g
        return out

    def logits(self, sim: GridCore, rows: np.ndarray, subgoals: torch.Tensor) -> np.ndarray:
        """π_ω's logits ``[L,N,A]`` at scratch rows ``rows`` under ``subgoals [L,N,D]``."""
        with torch.inference_mode():
            state = torch.from_numpy(sim.state_observation(rows)).to(self.device)
            time = torch.from_numpy(sim.time()[rows]).to(self.device)[:, None]
            return self.coplayer(state, time, subgoals.to(self.device)).cpu().numpy()


class RootOnlyGoals(SubgoalTreeGoals):
    """``root_only``: one draw per tree from the root posterior, kept at every node."""

    def begin(self, n_rows, tree_num, sim, focal, nodes_per_tree, generator) -> None:
        super().begin(n_rows, tree_num, sim, focal, nodes_per_tree, generator)
        self.tree_subgoals = self.draw(self.trees.mu, self.trees.log_var, self.focal, generator)

    def coplayer_logits(self, sim, rows, trees, nodes) -> np.ndarray:
        return self.logits(sim, rows, self.tree_subgoals[torch.from_numpy(trees)])


class PerSimulationGoals(RootOnlyGoals):
    """``per_simulation``: a fresh draw per tree from the root posterior before every simulation."""

    cache = False

    def begin_simulation(self, generator: torch.Generator) -> None:
        self.tree_subgoals = self.draw(self.trees.mu, self.trees.log_var, self.focal, generator)


class EveryNodeGoals(SubgoalTreeGoals):
    """``every_node``: OMG_AM re-run at every new node from its simulated observation and the
    history advanced along the simulated edge. ``inferred_nodes`` counts the nodes re-inferred."""

    def begin(self, n_rows, tree_num, sim, focal, nodes_per_tree, generator) -> None:
        super().begin(n_rows, tree_num, sim, focal, nodes_per_tree, generator)
        size, hidden = len(focal) * nodes_per_tree, self.trees.x.shape[-1]
        roots = torch.arange(len(focal)) * nodes_per_tree
        self.x = torch.zeros(size, hidden)
        self.cond = torch.zeros(size, hidden)
        self.subgoals = torch.zeros(size, self.n_agents, self.omg.subgoal_dim)
        self.x[roots], self.cond[roots] = self.trees.x.cpu(), self.trees.cond.cpu()
        self.subgoals[roots] = self.draw(self.trees.mu, self.trees.log_var, self.focal, generator)
        self.inferred_nodes = 0

    def expanded(self, sim, trees, parents, nodes, actions, generator) -> None:
        rows, focal = np.arange(len(trees)), self.focal[torch.from_numpy(trees)]
        parents, nodes = torch.from_numpy(parents), torch.from_numpy(nodes)
        ego = (focal[:, None] + torch.arange(self.n_agents)) % self.n_agents
        prev = F.one_hot(torch.from_numpy(actions)[torch.from_numpy(rows)[:, None], ego], sim.n_actions).float()
        with torch.inference_mode():
            obs = torch.from_numpy(sim.observations(rows, focal.numpy())).to(self.device)
            x = self.omg.encode(obs)
            cond = self.omg.step(self.cond[parents].to(self.device), self.x[parents].to(self.device), prev.to(self.device))
            mu, log_var = self.omg.posterior(x, cond)
        self.x[nodes], self.cond[nodes] = x.cpu(), cond.cpu()
        self.subgoals[nodes] = self.draw(mu, log_var, focal, generator)
        self.inferred_nodes += len(nodes)

    def coplayer_logits(self, sim, rows, trees, nodes) -> np.ndarray:
        return self.logits(sim, rows, self.subgoals[torch.from_numpy(nodes)])


GOAL_UPDATES = {"root_only": RootOnlyGoals, "per_simulation": PerSimulationGoals, "every_node": EveryNodeGoals}


def make_subgoal_goals(goal_update: str, omg: OMGPosterior, coplayer: SubgoalCoplayerModel, root: RootPosterior,
                       sample: bool) -> SubgoalTreeGoals:
    """The ``TreeGoals`` of ``goal_update`` (see module doc)."""
    if goal_update not in GOAL_UPDATES:
        raise ConfigError(f"goal_update: unknown '{goal_update}'; allowed: {', '.join(GOAL_UPDATES)}")
    return GOAL_UPDATES[goal_update](omg, coplayer, root, sample)
