"""A simple, unbatched PUCT search: one tree at a time, dict children, one env copy per step.

It follows the same rules as ``planners.mcts.BatchedMCTS`` (see its module doc: normalised Q with
per-tree bounds, first-play values from the node's value estimate, ties by prior then by a seeded
draw) and is kept as the reference the batched search is tested against (and benchmarked
against). The last tie-break draws come from numpy here and from torch there, so the two agree
exactly only on models without ties of the prior (``search_models.IntegerModels``).
"""
from __future__ import annotations

import math

import numpy as np

from envs.grid_core import STAY


class Node:
    """One tree node: simulator snapshot, focal agent's options and per-action statistics."""

    def __init__(self, state, avail, terminal, prior, coplayer_probs, value: float, tie_break) -> None:
        self.state, self.avail, self.terminal = state, avail, terminal
        self.prior, self.coplayer_probs = prior, coplayer_probs
        self.value_sum, self.tie_break = value, tie_break   # v_net + returns backed up through the node
        n_actions = len(avail)
        self.visits = [0.0] * n_actions
        self.value_sums = [0.0] * n_actions
        self.rewards = [0.0] * n_actions
        self.children: dict[int, Node] = {}


def _softmax(logits, avail):
    z = np.where(avail, np.asarray(logits, dtype=np.float64), -np.inf)
    z = np.exp(z - z.max())
    return z / z.sum()


class Bounds:
    """Lowest and highest value one tree has seen (backed-up Q values and leaf values)."""

    def __init__(self) -> None:
        self.lower, self.upper = math.inf, -math.inf

    def widen(self, value: float) -> None:
        self.lower, self.upper = min(self.lower, value), max(self.upper, value)

    def normalise(self, value: float) -> float:
        return (value - self.lower) / (self.upper - self.lower) if self.upper > self.lower else 0.0


def _node(sim, focal: int, goals, models, bounds: Bounds, rng: np.random.Generator) -> tuple[Node, float]:
    avail = sim.avail_actions()[0]
    terminal = bool(sim.done[0] or not sim.alive[0, focal])
    n_agents, n_actions = avail.shape
    if terminal:
        return Node(sim.get_state(), avail[focal].copy(), terminal, np.zeros(n_actions), None, 0.0, None), 0.0
    logits, value = models.prior_value(sim.observations()[:, focal], sim.time(), np.array([focal]))
    co_logits = models.coplayer_logits(sim.state_observation(), sim.time())[0]
    probs = np.zeros((n_agents, n_actions))
    for j in range(n_agents):
        if j != focal and sim.alive[0, j]:
            probs[j] = _softmax(co_logits[j, goals[j]], avail[j])
        else:
            probs[j, STAY] = 1.0
    bounds.widen(float(value[0]))
    node = Node(sim.get_state(), avail[focal].copy(), terminal, _softmax(logits[0], avail[focal]), probs,
                float(value[0]), rng.random(n_actions))
    return node, float(value[0])


def _choose(node: Node, c_puct: float, bounds: Bounds) -> int:
    """Highest score; ties by prior, then by the node's draw."""
    node_visits = sum(node.visits)
    total = math.sqrt(max(node_visits, 1.0))
    first_play = node.value_sum / (1.0 + node_visits)
    best, best_key = -1, (-math.inf,)
    for a, ok in enumerate(node.avail):
        if not ok:
            continue
        n = node.visits[a]
        q = node.value_sums[a] / n if n > 0 else first_play
        score = c_puct * node.prior[a] * total / (1.0 + n) + bounds.normalise(q)
        key = (score, c_puct * node.prior[a], node.tie_break[a])
        if key > best_key:
            best, best_key = a, key
    return best


def search_tree(core, env: int, focal: int, goals, models, settings, rng: np.random.Generator, root_noise=None):
    """Run ``settings.num_simulations`` simulations of one tree; returns its root and bounds.
    ``root_noise [A]``: Dirichlet noise mixed into the root prior (``settings.root_noise_fraction``)."""
    sim = type(core)(1, **core.args)
    sim.set_state(core.get_state([env]))
    bounds = Bounds()
    root, _ = _node(sim, focal, goals, models, bounds, rng)
    if root_noise is not None:
        fraction = settings.root_noise_fraction
        root.prior = (1.0 - fraction) * root.prior + fraction * np.asarray(root_noise)
    for _ in range(settings.num_simulations):
        node, path, value = root, [], 0.0
        while True:
            a = _choose(node, settings.c_puct, bounds)
            path.append((node, a))
            if a not in node.children:
                sim.set_state(node.state)
                actions = np.array([[rng.choice(len(p), p=p) for p in node.coplayer_probs]])
                actions[0, focal] = a
                rewards, _, _ = sim.step(actions)
                node.rewards[a] = float(rewards[0, focal])
                node.children[a], value = _node(sim, focal, goals, models, bounds, rng)
                break
            node = node.children[a]
            if node.terminal:
                break
        for parent, a in reversed(path):
            value = parent.rewards[a] + settings.discount * value
            parent.value_sums[a] += value
            parent.visits[a] += 1
            parent.value_sum += value
            bounds.widen(parent.value_sums[a] / parent.visits[a])
    return root, bounds


def reference_search(core, env_idx, slot_idx, goals, models, settings, rng: np.random.Generator, root_noise=None):
    """Root visit counts and value sums ``[M,T,A]`` of every tree, and the trees' bounds ``[M,T]``
    (lower, upper), one tree after another. ``root_noise [M,T,A]``: as ``BatchedMCTS.search``'s."""
    m, t = len(env_idx), settings.tree_num
    visits = np.zeros((m, t, core.n_actions))
    sums = np.zeros_like(visits)
    lower, upper = np.zeros((m, t)), np.zeros((m, t))
    for row in range(m):
        for tree in range(t):
            root, bounds = search_tree(core, int(env_idx[row]), int(slot_idx[row]), goals[row, tree], models,
                                       settings, rng, None if root_noise is None else root_noise[row, tree])
            visits[row, tree], sums[row, tree] = root.visits, root.value_sums
            lower[row, tree], upper[row, tree] = bounds.lower, bounds.upper
    return visits, sums, lower, upper
