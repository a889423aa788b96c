"""Reconstruction losses of grid decoders: ``RECON_LOSSES[name](logits, target) -> [M]`` (summed per grid)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def mse_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error of sigmoid(logits) to the grid, summed over cells and channels."""
    return ((torch.sigmoid(logits) - target) ** 2).flatten(1).sum(-1)


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of 0/1 grids, summed over cells and channels."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(-1)


RECON_LOSSES = {
    "mse": mse_loss,
    "bce": bce_loss,
}
