"""Batched PUCT search (docs/methods.md: HOP): every tree of every planning agent of every env advances together.

Node statistics live in preallocated flat arrays indexed by node id ``tree * X + node`` (R trees,
X = num_simulations + 1 nodes per tree, A actions; an edge is ``node_id * A + action``): visit
counts ``N``, value sums ``W``, ``Q = W / N`` (0 unvisited, -inf unavailable), ``c_puct * P``,
edge rewards, child ids (-1 = not expanded), each node's value estimate and a seeded tie-break
draw per edge; per tree the lowest and highest value seen so far (for the normalised Q). Each node's
simulator state is kept as array copies: walls, prey positions and kinds (and the core's lookup
tables derived from them) never change within an episode, so they are kept once per tree; the
rest of the core's ``CoreState`` once per node. Restoring is array copies only (gathered once,
adopted by the scratch core without a second copy).

The PUCT score of edge a at node s of tree k is scale-free, as in MuZero:

    score(s, a) = Q̄_k(s, a) + c_puct * P(s, a) * sqrt(max(N(s), 1)) / (1 + N(s, a)),
    Q̄_k(x) = (x - lo_k) / (hi_k - lo_k)  (0 while hi_k <= lo_k),

with lo_k / hi_k the lowest / highest value tree k has seen (backed-up Q values and the network's
leaf values), so ``c_puct`` means the same whatever the reward scale. An unvisited edge has no Q
of its own: it gets its node's first-play value, the node's value estimate
``V̂(s) = (v_net(s) + Σ_a W(s, a)) / (1 + N(s))`` (never a bare 0 that positive rewards always
beat). Ties of the score break by the prior, then by a seeded uniform draw made when the node was
created (never by action index).

One simulation step, for all R trees at once:
1. selection: descend by the PUCT choice over each node's available actions, recomputed from the
   node's statistics and its tree's current bounds at every level, down to an edge that was
   never expanded or into a terminal node (a Python loop over depth, vectorised over trees);
2. expansion: the parents' snapshots are restored into one scratch core, the co-players'
   actions are sampled from the co-player distributions at the parent, and one batched
   ``core.step`` makes every new child. The distributions come from the search's
   ``TreeGoals`` (``planners.tree_goals``: discrete goals per tree for HOP, OMG_AM subgoals for
   HOP+): ONE co-player-model call for all expanding parents; with ``TreeGoals.cache`` they are
   computed when a node is first expanded (most nodes never are) and kept; ``TreeGoals.expanded``
   then sees the new children (e.g. to re-infer subgoals there, one call for all of them);
3. evaluation: ONE prior/value network call for all new (non-terminal) nodes (with models that
   have ``sparse_inputs`` the observations go in as ``GridOnes``, the grids are never built), or,
   with ``rollout_depth`` > 0, one batched rollout of that many steps from all new nodes
   (``planners.leaf_rollout``);
4. backup of the discounted return ``r + discount * G`` along every path (one scatter for all
   trees and depths), into the edges' W, N and Q, the nodes' value estimates and the trees' bounds.

A node is terminal for the planning agent when its env is done or the agent has left (it got
its capture reward on the edge into the node); terminal nodes are worth 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from envs.grid_core import CoreState, CoreTables, GridCore
from planners.leaf_rollout import LeafRollout
from planners.root_noise import draw_root_noise, mix_root_noise
from planners.search_policy import coplayer_cdf, masked_softmax, sample_from_cdf
from planners.tree_goals import TreeGoals

__all__ = ["BatchedMCTS", "SearchModels", "SearchResult", "SearchSettings", "masked_softmax", "normalise", "root_q"]

_STATIC = ("walls", "prey_pos", "prey_kind")  # constant within an episode: kept once per tree, with the tables
_DYNAMIC = tuple(f for f in CoreState.__dataclass_fields__ if f not in (*_STATIC, "rng_states", "tables"))


@dataclass(frozen=True)
class SearchSettings:
    """Search budget and constants: ``tree_num`` trees per decision, ``num_simulations`` each;
    new leaves valued by the value network (``rollout_depth`` 0) or by rollouts of that many
    steps (``planners.leaf_rollout``)."""

    num_simulations: int
    tree_num: int
    c_puct: float
    discount: float
    rollout_depth: int = 0
    root_noise_fraction: float = 0.0    # share of Dirichlet noise in the root priors of exploring searches
    root_dirichlet_alpha: float = 0.3

    @classmethod
    def from_args(cls, args) -> "SearchSettings":
        """The settings of a run's config (keys num_simulations, tree_num, c_puct, mcts_discount,
        mcts_rollout_depth, mcts_root_noise_fraction, mcts_root_dirichlet_alpha)."""
        return cls(args.num_simulations, args.tree_num, args.c_puct, args.mcts_discount, args.mcts_rollout_depth,
                   args.mcts_root_noise_fraction, args.mcts_root_dirichlet_alpha)

    def adds_root_noise(self, explore: bool) -> bool:
        """Whether a search that ``explore``s (training episodes; never test ones) mixes noise into its roots."""
        return explore and self.root_noise_fraction > 0


class SearchModels(Protocol):
    """The networks the search calls (numpy in, numpy out, no gradients). Models with a true
    ``sparse_inputs`` attribute get full-view observations as ``GridOnes`` (``GridCore.grid_ones``).
    Models that read the simulator itself (exact rollouts, ``planners.search_probe``) define
    ``evaluate_states(sim, rows, slot) -> (logits, value)`` instead of reading observations."""

    def prior_value(self, obs: np.ndarray, time: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Planning agents' ``obs [L,C,H,W]``, ``time [L]``, ``slot [L]`` -> ``logits [L,A]``, ``value [L]``."""


