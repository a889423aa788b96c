"""Models the world-model planner can plan with: the learned latent model and the true simulator.

Both give, per row, ``observe(state) -> (obs [M,C,H,W], time [M,1], prev [M,N], avail [M,N,A])``
(everything ego-first; ``prev`` the joint action that led here, -1 at an episode's start),
``step(state, joint [M,N]) -> (next state, reward [M], continue probability [M])``,
``value(state) -> [M]`` and ``expand(state, index)`` (rows selected / repeated).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from envs.grid_core import CoreState, GridCore
from modules.opponent_models.ego import ego_slots
from modules.world_model.grid_rules import GridRules, all_avail_from_obs


@dataclass
class LatentState:
    latent: torch.Tensor              # [M,D]
    time: torch.Tensor                # [M,1]
    prev: torch.Tensor                # [M,N] int64
    obs: torch.Tensor | None = None   # [M,C,H,W] real at the root, decoded (0/1 at probability 0.5) when first observed
    avail: torch.Tensor | None = None  # [M,N,A] bool, with obs
    features: torch.Tensor | None = None      # [B,...] the model's state_features of the rows this state was expanded from
    feature_rows: torch.Tensor | None = None  # [M] each row's row in features


class LatentModel:
    """The learned world model. After a step the observation is the decoded one (binarised, as in
    ``learners.imagination``) and every agent's
    availability is the game's rule applied to it (``grid_rules.avail_from_obs``); without a
    decoder the root's observation and availability are kept. Decoding happens only when a state is
    observed (``h_step`` rollouts), never for the leaves of ``one_step``. Continue = 1 - P(done), and
    0 for a step that reaches the episode limit: the game's horizon is known (the simulator's
    continuation holds it too), and a leaf value that does not read the time would otherwise count
    a future the episode does not have.
    Steps and values run ``chunk_rows`` rows at a time (``wm_chunk_rows``; row by row the same
    function), so that a chunk's intermediate maps stay in the CPU's cache: the planner steps
    thousands of branches per call. ``expand`` computes the model's ``state_features`` once per
    state before repeating it, and the steps of the expanded rows reuse them."""

    def __init__(self, model: torch.nn.Module, rules: GridRules, episode_limit: int, chunk_rows: int = 4096) -> None:
        self.model, self.rules, self.chunk_rows = model, rules, chunk_rows
        self.episode_limit, self.dt = episode_limit, 1.0 / episode_limit

    def root(self, obs: torch.Tensor, time: torch.Tensor, prev: torch.Tensor, avail: torch.Tensor) -> LatentState:
        with torch.no_grad():
            return LatentState(self.model.encode(obs), time, prev, obs, avail)

    def expand(self, state: LatentState, index: torch.Tensor) -> LatentState:
        fields = (getattr(state, f) for f in ("latent", "time", "prev", "obs", "avail"))
        expanded = LatentState(*(None if value is None else value[index] for value in fields))
        if state.features is None:
            with torch.no_grad():
                state.features = torch.cat([self.model.state_features(latent)
                                            for latent in state.latent.split(self.chunk_rows)])
            state.feature_rows = torch.arange(len(state.latent), device=state.latent.device)
        expanded.features, expanded.feature_rows = state.features, state.feature_rows[index]
        return expanded

    def step(self, state: LatentState, joint: torch.Tensor) -> tuple[LatentState, torch.Tensor, torch.Tensor]:
        chunks = [slice(start, start + self.chunk_rows) for start in range(0, len(joint), self.chunk_rows)]
        with torch.no_grad():
            parts = [self.model.step(state.latent[rows], joint[rows], state.features,
                                     None if state.features is None else state.feature_rows[rows])
                     for rows in chunks]
            latent, reward, done_logit = (torch.cat(outputs) for outputs in zip(*parts))
        following = LatentState(latent, state.time + self.dt, joint)
        if not self.model.decodes:
            following.obs, following.avail = state.obs, state.avail
        running = (following.time[:, 0] * self.episode_limit).round() < self.episode_limit   # time is t / limit
        return following, reward, (1 - torch.sigmoid(done_logit)) * running

    def value(self, state: LatentState) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([self.model.value(latent) for latent in state.latent.split(self.chunk_rows)])

    def observe(self, state: LatentState):
        if state.obs is None:
            with torch.no_grad():
                state.obs = (self.model.decode(state.latent) > 0).float()
            state.avail = all_avail_from_obs(state.obs, self.rules)
        return state.obs, state.time, state.prev, state.avail


@dataclass
class SimState:
    snapshot: CoreState
    slot: np.ndarray       # [M] the planning agent's global slot
    prev: torch.Tensor     # [M,N] int64 ego-first


class SimulatorModel:
    """The true simulator (a scratch copy of the batched core): exact steps, rewards and
    availability; continue = the agent is still in a running episode. ``value_fn(obs, time)``
    gives V at the leaves (zero when None)."""

    def __init__(self, core: GridCore, value_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
                 ) -> None:
        self.scratch = type(core)(1, **core.args)
        self.value_fn = value_fn

    def root(self, core: GridCore, env_idx: np.ndarray, slot_idx: np.ndarray, prev: torch.Tensor) -> SimState:
        return SimState(core.get_state(env_idx), np.asarray(slot_idx), prev)

    def _load(self, state: SimState) -> tuple[np.ndarray, np.ndarray]:
        self.scratch.set_state(state.snapshot)
        ego = ego_slots(torch.from_numpy(state.slot), self.scratch.n_agents).numpy()
        return np.arange(len(state.slot)), ego

    def expand(self, state: SimState, index: torch.Tensor) -> SimState:
        self.scratch.set_state(state.snapshot)
        idx = index.numpy()
        return SimState(self.scratch.get_state(idx), state.slot[idx], state.prev[index])

    def step(self, state: SimState, joint: torch.Tensor) -> tuple[SimState, torch.Tensor, torch.Tensor]:
        rows, ego = self._load(state)
        actions = np.zeros((len(rows), self.scratch.n_agents), dtype=np.int64)
        actions[rows[:, None], ego] = joint.numpy()
        rewards, _, _ = self.scratch.step(actions)
        cont = self.scratch.alive[rows, state.slot] & ~self.scratch.done
        return (SimState(self.scratch.get_state(), state.slot, joint), torch.from_numpy(rewards[rows, state.slot]),
                torch.from_numpy(cont.astype(np.float32)))

    def observe(self, state: SimState):
        rows, ego = self._load(state)
        obs = torch.from_numpy(self.scratch.observations(slots=state.slot))
        time = torch.from_numpy(self.scratch.time())[:, None]
        avail = torch.from_numpy(self.scratch.avail_actions()[rows[:, None], ego])
        return obs, time, state.prev, avail

    def value(self, state: SimState) -> torch.Tensor:
        if self.value_fn is None:
            return torch.zeros(len(state.slot))
        obs, time, _, _ = self.observe(state)
        return self.value_fn(obs, time)
