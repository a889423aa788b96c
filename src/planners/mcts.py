"""Batched PUCT search (SPEC §6.4): every tree of every planning agent of every env advances together.

Node statistics live in preallocated arrays ``[R, X, A]`` (R trees, X = num_simulations + 1
nodes per tree, A actions): visit counts ``N``, value sums ``W``, priors ``P``, edge rewards,
child indices (-1 = not expanded). Each expanded node's simulator state is kept in a pooled
snapshot (array copies of the core's ``CoreState`` fields, one row per node).

One simulation step, for all R trees at once:
1. selection: PUCT ``Q + c_puct * P * sqrt(max(sum N, 1)) / (1 + N)`` over the node's available
   actions (first maximum on ties; Q = W / N, 0 for unvisited edges), down to an edge that was
   never expanded or into a terminal node (a Python loop over depth, vectorised over trees);
2. expansion: the parents' snapshots are restored into one scratch core, the co-players'
   actions are sampled from the co-player probabilities cached at the parent, and one batched
   ``core.step`` makes every new child;
3. evaluation: ONE prior/value network call for all new (non-terminal) nodes and ONE
   co-player-model call on their global states (every co-player, every goal at once; the
   probabilities under each tree's sampled goals are cached for the node's later expansions);
4. backup of the discounted return ``r + discount * G`` along every path.

A node is terminal for the planning agent when its env is done or the agent has left (it got
its capture reward on the edge into the node); terminal nodes are worth 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from envs.grid_core import STAY, CoreState, GridCore

_FIELDS = tuple(f for f in CoreState.__dataclass_fields__ if f != "rng_states")


@dataclass(frozen=True)
class SearchSettings:
    """Search budget and constants: ``tree_num`` trees per decision, ``num_simulations`` each."""

    num_simulations: int
    tree_num: int
    c_puct: float
    discount: float


class SearchModels(Protocol):
    """The networks the search calls (numpy in, numpy out, no gradients)."""

    def prior_value(self, obs: np.ndarray, time: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Planning agents' ``obs [L,C,H,W]``, ``time [L]``, ``slot [L]`` -> ``logits [L,A]``, ``value [L]``."""

    def coplayer_logits(self, state: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Global ``state [L,C,H,W]``, ``time [L]`` -> every slot's action logits under every goal ``[L,N,G,A]``."""


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


def puct_scores(n: np.ndarray, w: np.ndarray, p: np.ndarray, avail: np.ndarray, c_puct: float) -> np.ndarray:
    """PUCT score of every action of rows of nodes ``[k,A]``; unavailable actions get -inf."""
    q = np.divide(w, n, out=np.zeros_like(w), where=n > 0)
    total = np.sqrt(np.maximum(n.sum(axis=-1, keepdims=True), 1.0))
    return np.where(avail, q + c_puct * p * total / (1.0 + n), -np.inf)


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

    # ------------------------------------------------------------------------------ storage
    def _allocate(self, trees: int) -> None:
        x, a, n = self.settings.num_simulations + 1, self.n_actions, self.n_agents
        self.visits = np.zeros((trees, x, a))
        self.value_sums = np.zeros((trees, x, a))
        self.prior = np.zeros((trees, x, a))
        self.edge_reward = np.zeros((trees, x, a))
        self.child = np.full((trees, x, a), -1, dtype=np.int64)
        self.node_avail = np.zeros((trees, x, a), dtype=bool)
        self.terminal = np.zeros((trees, x), dtype=bool)
        self.coplayer_probs = np.zeros((trees, x, n, a))
        self.n_nodes = np.ones(trees, dtype=np.int64)
        self.path_nodes = np.zeros((trees, x), dtype=np.int64)
        self.path_actions = np.zeros((trees, x), dtype=np.int64)
        self.pool: dict[str, np.ndarray] = {}
        self.pool_rng = np.empty(trees * x, dtype=object)

    def _store(self, flat: np.ndarray, state: CoreState) -> None:
        """Write snapshot rows into the node pool at flat indices ``tree * X + node``."""
        size = self.visits.shape[0] * self.visits.shape[1]
        for name in _FIELDS:
            value = getattr(state, name)
            if name not in self.pool:
                self.pool[name] = np.zeros((size, *value.shape[1:]), dtype=value.dtype)
            self.pool[name][flat] = value
        self.pool_rng[flat] = state.rng_states

    def _gather(self, flat: np.ndarray) -> CoreState:
        return CoreState(**{name: self.pool[name][flat] for name in _FIELDS}, rng_states=self.pool_rng[flat].tolist())

    # ------------------------------------------------------------------------------ search
    def search(self, core: GridCore, env_idx: np.ndarray, slot_idx: np.ndarray, goals: np.ndarray,
               generator: torch.Generator) -> SearchResult:
        """Plan for agents ``slot_idx[m]`` of envs ``env_idx[m]`` of ``core`` (alive, env not done).

        ``goals [M, tree_num, N]`` are the co-players' goals of every tree (the planning
        agent's own entry is ignored). Co-player actions are sampled with ``generator``.
        """
        settings = self.settings
        m, t = len(env_idx), settings.tree_num
        if goals.shape != (m, t, self.n_agents):
            raise ValueError(f"goals must have shape {(m, t, self.n_agents)}, got {goals.shape}")
        trees = m * t
        self._allocate(trees)
        self.focal = np.repeat(np.asarray(slot_idx, dtype=np.int64), t)
        self.goals = goals.reshape(trees, self.n_agents)
        x = settings.num_simulations + 1
        everything = np.arange(trees)
        self.sim.set_state(core.get_state(np.repeat(np.asarray(env_idx, dtype=np.int64), t)))
        self._store(everything * x, self.sim.get_state())
        self._evaluate(everything, np.zeros(trees, dtype=np.int64))
        for _ in range(settings.num_simulations):
            self._simulate(generator)
        root_visits = self.visits[:, 0].reshape(m, t, -1)
        root_sums = self.value_sums[:, 0].reshape(m, t, -1)
        avail = self.node_avail[::t, 0]
        return SearchResult(root_q(root_visits, root_sums, avail), root_visits, avail)

    def _simulate(self, generator: torch.Generator) -> None:
        length, expand, parent, action = self._select()
        value = np.zeros(len(length))
        rows = np.flatnonzero(expand)
        if rows.size:
            value[rows] = self._expand(rows, parent[rows], action[rows], generator)
        self._backup(length, value)

    def _select(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Descend every tree; returns path lengths, whether the path ends at an unexpanded edge,
        and that edge (parent node, action)."""
        trees = self.visits.shape[0]
        node = np.zeros(trees, dtype=np.int64)
        length = np.zeros(trees, dtype=np.int64)
        expand = np.zeros(trees, dtype=bool)
        action = np.zeros(trees, dtype=np.int64)
        rows = np.arange(trees)
        depth = 0
        while rows.size:
            here = node[rows]
            scores = puct_scores(self.visits[rows, here], self.value_sums[rows, here], self.prior[rows, here],
                                 self.node_avail[rows, here], self.settings.c_puct)
            chosen = scores.argmax(axis=1)
            self.path_nodes[rows, depth] = here
            self.path_actions[rows, depth] = chosen
            length[rows] += 1
            nxt = self.child[rows, here, chosen]
            new = nxt < 0
            expand[rows[new]] = True
            action[rows[new]] = chosen[new]
            go = ~new & ~self.terminal[rows, np.maximum(nxt, 0)]
            node[rows[go]] = nxt[go]
            rows = rows[go]
            depth += 1
        return length, expand, node, action

    def _expand(self, rows: np.ndarray, parent: np.ndarray, action: np.ndarray,
                generator: torch.Generator) -> np.ndarray:
        """Step the parents' snapshots with (planned action, sampled co-player actions); returns
        the new nodes' values."""
        x = self.visits.shape[1]
        self.sim.set_state(self._gather(rows * x + parent))
        probs = self.coplayer_probs[rows, parent]                            # [L,N,A]
        cum = np.cumsum(probs, axis=-1)
        cum /= cum[..., -1:]
        u = torch.rand(probs.shape[:2], generator=generator, dtype=torch.float64).numpy()
        actions = (cum <= u[..., None]).sum(axis=-1)
        actions[np.arange(len(rows)), self.focal[rows]] = action
        rewards, _, _ = self.sim.step(actions)
        new = self.n_nodes[rows]
        self.n_nodes[rows] += 1
        self.child[rows, parent, action] = new
        self.edge_reward[rows, parent, action] = rewards[np.arange(len(rows)), self.focal[rows]]
        self._store(rows * x + new, self.sim.get_state())
        return self._evaluate(rows, new)

    def _evaluate(self, rows: np.ndarray, node: np.ndarray) -> np.ndarray:
        """Fill priors, availability, terminal flags and co-player probabilities of new nodes from
        the scratch core's current state (row l is tree ``rows[l]``); return their values."""
        sim, n_rows = self.sim, len(rows)
        index = np.arange(n_rows)
        focal = self.focal[rows]
        obs = sim.observations()
        avail = sim.avail_actions()
        time = sim.time()
        terminal = sim.done | ~sim.alive[index, focal]
        self.node_avail[rows, node] = avail[index, focal]
        self.terminal[rows, node] = terminal
        value = np.zeros(n_rows)
        live = np.flatnonzero(~terminal)
        if live.size == 0:
            return value
        logits, value[live] = self.models.prior_value(obs[live, focal[live]], time[live], focal[live])
        self.prior[rows[live], node[live]] = masked_softmax(logits, avail[live, focal[live]])
        moving = sim.alive[live].copy()
        moving[np.arange(live.size), focal[live]] = False
        co_logits = self.models.coplayer_logits(sim.state_observation()[live], time[live])   # [l,N,G,A]
        chosen = co_logits[np.arange(live.size)[:, None], np.arange(self.n_agents), self.goals[rows[live]]]
        probs = np.zeros((n_rows, self.n_agents, self.n_actions))
        probs[..., STAY] = 1.0
        probs[live] = np.where(moving[..., None], masked_softmax(chosen, avail[live]), probs[live])
        self.coplayer_probs[rows, node] = probs
        return value

    def _backup(self, length: np.ndarray, value: np.ndarray) -> None:
        ret = value.copy()
        for depth in range(int(length.max()) - 1, -1, -1):
            rows = np.flatnonzero(length > depth)
            node, act = self.path_nodes[rows, depth], self.path_actions[rows, depth]
            ret[rows] = self.edge_reward[rows, node, act] + self.settings.discount * ret[rows]
            self.value_sums[rows, node, act] += ret[rows]
            self.visits[rows, node, act] += 1
