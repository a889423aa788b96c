"""Generic adapter: B instances of any PettingZoo ``ParallelEnv`` as one ``BatchedMultiAgentEnv``."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from gymnasium import spaces

from envs.actions import check_action_array
from envs.multiagentenv import BatchedMultiAgentEnv

EnvFn = Callable[[], Any]


def _inner_obs_space(space: spaces.Space) -> spaces.Space:
    """The observation part of an agent's space (the ``observation`` entry of a Dict space)."""
    if isinstance(space, spaces.Dict) and "observation" in space.spaces:
        return space.spaces["observation"]
    return space


class PettingZooAdapter(BatchedMultiAgentEnv):
    """Steps B PettingZoo ``ParallelEnv`` instances in lockstep behind the batched env API.

    ``env_fns`` is one factory (called ``batch_size`` times) or a list of B factories.
    Pass ``seeds`` to ``reset`` to make the B envs differ when a factory fixes the seed.
    Agents keep fixed slots, in the order of ``possible_agents``. An agent that has left
    (terminated) has alive=0, a zero observation, zero reward and only ``noop_action``
    available. Observations are the ``observation`` entry of a dict observation (else the
    observation itself), kept as arrays of the space's shape, or flattened with
    ``gymnasium.spaces.flatten`` when ``flatten_obs`` (required for non-Box spaces).
    Available actions come from an ``action_mask`` in the observation dict, else all of an
    agent's ``Discrete(n)`` actions. The state is ``env.state()`` when the env declares a
    ``state_space``, else the concatenated (flattened) observations of all agents.
    ``episode_limit`` defaults to the env's ``episode_limit`` or ``max_cycles`` attribute.
    An env is done when it has no agents left or after ``episode_limit`` steps; it is
    truncated when the step that ended it truncated an agent (or hit ``episode_limit``),
    terminated otherwise.
    """

    def __init__(
        self,
        env_fns: EnvFn | Sequence[EnvFn],
        batch_size: int | None = None,
        noop_action: int = 0,
        flatten_obs: bool = False,
        episode_limit: int | None = None,
    ) -> None:
        fns = list(env_fns) if isinstance(env_fns, Sequence) else [env_fns] * (batch_size or 1)
        if not fns or batch_size not in (None, len(fns)):
            raise ValueError(f"PettingZooAdapter: batch_size={batch_size} for {len(fns)} env factories; "
                             "need at least one env and one factory per env")
        self.envs = [fn() for fn in fns]
        self.batch_size = len(self.envs)
        env0 = self.envs[0]
        self.agent_names: list[str] = list(env0.possible_agents)
        for b, env in enumerate(self.envs):
            if list(env.possible_agents) != self.agent_names:
                raise ValueError(f"PettingZooAdapter: env {b} has possible_agents {env.possible_agents}, "
                                 f"env 0 has {self.agent_names}")
        self.n_agents = len(self.agent_names)
        self._slot = {name: i for i, name in enumerate(self.agent_names)}
        self.flatten_obs = flatten_obs
        self._setup_actions(env0, noop_action)
        self._setup_obs(env0)
        self._setup_state(env0)
        limit = episode_limit
        for attr in ("episode_limit", "max_cycles"):
            limit = getattr(env0, attr, None) if limit is None else limit
        if limit is None:
            raise ValueError("PettingZooAdapter: the env has no episode_limit or max_cycles attribute; "
                             "pass episode_limit")
        self.episode_limit = int(limit)
        self._alloc()

    def _setup_actions(self, env0: Any, noop_action: int) -> None:
        sizes = []
        for name in self.agent_names:
            space = env0.action_space(name)
            if not isinstance(space, spaces.Discrete) or int(space.start) != 0:
                raise ValueError(f"PettingZooAdapter: agent {name!r} has action space {space}; "
                                 "only Discrete(n) spaces starting at 0 are supported")
            sizes.append(int(space.n))
        self.n_actions = max(sizes)
        if not 0 <= noop_action < min(sizes):
            raise ValueError(f"PettingZooAdapter: noop_action={noop_action} is not an action of every agent "
                             f"(action counts {sizes})")
        self.noop_action = int(noop_action)
        self._action_range = np.arange(self.n_actions)[None, :] < np.asarray(sizes)[:, None]  # [N, A]

    def _setup_obs(self, env0: Any) -> None:
        self._obs_spaces = [_inner_obs_space(env0.observation_space(a)) for a in self.agent_names]
        if self.flatten_obs:
            dims = [spaces.flatdim(s) for s in self._obs_spaces]
            if len(set(dims)) != 1:
                raise ValueError(f"PettingZooAdapter: agents' flattened observation sizes differ: {dims}")
            self.obs_shape: tuple[int, ...] = (dims[0],)
            return
        shapes = {s.shape for s in self._obs_spaces}
        if not all(isinstance(s, spaces.Box) for s in self._obs_spaces) or len(shapes) != 1:
            raise ValueError("PettingZooAdapter: observations must be Box spaces of one shape for every agent "
                             f"(got {self._obs_spaces}); use flatten_obs=True")
        self.obs_shape = tuple(self._obs_spaces[0].shape)

    def _setup_state(self, env0: Any) -> None:
        state_space = getattr(env0, "state_space", None)
        self._env_state = state_space is not None and callable(getattr(env0, "state", None))
        if self._env_state:
            self.state_shape: tuple[int, ...] = tuple(state_space.shape)
        else:
            self.state_shape = (self.n_agents * int(np.prod(self.obs_shape)),)

    def _alloc(self) -> None:
        B, N, A = self.batch_size, self.n_agents, self.n_actions
        self._obs = np.zeros((B, N, *self.obs_shape), np.float32)
        self._avail = np.zeros((B, N, A), bool)
        self._alive = np.zeros((B, N), bool)
        self._state = np.zeros((B, *self.state_shape), np.float32)
        self._t = np.zeros(B, np.int64)
        self._done = np.ones(B, bool)
        self._live: list[list[str]] = [[] for _ in range(B)]

    def _write_agent(self, b: int, i: int, obs: Any) -> None:
        """Store agent i's observation and action mask in env b."""
        inner = obs["observation"] if isinstance(obs, dict) and "observation" in obs else obs
        if self.flatten_obs:
            self._obs[b, i] = spaces.flatten(self._obs_spaces[i], inner)
        else:
            self._obs[b, i] = np.asarray(inner, np.float32).reshape(self.obs_shape)
        avail = self._action_range[i].copy()
        if isinstance(obs, dict) and "action_mask" in obs:
            mask = np.asarray(obs["action_mask"]).astype(bool).reshape(-1)
            avail[: mask.size] &= mask
        self._avail[b, i] = avail

    def _only_noop(self, b: int, i: int) -> None:
        self._avail[b, i] = False
        self._avail[b, i, self.noop_action] = True

    def _refresh_state(self, b: int) -> None:
        if self._env_state:
            self._state[b] = np.asarray(self.envs[b].state(), np.float32).reshape(self.state_shape)
        else:
            self._state[b] = self._obs[b].reshape(-1)

    def reset(self, seeds: Sequence[int] | np.ndarray | None = None) -> None:
        if seeds is not None and len(seeds) != self.batch_size:
            raise ValueError(f"PettingZooAdapter.reset: got {len(seeds)} seeds for {self.batch_size} envs")
        self._obs[:] = 0.0
        for b, env in enumerate(self.envs):
            obs, _ = env.reset(seed=None if seeds is None else int(seeds[b]))
            self._live[b] = list(env.agents)
            for i, name in enumerate(self.agent_names):
                self._alive[b, i] = name in obs and name in self._live[b]
                if self._alive[b, i]:
                    self._write_agent(b, i, obs[name])
                else:
                    self._only_noop(b, i)
            self._refresh_state(b)
        self._t[:] = 0
        self._done[:] = False

    def _check_actions(self, b: int, actions: np.ndarray) -> None:
        for i in range(self.n_agents):
            a = int(actions[b, i])
            if not (0 <= a < self.n_actions and self._avail[b, i, a]):
                allowed = np.flatnonzero(self._avail[b, i]).tolist()
                raise ValueError(f"PettingZooAdapter: env {b}, agent {self.agent_names[i]} (slot {i}), "
                                 f"step {int(self._t[b])}: action {a} is not available (available: {allowed})")

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        actions = check_action_array(actions, (self.batch_size, self.n_agents), self.n_actions, self._t,
                                     "PettingZooAdapter.step", self.agent_names)
        rewards = np.zeros((self.batch_size, self.n_agents), np.float32)
        terminated = np.zeros(self.batch_size, bool)
        truncated = np.zeros(self.batch_size, bool)
        for b, env in enumerate(self.envs):
            if self._done[b]:
                continue
            self._check_actions(b, actions)
            step_actions = {name: int(actions[b, self._slot[name]]) for name in self._live[b]}
            obs, rew, term, trunc, _ = env.step(step_actions)
            self._t[b] += 1
            any_trunc = False
            for name in step_actions:
                i = self._slot[name]
                rewards[b, i] = float(rew.get(name, 0.0))
                was_truncated = bool(trunc.get(name, False))
                if term.get(name, False) or (name not in env.agents and not was_truncated):
                    self._alive[b, i] = False
                    self._obs[b, i] = 0.0
                    self._only_noop(b, i)
                else:
                    any_trunc |= was_truncated
                    if name in obs:
                        self._write_agent(b, i, obs[name])
            self._live[b] = list(env.agents)
            self._refresh_state(b)
            if not self._live[b] or self._t[b] >= self.episode_limit:
                truncated[b] = any_trunc or self._t[b] >= self.episode_limit
                terminated[b] = not truncated[b]
                self._done[b] = True
                for i in range(self.n_agents):
                    self._only_noop(b, i)
        return rewards, terminated, truncated

    def get_obs(self) -> np.ndarray:
        return self._obs.copy()

    def get_state(self) -> np.ndarray:
        return self._state.copy()

    def get_avail_actions(self) -> np.ndarray:
        return self._avail.copy()

    def get_alive(self) -> np.ndarray:
        return self._alive.copy()

    def get_time(self) -> np.ndarray:
        return (self._t / self.episode_limit).astype(np.float32)

    @property
    def done(self) -> np.ndarray:
        return self._done.copy()

    def get_env_info(self) -> dict[str, Any]:
        return {
            "n_agents": self.n_agents,
            "n_actions": self.n_actions,
            "obs_shape": self.obs_shape,
            "state_shape": self.state_shape,
            "episode_limit": self.episode_limit,
        }

    def close(self) -> None:
        for env in self.envs:
            env.close()
