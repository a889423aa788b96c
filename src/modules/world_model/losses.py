"""Losses and metrics of the world model on 0/1 grid observations."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def channel_pos_weight(target: torch.Tensor, cap: float) -> torch.Tensor:
    """Per-channel positive weight ``[C]`` = (#zeros / #ones) of ``target [M,C,H,W]``, between 1 and ``cap``
    (sparse channels such as the agents' positions would otherwise be learned as all-zero)."""
    ones = target.transpose(0, 1).flatten(1).mean(dim=1)
    return ((1 - ones) / ones.clamp_min(1e-12)).clamp(min=1.0, max=cap)


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    """BCE of grid logits ``[M,C,H,W]`` with per-channel positive weights ``[C]``, summed per grid, mean over rows."""
    loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight[:, None, None], reduction="none")
    return loss.flatten(1).sum(-1).mean()


def grid_errors(logits: torch.Tensor, target: torch.Tensor, names: tuple[str, ...], prefix: str) -> dict[str, float]:
    """Wrong cells per grid (prediction thresholded at probability 0.5), overall and per channel."""
    wrong = ((logits > 0) != (target > 0.5)).float()
    stats = {f"{prefix}obs_wrong_cells": float(wrong.flatten(1).sum(-1).mean())}
    per_channel = wrong.sum(dim=(2, 3)).mean(dim=0)
    for name, value in zip(names, per_channel.tolist()):
        stats[f"{prefix}obs_wrong_cells_{name}"] = value
    return stats
