"""Markov Snowdrift (docs/design.md: Markov Snowdrift): batched core and PettingZoo entry point."""
from __future__ import annotations

from typing import Any

import numpy as np

from envs.grid_core import MOVE_NAMES, GridCore

REMOVE = 5


class SnowdriftCore(GridCore):
    """Batched Markov Snowdrift: removing a drift gives every agent drift_reward and costs
    its removers drift_cost split equally; nobody leaves; ends when no drift remains."""

    name = "snowdrift"
    action_names = MOVE_NAMES + ("REMOVE",)
    prey_chars = {"D": 0}
    prey_kind_names = ("drift",)
    interact_kind = np.array([-1, -1, -1, -1, -1, 0], dtype=np.int64)
    defaults = dict(n_agents=4, grid_size=8, n_stags=1, n_hares=4, n_drifts=6, n_walls=0, episode_limit=50,
                    stag_reward=10.0, hare_reward=1.0, drift_reward=6.0, drift_cost=4.0,
                    obs_radius=None, layout=None, seed=None)

    def _prey_counts(self) -> list[int]:
        return [self.args["n_drifts"]]

    def _resolve(self, prey_row: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        captured = (counts >= 1).reshape(self.prey_alive.shape)
        removed = captured.sum(axis=1, keepdims=True)
        cost = np.where(prey_row >= 0, self.args["drift_cost"] / np.maximum(counts[prey_row], 1), 0.0)
        rewards = self.args["drift_reward"] * removed - cost
        return rewards.astype(np.float32), captured, np.zeros(prey_row.shape, dtype=bool)

def parallel_env(**kwargs: Any):
    """PettingZoo ParallelEnv of Markov Snowdrift; keyword arguments are env_args."""
    from envs.pettingzoo_env import GridParallelEnv
    return GridParallelEnv(SnowdriftCore, **kwargs)