@dataclass
class SearchResult:
    """Root statistics of one search: ``q [M,A]``, each tree's root Q on its normalised scale
    averaged over the trees that visited the action (0, the bottom of that scale, for actions no
    tree visited), ``visits [M,T,A]``, ``avail [M,A]``, and the root noise the search drew."""

    q: np.ndarray
    visits: np.ndarray
    avail: np.ndarray
    root_noise: np.ndarray | None = None   # the Dirichlet noise mixed into the root priors [M,T,A], if any

    def visit_policy(self) -> np.ndarray:
        """The root visit distribution summed over trees ``[M,A]`` (AlphaZero's policy target)."""
        total = self.visits.sum(axis=1)
        return total / total.sum(axis=1, keepdims=True)

    def greedy(self) -> np.ndarray:
        """Best action per row ``[M]``: highest averaged Q, ties to the most visited."""
        visits = self.visits.sum(axis=1)
        best = np.where(self.avail, self.q, -np.inf)
        tied = best >= best.max(axis=1, keepdims=True)
        return np.where(tied, visits, -1.0).argmax(axis=1)


def normalise(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``(values - lower) / (upper - lower)`` where ``upper > lower``, else 0 (bounds broadcast)."""
    span = upper - lower
    spread = span > 0
    return np.where(spread, (values - lower) / np.where(spread, span, 1.0), 0.0)


def root_q(visits: np.ndarray, value_sums: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Root Q ``[M,A]``: each tree's Q ``[M,T,A]`` normalised with its bounds ``[M,T]``, averaged
    over the trees that visited each action. An action no tree visited gets 0, the lowest value
    its trees have seen: the search did not judge it worth one simulation. (Filling it with the
    lowest *visited* Q instead ties every action whenever a sharp prior sends all simulations down
    one edge, and the softmax acting then plays uniformly at random.)"""
    seen = visits > 0
    raw = np.divide(value_sums, visits, out=np.zeros_like(value_sums), where=seen)
    q_tree = np.where(seen, normalise(raw, lower[..., None], upper[..., None]), 0.0)
    count = seen.sum(axis=1)
    return np.divide(q_tree.sum(axis=1), count, out=np.zeros(count.shape), where=count > 0)


class BatchedMCTS:
    """PUCT search over many trees at once on copies of a batched grid core (see module doc)."""

    def __init__(self, core: GridCore, models: SearchModels, settings: SearchSettings) -> None:
        if settings.num_simulations < 1 or settings.tree_num < 1:
            raise ValueError(f"MCTS needs num_simulations >= 1 and tree_num >= 1, got {settings}")
        self.models, self.settings = models, settings
        self.sim = type(core)(1, **core.args)
        self.n_agents, self.n_actions = core.n_agents, core.n_actions
        self.sparse = bool(getattr(models, "sparse_inputs", False)) and core.obs_radius is None
        self.rollout = LeafRollout(core, settings.rollout_depth, settings.discount) if settings.rollout_depth else None

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
        self.node_value_sum = np.zeros(size)     # v_net(s) + the returns backed up through s
        self.tie_break = np.zeros((size, a))     # seeded draws that break ties after the prior
        self.lower = np.full(trees, np.inf)      # lowest / highest value seen per tree
        self.upper = np.full(trees, -np.inf)
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
               generator: torch.Generator, explore: bool = False) -> SearchResult:
        """Plan for agents ``slot_idx[m]`` of envs ``env_idx[m]`` of ``core`` (alive, env not done).

        ``goals`` says what the co-players pursue in the ``tree_num`` trees of every row (e.g.
        ``DiscreteTreeGoals(models.coplayer_logits, goals [M, tree_num, N])``). Co-player actions
        are sampled with ``generator``. An ``explore`` search (training episodes) mixes Dirichlet noise
        into each tree's root prior (``root_noise_fraction``; none at fraction 0).
        """
        settings = self.settings
        m, t = len(env_idx), settings.tree_num
        trees = m * t
        self._allocate(trees)
        self.focal = np.repeat(np.asarray(slot_idx, dtype=np.int64), t)
        self.goals = goals
        roots = np.arange(trees) * (settings.num_simulations + 1)
        self.sim.set_state(core.get_state(np.repeat(np.asarray(env_idx, dtype=np.int64), t)))
        root_noise = None
        if settings.adds_root_noise(explore):      # drawn first: the stream the co-players' goals draw from follows
            avail = self.sim.avail_actions()[np.arange(m) * t, np.asarray(slot_idx, dtype=np.int64)]
            root_noise = draw_root_noise(avail, t, settings.root_dirichlet_alpha, generator)
        goals.begin(m, t, self.sim, self.focal, settings.num_simulations + 1, generator)
        snapshot = self.sim.get_state()
        self.static = {name: getattr(snapshot, name) for name in _STATIC}
        self.tables = snapshot.tables
        self._store(roots, snapshot)
        self._evaluate(np.arange(trees), roots, generator)
        if root_noise is not None:
            prior = self.c_prior[roots] / settings.c_puct
            self.c_prior[roots] = settings.c_puct * mix_root_noise(prior, root_noise.reshape(trees, -1),
                                                                   settings.root_noise_fraction)
        for _ in range(settings.num_simulations):
            goals.begin_simulation(generator)
            self._simulate(generator)
        root_visits = self.visits[roots].reshape(m, t, -1)
        root_sums = self.value_sums.reshape(-1, self.n_actions)[roots].reshape(m, t, -1)
        avail = self.node_avail[roots[::t], slot_idx]
        q = root_q(root_visits, root_sums, self.lower.reshape(m, t), self.upper.reshape(m, t))
        return SearchResult(q, root_visits, avail, root_noise)

    def _simulate(self, generator: torch.Generator) -> None:
        length, trees, parent, action = self._select()
        value = np.zeros(len(length))
        if trees.size:
            value[trees] = self._expand(trees, parent, action, generator)
        self._backup(length, value)

    def _puct_choice(self, nodes: np.ndarray, trees: np.ndarray) -> np.ndarray:
        """PUCT action of nodes ``nodes`` of trees ``trees`` (see module doc): normalised Q, the
        node's first-play value on unvisited edges; ties by prior, then by the seeded draw."""
        stats = np.take(self.stats, nodes, axis=0)  # faster than self.stats[nodes] here
        q, c_prior, visits = stats[:, 0], stats[:, 1], stats[:, 2]
        node_visits = np.take(self.node_visits, nodes)
        first_play = np.take(self.node_value_sum, nodes) / (1.0 + node_visits)
        value = np.where(visits > 0, q, first_play[:, None])
        score = c_prior * np.sqrt(np.maximum(node_visits, 1.0))[:, None]
        score /= visits + 1.0
        score += normalise(value, self.lower[trees, None], self.upper[trees, None])
        score[q == -np.inf] = -np.inf               # unavailable
        tied = score >= score.max(axis=1, keepdims=True)
        prior = np.where(tied, c_prior, -np.inf)
        tied &= prior >= prior.max(axis=1, keepdims=True)
        return np.where(tied, np.take(self.tie_break, nodes, axis=0), -1.0).argmax(axis=1)

    def _select(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Descend every tree by its PUCT choices; returns every tree's path length and,
        for the trees whose path ends at an unexpanded edge, the tree, parent node id and action."""
        n_trees, a = len(self.n_nodes), self.n_actions
        rows = np.arange(n_trees)
        node = rows * (self.settings.num_simulations + 1)
        length = np.zeros(n_trees, dtype=np.int64)
        end_edge = np.full(n_trees, -1, dtype=np.int64)   # the unexpanded edge a tree's path ends at
        depth = 0
        while rows.size:
            edge = node * a + self._puct_choice(node, rows)
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
        actions = sample_from_cdf(cdf, generator)
        actions[index, focal] = action
        rewards, _, _ = self.sim.step(actions, check=False)  # sampled from the available actions
        new = trees * (self.settings.num_simulations + 1) + self.n_nodes[trees]
        self.n_nodes[trees] += 1
        edge = parent * self.n_actions + action
        self.child[edge] = new
        self.edge_reward[edge] = rewards[index, focal]
        self._store(new, self.sim.get_state(copy=False))
        self.goals.expanded(self.sim, trees, parent, new, actions, generator)
        return self._evaluate(trees, new, generator)

    def _evaluate(self, trees: np.ndarray, nodes: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """Fill priors, availability, terminal flags, value estimates and tie-break draws of new
        nodes ``nodes`` (of trees ``trees``) from the scratch core's rows; return their values."""
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
        if hasattr(self.models, "evaluate_states"):
            logits, value[live] = self.models.evaluate_states(sim, live, focal)
        else:
            logits, value[live] = self._prior_value(sim, live, focal)
            if self.rollout is not None:
                leaf_trees = trees[live]
                value[live] = self.rollout.values(
                    sim, live, focal, logits, self._prior_value,
                    lambda core, rows: self.goals.coplayer_logits(core, rows, leaf_trees[rows], nodes[rows]), generator)
        self.c_prior[nodes] = self.settings.c_puct * masked_softmax(logits, own[live])
        self.tie_break[nodes] = torch.rand((len(nodes), self.n_actions), generator=generator,
                                           dtype=torch.float64).numpy()
        self.node_value_sum[nodes] = value[live]
        self._widen(trees[live], value[live])
        return value

    def _prior_value(self, sim: GridCore, rows: np.ndarray, focal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The prior/value network at rows ``rows`` of ``sim`` for slots ``focal``."""
        obs = sim.grid_ones(rows, focal) if self.sparse else sim.observations(rows, focal)
        return self.models.prior_value(obs, sim.time()[rows], focal)

    def _widen(self, trees: np.ndarray, values: np.ndarray) -> None:
        """Extend the bounds of trees ``trees`` (distinct) to the values ``values``."""
        self.lower[trees] = np.minimum(self.lower[trees], values)
        self.upper[trees] = np.maximum(self.upper[trees], values)

    def _coplayer_cdf(self, trees: np.ndarray, nodes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The co-players' action distributions (as CDFs ``[L,N,A]``) at nodes ``nodes`` of trees
        ``trees``, whose states are the scratch core's rows ``rows``: π_ω under the trees' goals for
        the co-players still in the game, STAY for the planning agent and those who left."""
        sim, index = self.sim, np.arange(len(rows))
        moving = sim.alive[rows]
        moving[index, self.focal[trees]] = False
        return coplayer_cdf(self.goals.coplayer_logits(sim, rows, trees, nodes), moving, self.node_avail[nodes])

    def _backup(self, length: np.ndarray, value: np.ndarray) -> None:
        """Add the discounted returns along every path to the edges, the nodes' value estimates and
        the trees' bounds."""
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
        q = sums / visits
        self.value_sums[edges] = sums
        self.flat_stats[n_at] = visits
        self.flat_stats[q_at] = q
        self.node_visits[nodes] += 1.0
        self.node_value_sum[nodes] += returns[on_path]
        q_paths = np.full(on_path.shape, np.nan)
        q_paths[on_path] = q
        self.lower = np.minimum(self.lower, np.nanmin(q_paths, axis=0))  # every path has an edge
        self.upper = np.maximum(self.upper, np.nanmax(q_paths, axis=0))
