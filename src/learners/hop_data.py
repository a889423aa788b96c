"""Rows of the shared buffer that HOP's learners train on (docs/methods.md: HOP), selected with ``components.masks``."""
from __future__ import annotations

import torch

from components import masks


def sample_episodes(buffer, batch_size: int):
    """Up to ``batch_size`` episodes sampled uniformly from the buffer, cut to the longest filled one
    (None when nothing usable is there)."""
    if buffer.episodes_in_buffer == 0:
        return None
    batch = buffer.sample(min(batch_size, buffer.episodes_in_buffer))
    length = batch.max_t_filled()
    return batch[:, :length] if length >= 2 else None


def coplayers_of_role(role: torch.Tensor, role_index: int) -> torch.Tensor:
    """``[B,N]`` bool: slots that are a co-player of at least one agent of the learned role in their env."""
    focal = role == role_index
    return (focal.sum(dim=1, keepdim=True) - focal.long()) > 0


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, discount: float) -> torch.Tensor:
    """Return-to-go ``[B,T-1,N]`` of each agent over its own steps (``mask`` from ``masks.agent_mask``)."""
    returns = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        running = (rewards[:, t] + discount * running) * mask[:, t]
        returns[:, t] = running
    return returns


def agent_rows(batch) -> torch.Tensor:
    """``[B,T-1,N]`` agent mask (alive, filled, not after a terminal) as bool."""
    return masks.agent_mask(batch)[..., 0] > 0
