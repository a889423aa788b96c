"""Ego-first agent order: for focal slot i, slot (i + k) % N is its k-th agent (k = 0 is itself).

The same cyclic order as the agent channels of the observation, so co-player k of a focal
agent is the agent drawn in its observation's channel k.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ego_slots(slot: torch.Tensor, n_agents: int) -> torch.Tensor:
    """``slot [M]`` -> ``[M, N]`` global slots in ego-first order (column 0 is ``slot``)."""
    return (slot[:, None] + torch.arange(n_agents, device=slot.device)) % n_agents


def coplayer_slots(slot: torch.Tensor, n_agents: int) -> torch.Tensor:
    """``slot [M]`` -> ``[M, N-1]`` the co-players' global slots in ego-first order."""
    return ego_slots(slot, n_agents)[:, 1:]


def onehot_or_zero(actions: torch.Tensor, n_actions: int) -> torch.Tensor:
    """Int actions ``[...]`` -> float one-hot ``[..., A]``; a negative action (none yet) gives zeros."""
    valid = actions >= 0
    return F.one_hot(actions.clamp(min=0), n_actions).float() * valid.unsqueeze(-1)


def previous_actions_onehot(actions_onehot: torch.Tensor) -> torch.Tensor:
    """Batch field ``actions_onehot [B,T,N,A]`` shifted one step: row t holds the actions of t-1 (zeros at t = 0)."""
    prev = torch.zeros_like(actions_onehot)
    prev[:, 1:] = actions_onehot[:, :-1]
    return prev
