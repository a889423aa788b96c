"""Hand-made networks for search tests: exact (batch-independent) priors/values and scripted co-players."""
from __future__ import annotations

import numpy as np

from envs.grid_core import STAY
from envs.stag_hunt import STAG

BLOCKED = -1e9


class IntegerModels:
    """Prior/value from integer weights (sums are exact in any batch; the prior logits get a small
    distinct offset per action, so that no two actions tie on the prior unless ``flat_prior``);
    co-players follow a script: under goal 0 play STAG when possible, else ``stag_move``; under
    goal 1 always STAY."""

    def __init__(self, obs_shape, n_agents: int, n_goals: int, n_actions: int, seed: int = 0,
                 stag_move: int = STAY, flat_prior: bool = False) -> None:
        rng = np.random.default_rng(seed)
        size = int(np.prod(obs_shape))
        self.w_logits = rng.integers(-2, 3, size=(size, n_actions)).astype(np.float64) * (0 if flat_prior else 1)
        self.w_value = rng.integers(-2, 3, size=size).astype(np.float64) * (0 if flat_prior else 1)
        self.offset = 0.0 if flat_prior else np.arange(n_actions) * 1e-3
        self.shape = (n_agents, n_goals, n_actions)
        self.stag_move = stag_move

    def prior_value(self, obs, time, slot):
        flat = obs.reshape(len(obs), -1).astype(np.float64)
        return (flat @ self.w_logits) / 4.0 + self.offset, (flat @ self.w_value) / 8.0

    def coplayer_logits(self, state, time, goals=None):
        logits = np.full((len(state), *self.shape), BLOCKED)
        logits[:, :, 0, STAG] = 0.0
        logits[:, :, 0, self.stag_move] = -1000.0
        if self.stag_move != STAY:
            logits[:, :, 0, STAY] = -2000.0
        logits[:, :, 1:, STAY] = 0.0
        if goals is not None:
            return logits[np.arange(len(state))[:, None], np.arange(self.shape[0]), goals]
        return logits
