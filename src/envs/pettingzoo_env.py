"""PettingZoo ``ParallelEnv`` over a batched grid core with one env (docs/design.md: Environments, face 2)."""
from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.grid_core import STAY
from envs.render import render_rgb


class GridParallelEnv(ParallelEnv):
    """A grid game (``StagHuntCore``, ``SnowdriftCore``) as a PettingZoo ``ParallelEnv``.

    Agents are ``agent_0`` .. ``agent_{n-1}``. Each observation is a dict
    ``{"observation": float32 [C,H,W], "action_mask": int8 [n_actions], "time": float32 [1]}``.
    An agent that leaves the game reports terminated=True on that step and is removed from
    ``agents``; reaching ``episode_limit`` reports truncated=True for the agents still in.
    ``render_mode="rgb_array"`` makes ``render()`` return an RGB frame; ``state()`` is the
    global grid. Keyword arguments other than ``render_mode`` are ``env_args``.
    """

    def __init__(self, core_cls: type, render_mode: str | None = None, **env_args: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"GridParallelEnv: render_mode={render_mode!r}; supported: None, 'rgb_array'")
        self.core = core_cls(1, **env_args)
        self.render_mode = render_mode
        self.metadata = {"name": self.core.name, "render_modes": ["rgb_array"], "is_parallelizable": True}
        self.episode_limit: int = self.core.episode_limit
        self.possible_agents = [f"agent_{i}" for i in range(self.core.n_agents)]
        self.agents: list[str] = []
        self._slot = {name: i for i, name in enumerate(self.possible_agents)}
        n_actions = self.core.n_actions
        self.observation_spaces = {name: spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, self.core.obs_shape, np.float32),
            "action_mask": spaces.Box(0, 1, (n_actions,), np.int8),
            "time": spaces.Box(0.0, 1.0, (1,), np.float32),
        }) for name in self.possible_agents}
        self.action_spaces = {name: spaces.Discrete(n_actions) for name in self.possible_agents}
        self.state_space = spaces.Box(0.0, 1.0, self.core.state_shape, np.float32)

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def _observe(self, agents: list[str]) -> dict[str, dict[str, np.ndarray]]:
        obs = self.core.observations()[0]
        masks = self.core.avail_actions()[0].astype(np.int8)
        time = self.core.time()[:1]
        return {name: {"observation": obs[self._slot[name]], "action_mask": masks[self._slot[name]],
                       "time": time.copy()} for name in agents}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Start an episode; ``seed`` reseeds the env, None continues its random stream."""
        self.core.reset(None if seed is None else [seed])
        self.agents = self.possible_agents[:]
        return self._observe(self.agents), {name: {} for name in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        """Step with one action per agent in ``agents``; returns obs, rewards, terminations,
        truncations and infos for those agents."""
        unknown = sorted(set(actions) - set(self.agents))
        missing = [name for name in self.agents if name not in actions]
        if unknown or missing:
            raise ValueError(f"{self.core.name}: step at t={int(self.core.t[0])} needs one action for each agent in "
                             f"play {self.agents}; missing {missing}, not in play {unknown}")
        joint = np.full((1, self.core.n_agents), STAY, dtype=np.int64)
        for name, action in actions.items():
            joint[0, self._slot[name]] = int(action)
        rewards, terminated, truncated = self.core.step(joint)
        live = self.agents
        alive = self.core.alive[0]
        terminations = {name: bool(terminated[0] or not alive[self._slot[name]]) for name in live}
        truncations = {name: bool(truncated[0]) and not terminations[name] for name in live}
        self.agents = [name for name in live if not (terminations[name] or truncations[name])]
        return (self._observe(live), {name: float(rewards[0, self._slot[name]]) for name in live},
                terminations, truncations, {name: {} for name in live})

    def state(self) -> np.ndarray:
        """Global grid float32 [C', H, W], agents in global order."""
        return self.core.state_observation()[0]

    def render(self) -> np.ndarray | None:
        """An RGB frame uint8 [H*16, W*16, 3] when ``render_mode="rgb_array"``, else None (with a warning)."""
        if self.render_mode is None:
            gymnasium.logger.warn("GridParallelEnv.render() called without render_mode; pass render_mode='rgb_array'")
            return None
        return render_rgb(self.core, 0)
