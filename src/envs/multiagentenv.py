"""PyMARL-style batched multi-agent env API (docs/ARCHITECTURE.md) and its implementation on a batched core."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Sequence

import numpy as np


class BatchedMultiAgentEnv(ABC):
    """B independent copies of one multi-agent game, stepped together (batch-first arrays).

    Slot ``i`` is ``agent_i`` in every array. After ``reset``:

    - ``step(actions int[B, N]) -> (rewards float32[B, N], terminated bool[B], truncated bool[B])``;
      an env that is already ``done`` ignores its row (its agents have only the no-op available).
      ``terminated`` marks a true terminal step, ``truncated`` a cut at ``episode_limit``.
    - ``get_obs() -> float32[B, N, *obs_shape]``, ``get_state() -> float32[B, *state_shape]``,
      ``get_avail_actions() -> bool[B, N, n_actions]``, ``get_alive() -> bool[B, N]`` (False once
      an agent has left the episode), ``get_time() -> float32[B]`` (t / episode_limit).
    - ``done -> bool[B]``, ``batch_size``, ``get_env_info()`` with ``n_agents, n_actions,
      obs_shape, state_shape, episode_limit``.
    """

    batch_size: int

    @abstractmethod
    def reset(self, seeds: Sequence[int] | np.ndarray | None = None) -> None:
        """Start a new episode in every env; ``seeds`` (one per env) makes it reproducible."""

    @abstractmethod
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply ``actions[B, N]``; return ``(rewards[B, N], terminated[B], truncated[B])``."""

    @abstractmethod
    def get_obs(self) -> np.ndarray:
        """Per-agent observations, float32 ``[B, N, *obs_shape]``."""

    @abstractmethod
    def get_state(self) -> np.ndarray:
        """Global state, float32 ``[B, *state_shape]``."""

    @abstractmethod
    def get_avail_actions(self) -> np.ndarray:
        """Available actions, bool ``[B, N, n_actions]``."""

    @abstractmethod
    def get_alive(self) -> np.ndarray:
        """Whether each agent is still in its episode, bool ``[B, N]``."""

    @abstractmethod
    def get_time(self) -> np.ndarray:
        """Normalised time ``t / episode_limit``, float32 ``[B]``."""

    @property
    @abstractmethod
    def done(self) -> np.ndarray:
        """Whether each env's episode has ended (terminated or truncated), bool ``[B]``."""

    @abstractmethod
    def get_env_info(self) -> dict[str, Any]:
        """``{n_agents, n_actions, obs_shape, state_shape, episode_limit}``."""

    def close(self) -> None:
        """Release resources (nothing by default)."""


class CoreEnv(BatchedMultiAgentEnv):
    """The batched env API on a batched numpy core (``StagHuntCore``, ``SnowdriftCore``).

    A thin delegation layer: ``.core`` is the simulator itself (planners copy and step it
    directly), ``.env_name`` its registry name (the core's ``name``).
    """

    def __init__(self, core_cls: type, batch_size: int = 1, **env_args: Any) -> None:
        self.core = core_cls(batch_size, **env_args)
        self.env_name: str = self.core.name
        self.batch_size = self.core.batch_size
        self.n_agents = self.core.n_agents
        self.n_actions = self.core.n_actions
        self.episode_limit = self.core.episode_limit

    def reset(self, seeds: Sequence[int] | np.ndarray | None = None) -> None:
        self.core.reset(seeds)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.core.step(actions)

    def get_obs(self) -> np.ndarray:
        return self.core.observations()

    def get_state(self) -> np.ndarray:
        return self.core.state_observation()

    def get_avail_actions(self) -> np.ndarray:
        return self.core.avail_actions()

    def get_alive(self) -> np.ndarray:
        return self.core.alive.copy()

    def get_time(self) -> np.ndarray:
        return self.core.time()

    @property
    def done(self) -> np.ndarray:
        return self.core.done.copy()

    def get_env_info(self) -> dict[str, Any]:
        return {
            "n_agents": self.n_agents,
            "n_actions": self.n_actions,
            "obs_shape": tuple(self.core.obs_shape),
            "state_shape": tuple(self.core.state_shape),
            "episode_limit": self.episode_limit,
        }
