"""A simple, unbatched PUCT search: one tree at a time, dict children, one env copy per step.

It follows the same rules as ``planners.mcts.BatchedMCTS`` (see its module doc) and is kept
as the reference the batched search is tested against (and benchmarked against).
"""
from __future__ import annotations

import math

import numpy as np

from envs.grid_core import STAY


class Node:
    """One tree node: simulator snapshot, focal agent's options and per-action statistics."""

    def __init__(self, state, avail, terminal, prior, coplayer_probs) -> None:
        self.state, self.avail, self.terminal = state, avail, terminal
        self.prior, self.coplayer_probs = prior, coplayer_probs
        n_actions = len(avail)
        self.visits = [0.0] * n_actions
        self.value_sums = [0.0] * n_actions
        self.rewards = [0.0] * n_actions
        self.children: dict[int, Node] = {}


def _softmax(logits, avail):
    z = np.where(avail, np.asarray(logits, dtype=np.float64), -np.inf)
    z = np.exp(z - z.max())
    return z / z.sum()


def _node(sim, focal: int, goals, models) -> tuple[Node, float]:
    avail = sim.avail_actions()[0]
    terminal = bool(sim.done[0] or not sim.alive[0, focal])
    n_agents, n_actions = avail.shape
    node = Node(sim.get_state(), avail[focal].copy(), terminal, np.zeros(n_actions), None)
    if terminal:
        return node, 0.0
    logits, value = models.prior_value(sim.observations()[:, focal], sim.time(), np.array([focal]))
    node.prior = _softmax(logits[0], avail[focal])
    co_logits = models.coplayer_logits(sim.state_observation(), sim.time())[0]
    probs = np.zeros((n_agents, n_actions))
    for j in range(n_agents):
        if j != focal and sim.alive[0, j]:
            probs[j] = _softmax(co_logits[j, goals[j]], avail[j])
        else:
            probs[j, STAY] = 1.0
    node.coplayer_probs = probs
    return node, float(value[0])


def _choose(node: Node, c_puct: float) -> int:
    total = math.sqrt(max(sum(node.visits), 1.0))
    best, best_score = -1, -math.inf
    for a, ok in enumerate(node.avail):
        if not ok:
            continue
        n = node.visits[a]
        q = node.value_sums[a] / n if n > 0 else 0.0
        score = q + c_puct * node.prior[a] * total / (1.0 + n)
        if score > best_score:
            best, best_score = a, score
    return best


def search_tree(core, env: int, focal: int, goals, models, settings, rng: np.random.Generator) -> Node:
    """Run ``settings.num_simulations`` simulations of one tree; returns its root."""
    sim = type(core)(1, **core.args)
    sim.set_state(core.get_state([env]))
    root, _ = _node(sim, focal, goals, models)
    for _ in range(settings.num_simulations):
        node, path, value = root, [], 0.0
        while True:
            a = _choose(node, settings.c_puct)
            path.append((node, a))
            if a not in node.children:
                sim.set_state(node.state)
                actions = np.array([[rng.choice(len(p), p=p) for p in node.coplayer_probs]])
                actions[0, focal] = a
                rewards, _, _ = sim.step(actions)
                node.rewards[a] = float(rewards[0, focal])
                node.children[a], value = _node(sim, focal, goals, models)
                break
            node = node.children[a]
            if node.terminal:
                break
        for parent, a in reversed(path):
            value = parent.rewards[a] + settings.discount * value
            parent.value_sums[a] += value
            parent.visits[a] += 1
    return root


def reference_search(core, env_idx, slot_idx, goals, models, settings, rng: np.random.Generator):
    """Root visit counts ``[M,T,A]`` and value sums of every tree, one tree after another."""
    m, t = len(env_idx), settings.tree_num
    visits = np.zeros((m, t, core.n_actions))
    sums = np.zeros_like(visits)
    for row in range(m):
        for tree in range(t):
            root = search_tree(core, int(env_idx[row]), int(slot_idx[row]), goals[row, tree], models, settings, rng)
            visits[row, tree], sums[row, tree] = root.visits, root.value_sums
    return visits, sums
