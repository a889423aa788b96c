"""Per-episode results of a rollout and their summary statistics."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EpisodeResults:
    """Per-episode outcome of one rollout: returns per slot, role per slot, lengths."""

    returns: np.ndarray       # float [B,N], each agent's own return
    role_of_slot: np.ndarray  # int [B,N], index into the controller's roles
    lengths: np.ndarray       # int [B]

    @staticmethod
    def concat(results: list["EpisodeResults"]) -> "EpisodeResults":
        return EpisodeResults(*(np.concatenate([getattr(r, f) for r in results]) for f in
                                ("returns", "role_of_slot", "lengths")))


def summarise(results: EpisodeResults, role_names: list[str], prefix: str = "") -> dict[str, float]:
    """Mean returns (all agents summed, per role, per slot) and episode length."""
    stats = {
        f"{prefix}return_mean": float(results.returns.sum(axis=1).mean()),
        f"{prefix}return_std": float(results.returns.sum(axis=1).std()),
        f"{prefix}ep_length_mean": float(results.lengths.mean()),
        f"{prefix}episodes": float(len(results.lengths)),
    }
    for index, name in enumerate(role_names):
        mask = results.role_of_slot == index
        if mask.any():
            stats[f"{prefix}return_role_{name}_mean"] = float(results.returns[mask].mean())
    for slot in range(results.returns.shape[1]):
        stats[f"{prefix}return_slot{slot}_mean"] = float(results.returns[:, slot].mean())
    return stats


def payoff_profiles(returns: np.ndarray, decimals: int = 2) -> list[tuple[tuple[float, ...], int]]:
    """How often each payoff profile occurs: every episode's returns [B,N] sorted high to low and
    rounded to ``decimals``, counted; most frequent first, ties by the higher summed return."""
    profiles: dict[tuple[float, ...], int] = {}
    for row in np.round(-np.sort(-returns, axis=1), decimals):
        key = tuple(float(x) + 0.0 for x in row)    # + 0.0: no -0.0 keys
        profiles[key] = profiles.get(key, 0) + 1
    return sorted(profiles.items(), key=lambda item: (-item[1], -sum(item[0])))
