"""The grid games' availability rule and channel layout, applied to (predicted) observations.

An observation has ``N`` agent channels (ego-first), a wall channel, then one channel per prey
kind. The rule is the env's own (``envs.grid_core``): a move is available unless it leads into
a wall or off the grid (outside the egocentric view reads as wall), STAY always, an interaction
when a prey of its kind is on the agent's cell; an agent not drawn (it left) has only STAY.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from munch import Munch

import envs
from envs.grid_core import MOVE_DELTAS, STAY


@dataclass(frozen=True)
class GridRules:
    """What the rule needs to know of the game: agents, actions and the prey kind each action needs."""

    n_agents: int
    interact_kind: tuple[int, ...]     # per action: prey kind it needs on the agent's cell, -1 for moves/STAY
    channel_names: tuple[str, ...]

    @property
    def n_actions(self) -> int:
        return len(self.interact_kind)


def grid_rules(args: Munch) -> GridRules:
    """The rules of ``args.env`` (read from a one-env core of the run's env_args)."""
    core = envs.REGISTRY[args.env](batch_size=1, **args.env_args).core
    names = ("self", *(f"agent{k}" for k in range(1, core.n_agents)), "walls", *core.prey_kind_names)
    return GridRules(core.n_agents, tuple(int(k) for k in core.interact_kind), names)


def avail_from_obs(obs: torch.Tensor, channel: int, rules: GridRules) -> torch.Tensor:
    """Available actions ``bool [M,A]`` of the agent drawn in ``channel`` of ``obs [M,C,H,W]``
    (values in [0,1]; a cell counts as set above 0.5, the agent is at its channel's argmax)."""
    rows, _, height, width = obs.shape
    plane = obs[:, channel].flatten(1)
    present = plane.max(dim=-1).values > 0.5
    cell = plane.argmax(dim=-1)
    r, c = cell // width, cell % width
    blocked = torch.ones(rows, height + 2, width + 2, dtype=torch.bool, device=obs.device)
    blocked[:, 1:-1, 1:-1] = obs[:, rules.n_agents] > 0.5
    m = torch.arange(rows, device=obs.device)
    avail = torch.zeros(rows, rules.n_actions, dtype=torch.bool, device=obs.device)
    for action, (dr, dc) in enumerate(MOVE_DELTAS[:STAY].tolist()):
        avail[:, action] = ~blocked[m, r + 1 + dr, c + 1 + dc]
    avail[:, STAY] = True
    for action, kind in enumerate(rules.interact_kind):
        if kind >= 0:
            avail[:, action] = obs[m, rules.n_agents + 1 + kind, r, c] > 0.5
    avail[~present] = torch.from_numpy(np.arange(rules.n_actions) == STAY).to(obs.device)
    return avail


def all_avail_from_obs(obs: torch.Tensor, rules: GridRules) -> torch.Tensor:
    """``bool [M,N,A]``: every agent's available actions, ego-first, read from ``obs [M,C,H,W]``."""
    return torch.stack([avail_from_obs(obs, k, rules) for k in range(rules.n_agents)], dim=1)
