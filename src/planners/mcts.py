"""Batched PUCT search (docs/methods.md: HOP): every tree of every planning agent of every env advances together.

Node statistics live in preallocated flat arrays indexed by node id ``tree * X + node`` (R trees,
X = num_simulations + 1 nodes per tree, A actions; an edge is ``node_id * A + action``): visit
counts ``N``, value sums ``W``, ``Q = W / N`` (0 unvisited, -inf unavailable), ``c_puct * P``,
edge rewards, child ids (-1 = not expanded), and each node's current PUCT choice. Each node's
simulator state is kept as array copies: walls, prey positions and kinds (and the core's lookup
tables derived from them) never change within an episode, so they are kept once per tree; the
rest of the core's ``CoreState`` once per node. Restoring is array copies only (gathered once,
adopted by the scratch core without a second copy).

One simulation step, for all R trees at once:
1. selection: follow each node's cached PUCT choice ``argmax Q + c_puct * P * sqrt(max(sum N, 1)) / (1 + N)``
   over its available actions (first maximum on ties) down to an edge that was never expanded or
   into a terminal node (a Python loop over depth, vectorised over trees, a few gathers per level);
2. expansion: the parents' snapshots are restored into one scratch core, the co-players'
   actions are sampled from the co-player distributions at the parent, and one batched
   ``core.step`` makes every new child. The distributions come from the search's
   ``TreeGoals`` (``planners.tree_goals``: discrete goals per tree for HOP, OMG_AM subgoals for
   HOP+): ONE co-player-model call for all expanding parents; with ``TreeGoals.cache`` they are
   computed when a node is first expanded (most nodes never are) and kept; ``TreeGoals.expanded``
   then sees the new children (e.g. to re-infer subgoals there, one call for all of them);
3. evaluation: ONE prior/value network call for all new (non-terminal) nodes (with models that
   have ``sparse_inputs`` the observations go in as ``GridOnes``, the grids are never built);
4. backup of the discounted return ``r + discount * G`` along every path (one scatter for all
   trees and depths), then the PUCT choice is recomputed for the nodes on the paths, the only
   nodes whose statistics changed.

A node is terminal for the planning agent when its env is done or the agent has left (it got
its capture reward on the edge into the node); terminal nodes are worth 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from envs.grid_core import STAY, CoreState, CoreTables, GridCore
from planners.tree_goals import TreeGoals

_STATIC = ("walls", "prey_pos", "prey_kind")  # constant within an episode: kept once per tree, with the tables
_DYNAMIC = tuple(f for f in CoreState.__dataclass_fields__ if f not in (*_STATIC, "rng_states", "tables"))


@dataclass(frozen=True)
class SearchSettings:
    """Search budget and constants: ``tree_num`` trees per decision, ``num_simulations`` each."""

    num_simulations: int
    tree_num: int
    c_puct: float
    discount: float


class SearchModels(Protocol):
    """The networks the search calls (numpy in, numpy out, no gradients). Models with a true
    ``sparse_inputs`` attribute get full-view observations as ``GridOnes`` (``GridCore.grid_ones``)."""

    def prior_value(self, obs: np.ndarray, time: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Planning agents' ``obs [L,C,H,W]``, ``time [L]``, ``slot [L]`` -> ``logits [L,A]``, ``value [L]``."""


@dataclass
class SearchResult:
    """Root statistics of one search: ``q [M,A]`` averaged over the trees that visited each action
    (actions no tree visited get the row's lowest visited Q), ``visits [M,T,A]``, ``avail [M,A]``."""

    q: np.ndarray
    visits: np.ndarray
    avail: np.ndarray


