"""Action distributions inside the search: masked softmax, the co-players' distribution at a
state, and sampling joint actions from per-slot distributions (one draw per slot, seeded)."""
from __future__ import annotations

import numpy as np
import torch

from envs.grid_core import STAY


def masked_softmax(logits: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Softmax over the available actions of each row (float64; unavailable actions get 0)."""
    z = np.where(avail, logits.astype(np.float64), -np.inf)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def coplayer_cdf(logits: np.ndarray, moving: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """CDFs ``[L,N,A]`` of every slot's action: softmax of ``logits [L,N,A]`` over ``avail`` for
    the slots that move (``moving [L,N]``), STAY with probability exactly 1 for the others."""
    n_actions = logits.shape[-1]
    allowed = np.where(moving[..., None], avail, np.arange(n_actions) == STAY)
    cdf = np.cumsum(masked_softmax(logits, allowed), axis=-1)
    return cdf / cdf[..., -1:]


def sample_from_cdf(cdf: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """One action per row and slot ``[L,N]`` from CDFs ``[L,N,A]`` (uniform draws from ``generator``)."""
    u = torch.rand(cdf.shape[:2], generator=generator, dtype=torch.float64).numpy()
    return (cdf <= u[..., None]).sum(axis=-1)
