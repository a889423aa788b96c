"""Rule-based co-players (docs/design.md: Rule-based co-players), computed for all envs of a batch and all given slots at once.

A policy's ``act(env, slots)`` takes a ``CoreEnv`` (or a batched core itself) and agent slots
and returns int64 ``[B, len(slots)]`` actions, always available ones: agents that left and
agents of finished envs get STAY. Ties (several equally good actions) are broken uniformly
with the env's seeded per-env generators ``core.rng`` (so results are deterministic given the
env seed, and env b of a batch acts as it would alone, whichever envs are finished or held),
or with the generator given to the policy.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from envs.grid_core import MOVE_DELTAS, STAY
from envs.snowdrift import REMOVE
from envs.stag_hunt import HARE, STAG

N_MOVES = 4  # UP, DOWN, LEFT, RIGHT


def distance_field(walls: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Shortest 4-neighbour path length around walls from every cell to the nearest target.

    ``walls``, ``targets``: bool ``[B, H, W]``. Returns int16 ``[B, H + 2, W + 2]``: the grid
    with a one-cell border, so that cell (r, c) is at [r + 1, c + 1]; walls, the border and
    cells that reach no target hold ``H * W``. Breadth-first waves over all envs at once.
    """
    batch, height, width = walls.shape
    far, stride = height * width, width + 2
    unreached = np.zeros((batch, height + 2, width + 2), dtype=bool)
    unreached[:, 1:-1, 1:-1] = ~walls & ~targets
    frontier = np.zeros_like(unreached)
    frontier[:, 1:-1, 1:-1] = targets & ~walls
    unreached, frontier = unreached.reshape(batch, -1), frontier.reshape(batch, -1)
    dist = np.zeros(unreached.shape, dtype=np.int16)
    grown = np.empty_like(frontier)
    for _ in range(far):
        grown[:, 0] = False
        grown[:, 1:] = frontier[:, :-1]
        grown[:, :-1] |= frontier[:, 1:]
        grown[:, stride:] |= frontier[:, :-stride]
        grown[:, :-stride] |= frontier[:, stride:]
        np.logical_and(grown, unreached, out=frontier)
        if not frontier.any():
            break
        dist += unreached  # every cell not reached before this wave is one step further
        unreached ^= frontier
    blocked = np.ones((batch, height + 2, width + 2), dtype=bool)
    blocked[:, 1:-1, 1:-1] = walls
    np.putmask(dist, unreached | blocked.reshape(batch, -1), far)
    return dist.reshape(batch, height + 2, width + 2)


