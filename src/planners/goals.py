"""What a co-player's "goal" is, per env (docs/methods.md: HOP): ``GOALS[args.coplayer_goals](args)``.

A goal spec says how many goals there are and which goal a co-player reached at a step,
from the step's actions, the agents' cells (flat ``row * W + col``) and whether each agent
left the game after the step. Hindsight labels of a trajectory are "the next goal reached".

- ``discrete``: stag hunt: the kind of prey captured (0 stag, 1 hare: a capture is an
  interaction action after which the agent left); snowdrift: the cell of the drift removed.
- ``none``: a single goal reached at every step (the action-level model of ``direct_om``).
"""
from __future__ import annotations

import torch
from munch import Munch

from envs.snowdrift import REMOVE
from envs.stag_hunt import STAG
from utils.errors import ConfigError


class GoalSpec:
    """Number of goals and the goal reached at each step (-1 where none)."""

    n_goals: int

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        """``actions``, ``cells`` (long), ``left`` (bool), all ``[..., N]`` -> goal index or -1, long ``[..., N]``."""
        raise NotImplementedError


class PreyKindGoals(GoalSpec):
    """Stag hunt: goal = kind of the prey captured (STAG -> 0, HARE -> 1)."""

    n_goals = 2

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        kind = actions - STAG
        return torch.where(left & (kind >= 0) & (kind < self.n_goals), kind, torch.full_like(kind, -1))


class DriftCellGoals(GoalSpec):
    """Snowdrift: goal = the cell of the drift removed (REMOVE always removes the drift it is on)."""

    def __init__(self, height: int, width: int) -> None:
        self.n_goals = height * width

    def reached(self, actions: torch.Tensor, cells: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        return torch.where(actions == REMOVE, cells, torch.full_like(cells, -1))


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


def hindsight_goals(reached: torch.Tensor) -> torch.Tensor:
    """The next goal reached at or after each step: ``reached [B,T,N]`` -> ``[B,T,N]`` (-1 when none follows)."""
    labels = reached.clone()
    for t in range(labels.shape[1] - 2, -1, -1):
        labels[:, t] = torch.where(labels[:, t] >= 0, labels[:, t], labels[:, t + 1])
    return labels