def masked_softmax(logits: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Softmax over the available actions of each row (float64; unavailable actions get 0)."""
    z = np.where(avail, logits.astype(np.float64), -np.inf)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def root_q(visits: np.ndarray, value_sums: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Root Q ``[M,A]`` averaged over trees ``[M,T,A]`` that visited each action."""
    seen = visits > 0
    q_tree = np.divide(value_sums, visits, out=np.zeros_like(value_sums), where=seen)
    count = seen.sum(axis=1)
    q = np.divide(q_tree.sum(axis=1), count, out=np.zeros(count.shape), where=count > 0)
    visited = (count > 0) & avail
    lowest = np.where(visited, q, np.inf).min(axis=1, keepdims=True)
    return np.where(visited, q, np.where(np.isfinite(lowest), lowest, 0.0))


class BatchedMCTS:
    """PUCT search over many trees at once on copies of a batched grid core (see module doc)."""

    def __init__(self, core: GridCore, models: SearchModels, settings: SearchSettings) -> None:
        if settings.num_simulations < 1 or settings.tree_num < 1:
            raise ValueError(f"MCTS needs num_simulations >= 1 and tree_num >= 1, got {settings}")
        self.models, self.settings = models, settings
        self.sim = type(core)(1, **core.args)
        self.n_agents, self.n_actions = core.n_agents, core.n_actions
        self.sparse = bool(getattr(models, "sparse_inputs", False)) and core.obs_radius is None

    # ------------------------------------------------------------------------------ storage
    def _allocate(self, trees: int) -> None:
        x, a, n = self.settings.num_simulations + 1, self.n_actions, self.n_agents
        size = trees * x
        # what selection reads, one contiguous record per node: Q, c_puct * P, N (PUCT is memory bound)
        self.stats = np.zeros((size, 3, a))
        self.q, self.c_prior, self.visits = self.stats[:, 0], self.stats[:, 1], self.stats[:, 2]
        self.flat_stats = self.stats.reshape(-1)  # edge e = node * A + action: Q at e + 2A * node, N at + 2A more
        self.value_sums = np.zeros(size * a)
        self.node_visits = np.zeros(size)
        self.choice = np.zeros(size, dtype=np.int64)
        self.edge_reward = np.zeros(size * a)
        self.child = np.full(size * a, -1, dtype=np.int64)
        self.node_avail = np.zeros((size, n, a), dtype=bool)  # every agent's available actions
        self.terminal = np.zeros(size, dtype=bool)
        self.coplayer_cdf = np.zeros((size, n, a))
        self.cdf_ready = np.zeros(size, dtype=bool)
        self.n_nodes = np.ones(trees, dtype=np.int64)
        self.path = np.zeros((x, trees), dtype=np.int64)  # edge taken at each depth of the current paths
        self.static: dict[str, np.ndarray] = {}
        self.tables: CoreTables | None = None
        self.pool: dict[str, np.ndarray] = {}
        self.pool_rng = np.empty(size, dtype=object)

    def _store(self, nodes: np.ndarray, state: CoreState) -> None:
        """Write the per-node part of snapshot rows into the pool at node ids ``nodes``."""
        for name in _DYNAMIC:
            value = getattr(state, name)
            if name not in self.pool:
                self.pool[name] = np.zeros((len(self.pool_rng), *value.shape[1:]), dtype=value.dtype)
            self.pool[name][nodes] = value
        self.pool_rng[nodes] = state.rng_states

    def _gather(self, trees: np.ndarray, nodes: np.ndarray) -> CoreState:
        """Snapshot of nodes ``nodes`` of trees ``trees``."""
        return CoreState(**{name: np.take(self.static[name], trees, axis=0) for name in _STATIC},  # take: faster
                         **{name: np.take(self.pool[name], nodes, axis=0) for name in _DYNAMIC},   # than [index]
                         rng_states=self.pool_rng[nodes].tolist(), tables=self.tables.select(trees))

    # ------------------------------------------------------------------------------ search
    def search(self, core: GridCore, env_idx: np.ndarray, slot_idx: np.ndarray, goals: TreeGoals,
               generator: torch.Generator) -> SearchResult:
        """Plan for agents ``slot_idx[m]`` of envs ``env_idx[m]`` of ``core`` (alive, env not done).

        ``goals`` says what the co-players pursue in the ``tree_num`` trees of every row (e.g.
        ``DiscreteTreeGoals(models.coplayer_logits, goals [M, tree_num, N])``). Co-player actions
        are sampled with ``generator``.
        """
        settings = self.settings
        m, t = len(env_idx), settings.tree_num
        trees = m * t
        self._allocate(trees)
        self.focal = np.repeat(np.asarray(slot_idx, dtype=np.int64), t)
        self.goals = goals
        roots = np.arange(trees) * (settings.num_simulations + 1)
        self.sim.set_state(core.get_state(np.repeat(np.asarray(env_idx, dtype=np.int64), t)))
        goals.begin(m, t, self.sim, self.focal, settings.num_simulations + 1, generator)
        snapshot = self.sim.get_state()
        self.static = {name: getattr(snapshot, name) for name in _STATIC}
        self.tables = snapshot.tables
        self._store(roots, snapshot)
        self._evaluate(np.arange(trees), roots)
        for _ in range(settings.num_simulations):
            goals.begin_simulation(generator)
            self._simulate(generator)
        root_visits = self.visits[roots].reshape(m, t, -1)
        root_sums = self.value_sums.reshape(-1, self.n_actions)[roots].reshape(m, t, -1)
        avail = self.node_avail[roots[::t], slot_idx]
        return SearchResult(root_q(root_visits, root_sums, avail), root_visits, avail)

    def _simulate(self, generator: torch.Generator) -> None:
        length, trees, parent, action = self._select()
        value = np.zeros(len(length))
        if trees.size:
            value[trees] = self._expand(trees, parent, action, generator)
        self._backup(length, value)

    def _puct_choice(self, nodes: np.ndarray, node_visits: np.ndarray) -> np.ndarray:
        """PUCT action of nodes ``nodes`` (visited ``node_visits`` times) from their statistics (first
        maximum on ties)."""
        stats = np.take(self.stats, nodes, axis=0)  # faster than self.stats[nodes] here
        score = stats[:, 1]                         # in place, same operations as q + c P sqrt(.) / (1 + N)
        score *= np.sqrt(np.maximum(node_visits, 1.0))[:, None]
        score /= stats[:, 2] + 1.0
        score += stats[:, 0]
        return score.argmax(axis=1)

    def _select(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Descend every tree along the cached PUCT choices; returns every tree's path length and,
        for the trees whose path ends at an unexpanded edge, the tree, parent node id and action."""
        n_trees, a = len(self.n_nodes), self.n_actions
        rows = np.arange(n_trees)
        node = rows * (self.settings.num_simulations + 1)
        length = np.zeros(n_trees, dtype=np.int64)
        end_edge = np.full(n_trees, -1, dtype=np.int64)   # the unexpanded edge a tree's path ends at
        depth = 0
        while rows.size:
            edge = node * a + self.choice[node]
            self.path[depth, rows] = edge
            nxt = self.child[edge]
            new = nxt < 0
            stop = new | self.terminal[nxt]  # nxt = -1 reads a real entry, overridden by new
            length[rows[stop]] = depth + 1
            end_edge[rows[new]] = edge[new]
            keep = ~stop
            rows, node = rows[keep], nxt[keep]
            depth += 1
        trees = np.flatnonzero(end_edge >= 0)
        parent, action = np.divmod(end_edge[trees], a)
        return length, trees, parent, action

    def _expand(self, trees: np.ndarray, parent: np.ndarray, action: np.ndarray,
                generator: torch.Generator) -> np.ndarray:
        """Step the parents' snapshots with (planned action, sampled co-player actions); returns
        the new nodes' values."""
        index = np.arange(len(trees))
        focal = self.focal[trees]
        self.sim.set_state(self._gather(trees, parent), copy=False)
        if self.goals.cache:
            first = np.flatnonzero(~self.cdf_ready[parent])
            if first.size:
                self.coplayer_cdf[parent[first]] = self._coplayer_cdf(trees[first], parent[first], first)
                self.cdf_ready[parent[first]] = True
            cdf = self.coplayer_cdf[parent]                                   # [L,N,A]
        else:
            cdf = self._coplayer_cdf(trees, parent, index)
        u = torch.rand(cdf.shape[:2], generator=generator, dtype=torch.float64).numpy()
        actions = (cdf <= u[..., None]).sum(axis=-1)
        actions[index, focal] = action
        rewards, _, _ = self.sim.step(actions, check=False)  # sampled from the available actions
        new = trees * (self.settings.num_simulations + 1) + self.n_nodes[trees]
        self.n_nodes[trees] += 1
        edge = parent * self.n_actions + action
        self.child[edge] = new
        self.edge_reward[edge] = rewards[index, focal]
        self._store(new, self.sim.get_state(copy=False))
        self.goals.expanded(self.sim, trees, parent, new, actions, generator)
        return self._evaluate(trees, new)

    def _evaluate(self, trees: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Fill priors, availability, terminal flags and PUCT choices of new nodes ``nodes`` (of
        trees ``trees``) from the scratch core's rows; return their values."""
        sim, n_rows = self.sim, len(trees)
        focal = self.focal[trees]
        avail = sim.avail_actions()
        own = avail[np.arange(n_rows), focal]
        terminal = sim.done | ~sim.alive[np.arange(n_rows), focal]
        self.node_avail[nodes] = avail
        self.terminal[nodes] = terminal
        self.q[nodes] = np.where(own, 0.0, -np.inf)
        value = np.zeros(n_rows)
        live = np.flatnonzero(~terminal)
        if live.size == 0:
            return value
        nodes, focal = nodes[live], focal[live]
        obs = sim.grid_ones(live, focal) if self.sparse else sim.observations(live, focal)
        logits, value[live] = self.models.prior_value(obs, sim.time()[live], focal)
        c_prior = self.settings.c_puct * masked_softmax(logits, own[live])
        self.c_prior[nodes] = c_prior
        self.choice[nodes] = np.where(own[live], c_prior, -np.inf).argmax(axis=1)  # PUCT with no visits yet
        return value

    def _coplayer_cdf(self, trees: np.ndarray, nodes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The co-players' action distributions (as CDFs ``[L,N,A]``) at nodes ``nodes`` of trees
        ``trees``, whose states are the scratch core's rows ``rows``: π_ω under the trees' goals for
        the co-players still in the game, STAY for the planning agent and those who left."""
        sim, index = self.sim, np.arange(len(rows))
        chosen = self.goals.coplayer_logits(sim, rows, trees, nodes)                          # [L,N,A]
        moving = sim.alive[rows]
        moving[index, self.focal[trees]] = False
        allowed = np.where(moving[..., None], self.node_avail[nodes], np.arange(self.n_actions) == STAY)
        cdf = np.cumsum(masked_softmax(chosen, allowed), axis=-1)        # STAY alone: probability exactly 1
        return cdf / cdf[..., -1:]

    def _backup(self, length: np.ndarray, value: np.ndarray) -> None:
        """Add the discounted returns along every path, then refresh the PUCT choices on the paths."""
        depth = int(length.max())
        edges = self.path[:depth]                                              # [D, R]
        on_path = np.arange(depth)[:, None] < length
        rewards = self.edge_reward[edges]
        returns = np.empty(edges.shape)
        ret = value
        for d in range(depth - 1, -1, -1):
            ret = np.where(on_path[d], rewards[d] + self.settings.discount * ret, ret)
            returns[d] = ret
        edges = edges[on_path]  # distinct: a path never revisits a node, trees share none
        nodes = edges // self.n_actions
        q_at = edges + 2 * self.n_actions * nodes                              # the edges' Q in flat_stats
        n_at = q_at + 2 * self.n_actions                                       # and their N
        sums = self.value_sums[edges] + returns[on_path]
        visits = self.flat_stats[n_at] + 1.0
        self.value_sums[edges] = sums
        self.flat_stats[n_at] = visits
        self.flat_stats[q_at] = sums / visits
        node_visits = self.node_visits[nodes] + 1.0
        self.node_visits[nodes] = node_visits
        self.choice[nodes] = self._puct_choice(nodes, node_visits)
