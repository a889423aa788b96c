"""Markov Stag Hunt (docs/design.md: Markov Stag Hunt): batched core and PettingZoo entry point."""
from __future__ import annotations

from typing import Any

import numpy as np

from envs.grid_core import MOVE_NAMES, GridCore

STAG, HARE = 5, 6


class StagHuntCore(GridCore):
    """Batched Markov Stag Hunt: a stag needs >= 2 agents choosing STAG on its cell in the
    same step (stag_reward split among them); a hare is caught by HARE (hare_reward split);
    capturers and captured prey leave the game."""

    name = "stag_hunt"
    action_names = MOVE_NAMES + ("STAG", "HARE")
    prey_chars = {"S": 0, "H": 1}
    prey_kind_names = ("stag", "hare")
    interact_kind = np.array([-1, -1, -1, -1, -1, 0, 1], dtype=np.int64)
    defaults = dict(n_agents=4, grid_size=8, n_stags=1, n_hares=4, n_drifts=6, n_walls=5, episode_limit=35,
                    stag_reward=10.0, hare_reward=1.0, drift_reward=6.0, drift_cost=4.0,
                    obs_radius=None, layout=None, seed=None)

    def _prey_counts(self) -> list[int]:
        return [self.args["n_stags"], self.args["n_hares"]]

    def _resolve(self, prey_row: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        is_stag = self.prey_kind.ravel() == 0
        captured = self.prey_alive.ravel() & (counts >= np.where(is_stag, 2, 1))
        value = np.where(is_stag, self.args["stag_reward"], self.args["hare_reward"])
        share = np.where(captured, value / np.maximum(counts, 1), 0.0)
        leaving = (prey_row >= 0) & captured[prey_row]  # row -1 reads a real entry, masked out
        rewards = np.where(leaving, share[prey_row], 0.0).astype(np.float32)
        return rewards, captured.reshape(self.prey_alive.shape), leaving

def parallel_env(**kwargs: Any):
    """PettingZoo ParallelEnv of Markov Stag Hunt; keyword arguments are env_args."""
    from envs.pettingzoo_env import GridParallelEnv
    return GridParallelEnv(StagHuntCore, **kwargs)
