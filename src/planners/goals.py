"""What a co-player's "goal" is, per env (docs/methods.md: HOP): ``GOALS[args.coplayer_goals](args)``.

A goal spec says how many goals there are and which goal a co-player reached at a step,
from the step's actions, the agents' cells (flat ``row * W + col``) and whether each agent
left the game after the step. Hindsight labels of a trajectory are "the next goal reached".

- ``discrete``: stag hunt: the kind of prey captured (0 stag, 1 hare: a capture is an
  interaction action after which the agent left); snowdrift: the cell of the drift removed.
- ``none``: a single goal reached at every step (the action-level model of ``direct_om``).

Co-players that reach no (further) goal still inform π_ω: the steps after a co-player's last goal
reached (all its steps if it reached none, e.g. a stag hunter who lost the race) are labelled in
hindsight with the goal it PURSUED there: the goal its moves brought it closer to most often
(shortest-path distance to the goal's targets at each step, ``pursued_goals``); steps of a
co-player that never approached any goal carry no label.
"""
from __future__ import annotations

import numpy as np
import torch
from munch import Munch

from envs.rule_based import distance_field
from envs.snowdrift import REMOVE
from envs.stag_hunt import STAG
from utils.errors import ConfigError


class GoalSpec:
    """Number of goals and the goal reached at each step (-1 where none)."""

    n_goals: int

    def goal_names(self) -> list[str]:
        """One short name per goal, for metric keys."""
        return [str(g) for g in range(self.n_goals)]

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        """``actions``, ``cells`` (long), ``left`` (bool), all ``[..., N]`` -> goal index or -1, long ``[..., N]``."""
        raise NotImplementedError

    def targets(self, state: torch.Tensor, n_agents: int) -> torch.Tensor | None:
        """Cells of each goal's targets ``[..., G, H, W]`` (bool) from global states ``[..., C, H, W]``;
        None where goals have no place (then no pursuit labels)."""
        return None


class PreyKindGoals(GoalSpec):
    """Stag hunt: goal = kind of the prey captured (STAG -> 0, HARE -> 1)."""

    n_goals = 2

    def goal_names(self) -> list[str]:
        return ["stag", "hare"]

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        kind = actions - STAG
        return torch.where(left & (kind >= 0) & (kind < self.n_goals), kind, torch.full_like(kind, -1))

    def targets(self, state: torch.Tensor, n_agents: int) -> torch.Tensor:
        return state[..., n_agents + 1:n_agents + 1 + self.n_goals, :, :] > 0       # stag, hare channels


class DriftCellGoals(GoalSpec):
    """Snowdrift: goal = the cell of the drift removed (REMOVE always removes the drift it is on)."""

    def __init__(self, height: int, width: int) -> None:
        self.n_goals = height * width

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        return torch.where(actions == REMOVE, cells, torch.full_like(cells, -1))

    def targets(self, state: torch.Tensor, n_agents: int) -> torch.Tensor:
        drifts = state[..., n_agents + 1, :, :] > 0                                  # [..., H, W]
        height, width = drifts.shape[-2:]
        cells = torch.eye(height * width, dtype=torch.bool, device=state.device).view(-1, height, width)
        return drifts[..., None, :, :] & cells


class NoGoals(GoalSpec):
    """One goal, reached at every step: beliefs are trivial and the model is action-level."""

    n_goals = 1

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(actions)


def _discrete(args: Munch) -> GoalSpec:
    _, height, width = args.state_shape
    specs = {"stag_hunt": lambda: PreyKindGoals(), "snowdrift": lambda: DriftCellGoals(height, width)}
    if args.env not in specs:
        raise ConfigError(f"coplayer_goals 'discrete' has no goal definition for env '{args.env}'; "
                          f"envs with one: {', '.join(specs)}")
    return specs[args.env]()


GOALS = {
    "discrete": _discrete,
    "none": lambda args: NoGoals(),
}


def make_goal_spec(args: Munch) -> GoalSpec:
    """The goal spec named by ``args.coplayer_goals`` for ``args.env``."""
    if args.coplayer_goals not in GOALS:
        raise ConfigError(f"unknown coplayer_goals '{args.coplayer_goals}'. Available: {', '.join(GOALS)}")
    return GOALS[args.coplayer_goals](args)


def agent_cells(state: torch.Tensor, n_agents: int) -> torch.Tensor:
    """Flat cell of every agent from global state grids ``[..., C, H, W]`` (agents' channels first): long ``[..., N]``."""
    return state[..., :n_agents, :, :].flatten(-2).argmax(dim=-1)


def pursued_goals(spec: GoalSpec, state: torch.Tensor, cells: torch.Tensor, steps: torch.Tensor,
                  n_agents: int) -> torch.Tensor:
    """The goal each agent pursued over its ``steps [B,T-1,N]`` (bool) of episodes with global states
    ``state [B,T,C,H,W]`` and cells ``cells [B,T,N]``: the goal whose targets its moves brought it
    closer to (shortest path around walls, measured before the step) on the most steps; -1 where it
    never got closer to any. Returns long ``[B,N]``."""
    batch, length = steps.shape[:2]
    targets = spec.targets(state[:, :-1], n_agents)
    if targets is None:
        return torch.full((batch, n_agents), -1, dtype=torch.long, device=cells.device)
    n_goals, height, width = targets.shape[2:]
    walls = (state[:, :-1, n_agents] > 0)[:, :, None].expand(-1, -1, n_goals, -1, -1)
    field = distance_field(walls.reshape(-1, height, width).cpu().numpy(), targets.reshape(-1, height, width).cpu().numpy())
    field = torch.from_numpy(field.astype(np.int64)).to(cells.device).view(batch, length, n_goals, -1)  # padded, flat
    padded = (cells // width + 1) * (width + 2) + cells % width + 1                          # [B,T,N]
    before = field.gather(-1, padded[:, :-1, None, :].expand(-1, -1, n_goals, -1))          # [B,T-1,G,N]
    after = field.gather(-1, padded[:, 1:, None, :].expand(-1, -1, n_goals, -1))
    closer = ((after < before) & steps[:, :, None, :]).sum(dim=1)                           # [B,G,N]
    best = closer.max(dim=1)
    return torch.where(best.values > 0, best.indices, torch.full_like(best.indices, -1))


def hindsight_goals(reached: torch.Tensor) -> torch.Tensor:
    """The next goal reached at or after each step: ``reached [B,T,N]`` -> ``[B,T,N]`` (-1 when none follows)."""
    labels = reached.clone()
    for t in range(labels.shape[1] - 2, -1, -1):
        labels[:, t] = torch.where(labels[:, t] >= 0, labels[:, t], labels[:, t + 1])
    return labels

