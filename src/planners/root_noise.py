"""Dirichlet noise at the search roots (AlphaZero's exploration in self-play; docs/methods.md: HOP).

A root's prior becomes ``(1 - fraction) * P + fraction * eta`` with ``eta ~ Dir(alpha)`` over the
planning agent's available actions, drawn afresh for every tree of every decision. It keeps a sharp
prior from sending every simulation down one path, so the search still tries what the prior has
stopped proposing. It is drawn in training episodes only (``test_mode`` searches are not perturbed).
"""
from __future__ import annotations

import numpy as np
import torch


def draw_root_noise(avail: np.ndarray, trees: int, alpha: float, generator: torch.Generator) -> np.ndarray:
    """``eta [M,trees,A]`` ~ Dir(alpha) over the available actions ``avail bool [M,A]`` (0 elsewhere),
    drawn from a numpy generator seeded by one draw of ``generator`` (so a run's seed fixes it)."""
    if alpha <= 0:
        raise ValueError(f"draw_root_noise: alpha must be > 0, got {alpha}")
    rng = np.random.default_rng(int(torch.randint(2 ** 62, (1,), generator=generator)))
    mask = np.repeat(np.asarray(avail, dtype=bool)[:, None], trees, axis=1)
    eta = rng.gamma(alpha, size=mask.shape) * mask
    total = eta.sum(axis=-1, keepdims=True)
    uniform = mask / np.maximum(mask.sum(axis=-1, keepdims=True), 1)
    return np.where(total > 0, eta / np.where(total > 0, total, 1.0), uniform)   # all-zero draws: uniform


def mix_root_noise(prior: np.ndarray, eta: np.ndarray, fraction: float) -> np.ndarray:
    """``(1 - fraction) * prior + fraction * eta`` (both over the same actions)."""
    return (1.0 - fraction) * prior + fraction * eta