def _pick(mask: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Uniformly chosen allowed action per row of ``mask`` [B,S,A] (via ``noise``), STAY where none is allowed."""
    choice = np.argmax(np.where(mask, noise, -1.0), axis=-1)
    return np.where(mask.any(axis=-1), choice, STAY).astype(np.int64)


class RuleBasedPolicy:
    """Base class: ``act(env, slots) -> int64[B, len(slots)]``; subclasses implement ``_allowed``."""

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng

    def act(self, env: Any, slots: np.ndarray) -> np.ndarray:
        """Actions of the agents in ``slots`` for every env of ``env`` (a ``CoreEnv`` or a core)."""
        core = getattr(env, "core", env)
        slots = np.asarray(slots, dtype=np.int64).reshape(-1)
        avail = core.avail_actions()[:, slots]
        if self.rng is not None:
            noise = self.rng.random(avail.shape)
        else:                   # only envs still playing draw: a finished or held env's stream stays put
            noise = np.zeros(avail.shape)
            generators = core.rng
            for b in np.flatnonzero(~core.done):
                noise[b] = generators[b].random(avail.shape[1:])
        return _pick(self._allowed(core, slots, avail), noise)

    def _allowed(self, core: Any, slots: np.ndarray, avail: np.ndarray) -> np.ndarray:
        """The actions the rule allows, bool [B, S, A] (a subset of ``avail``)."""
        raise NotImplementedError


class RandomAvailable(RuleBasedPolicy):
    """``RAND``: uniform over the available actions."""

    def _allowed(self, core: Any, slots: np.ndarray, avail: np.ndarray) -> np.ndarray:
        return avail


class RandomMover(RuleBasedPolicy):
    """``FIX`` (snowdrift): uniform over the available moves (UP/DOWN/LEFT/RIGHT/STAY); never REMOVE."""

    def _allowed(self, core: Any, slots: np.ndarray, avail: np.ndarray) -> np.ndarray:
        allowed = avail.copy()
        allowed[..., STAY + 1:] = False
        return allowed


class NearestTarget(RuleBasedPolicy):
    """Walks a shortest path (around walls) to the nearest live prey of ``target_kind`` and
    plays ``capture_action`` on it; STAY when no such prey is reachable."""

    target_kind: int
    capture_action: int

    def _allowed(self, core: Any, slots: np.ndarray, avail: np.ndarray) -> np.ndarray:
        batch = core.walls.shape[0]
        targets = np.zeros(core.walls.shape, dtype=bool)
        b, k = np.nonzero(core.prey_alive & (core.prey_kind == self.target_kind))
        targets[b, core.prey_pos[b, k, 0], core.prey_pos[b, k, 1]] = True
        padded = distance_field(core.walls, targets)
        far = core.walls.shape[1] * core.walls.shape[2]
        pos = core.agent_pos[:, slots] + 1  # [B, S, 2] in padded coordinates
        rows = np.arange(batch)[:, None]
        here = padded[rows, pos[..., 0], pos[..., 1]]  # [B, S]
        nxt = pos[:, :, None, :] + MOVE_DELTAS[:N_MOVES]  # [B, S, 4, 2]
        there = padded[rows[..., None], nxt[..., 0], nxt[..., 1]]  # [B, S, 4]
        allowed = np.zeros_like(avail)
        allowed[..., :N_MOVES] = avail[..., :N_MOVES] & (there == here[..., None] - 1) & (here < far)[..., None]
        allowed[..., self.capture_action] = avail[..., self.capture_action] & (here == 0)
        return allowed


class NearestStag(NearestTarget):
    """``NS`` (stag hunt): to the nearest live stag, STAG when on it."""

    target_kind, capture_action = 0, STAG


class NearestHare(NearestTarget):
    """``NH`` (stag hunt): to the nearest live hare, HARE when on it."""

    target_kind, capture_action = 1, HARE


class NearestDrift(NearestTarget):
    """``ND`` (snowdrift): to the nearest drift, REMOVE when on it."""

    target_kind, capture_action = 0, REMOVE


REGISTRY: dict[str, dict[str, type[RuleBasedPolicy]]] = {
    "stag_hunt": {"NS": NearestStag, "NH": NearestHare, "RAND": RandomAvailable},
    "snowdrift": {"ND": NearestDrift, "FIX": RandomMover, "RAND": RandomAvailable},
}


def make(env_name: str, role: str, rng: np.random.Generator | None = None) -> RuleBasedPolicy:
    """The rule-based policy ``role`` of env ``env_name``; ties use ``rng`` if given, else ``core.rng``."""
    if env_name not in REGISTRY:
        raise ValueError(f"no rule-based co-players for env {env_name!r}; envs with co-players: "
                         f"{', '.join(sorted(REGISTRY))}")
    roles = REGISTRY[env_name]
    if role not in roles:
        raise ValueError(f"unknown rule-based role {role!r} for env {env_name!r}; available roles: "
                         f"{', '.join(roles)}")
    return roles[role](rng)


def play_rules(core: Any, seeds: np.ndarray, roles: list[str], discount: float = 1.0,
               chosen: tuple[int, Callable[[Any, np.ndarray], np.ndarray]] | None = None) -> np.ndarray:
    """Every agent's (discounted) return of one episode per seed with rule ``roles[slot]`` in each slot.

    ``core``: a batched core with ``len(seeds)`` envs, reset here with ``seeds``. ``chosen`` =
    ``(slot, choose)`` plays that slot by ``choose(core, rows)`` instead (its ``roles`` entry is
    ignored), which returns the actions of the rows where the slot still plays; it is called after
    the rules, which act in slot order, so the env's random streams are drawn in a fixed order.
    Returns float ``[len(seeds), len(roles)]``; rewards count from the first step (weight 1) while
    the agent plays."""
    if len(roles) != core.n_agents:
        raise ValueError(f"play_rules: {len(roles)} roles for {core.n_agents} agents")
    chosen_slot, choose = chosen if chosen is not None else (-1, None)
    core.reset(seeds)
    policies = {slot: make(core.name, role) for slot, role in enumerate(roles) if slot != chosen_slot}
    returns, scale = np.zeros((len(seeds), len(roles))), 1.0
    while not core.done.all():
        playing = core.alive & ~core.done[:, None]
        actions = np.full((len(seeds), core.n_agents), STAY, dtype=np.int64)
        for slot, policy in policies.items():
            actions[:, slot] = policy.act(core, np.array([slot]))[:, 0]
        if choose is not None:
            rows = np.flatnonzero(playing[:, chosen_slot])
            if rows.size:
                actions[rows, chosen_slot] = choose(core, rows)
        rewards, _, _ = core.step(actions)
        returns += np.where(playing, scale * rewards, 0.0)
        scale *= discount
    return returns
