"""Hindsight subgoal selector (docs/methods.md: OMG_AM): among a co-player's next ``omg_horizon`` states, the one
whose VAE goal gives the focal critic the highest (``optimistic``) or lowest (``conservative``) value."""
from __future__ import annotations

import torch


def _best(values: torch.Tensor, valid: torch.Tensor, sign: float) -> torch.Tensor:
    scores = torch.where(valid, sign * values, torch.full_like(values, -torch.inf))
    return scores.argmax(dim=-1)


SELECTORS = {
    "optimistic": lambda values, valid: _best(values, valid, 1.0),
    "conservative": lambda values, valid: _best(values, valid, -1.0),
}


def select_subgoal(values: torch.Tensor, valid: torch.Tensor, mode: str) -> torch.Tensor:
    """Index ``[R]`` of the chosen candidate from ``values, valid [R,H]`` (each row needs a valid one)."""
    if mode not in SELECTORS:
        raise ValueError(f"unknown selector '{mode}'; available: {', '.join(SELECTORS)}")
    if not bool(valid.any(dim=-1).all()):
        raise ValueError("select_subgoal: every row needs at least one valid candidate")
    return SELECTORS[mode](values, valid)
