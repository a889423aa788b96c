"""Spatial world model: the latent is the grid itself, the dynamics a small fully convolutional net.

The state is a logit map over the observation grid ``[M,C,H,W]`` (decoding is the identity); a
step binarises it (a cell is set above logit 0), appends the joint action as per-agent one-hot
planes drawn at each agent's own cell (``N*A`` channels: agent k's plane times one-hot(a_k)), and
predicts the next grid's logits as a learned per-channel skip of the current grid plus a
convolutional correction — the game's dynamics are local (an agent moves one cell, prey stay
put, a capture removes prey and capturers). Done reads the features gathered at the agent's own
cell and pooled over the grid (mean and max: a capture anywhere, no prey left). The reward is a
learned per-cell rule read where agents stand (``_reward``): what a cell pays depends only on
what lies on it, the agent's own action and how many agents there play each action.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from modules.opponent_models.conv import mlp

LOGIT = 8.0          # |logit| of an observed (encoded) cell
SKIP_INIT = 4.0      # initial weight of the current grid in the next grid's logits


def _pooled(features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """``[M,F,H,W]`` -> ``[M,3F]``: at the agent's own cell (``own [M,1,H,W]``, zero when absent), mean, max."""
    return torch.cat([(features * own).sum((2, 3)), features.mean((2, 3)), features.amax((2, 3))], dim=-1)


def _pointwise(convolutions: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Apply a stack of 1x1 convolutions (and ReLUs) to feature vectors ``x [..., in]`` as the linear
    maps they are (a 1x1 convolution over a handful of cells costs many times its matrix product)."""
    for layer in convolutions:
        x = F.linear(x, layer.weight.flatten(1), layer.bias) if isinstance(layer, nn.Conv2d) else layer(x)
    return x


class SpatialWorldModel(nn.Module):
    """``encode``/``step``/``value``/``decode`` as ``WorldModel`` (ego-first joint action), over grid latents."""

    exact_encoding = True     # encode is the observation itself: no reconstruction to learn
    decodes = True

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        self.obs_shape = tuple(config["obs_shape"])
        self.n_agents, self.n_actions = config["n_agents"], config["n_actions"]
        channels, width, hidden = self.obs_shape[0], config["spatial_channels"], config["hidden_dim"]
        self.stem = nn.Conv2d(channels + self.n_agents * self.n_actions, width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(config["spatial_blocks"]))
        self.grid_head = nn.Conv2d(width, channels, 1)
        self.skip = nn.Parameter(torch.full((channels,), SKIP_INIT))
        # per-cell reward rule (1x1 convolutions) over [what lies on the cell, own action, agents per action there]
        self.reward_rule = nn.Sequential(nn.Conv2d(channels + 2 * self.n_actions, hidden, 1), nn.ReLU(),
                                         nn.Conv2d(hidden, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, 2, 1))
        self.done_head = mlp(3 * width, hidden, 1)
        self.value_trunk = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU())
        self.value_head = mlp(3 * width, hidden, 1)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs [M,C,H,W]`` (0/1) -> its logit map."""
        return LOGIT * (2 * (obs > 0.5).float() - 1)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return latent

    def _action_planes(self, grid: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """``[M,N,A,H,W]``: agent k's own-cell plane times one-hot(a_k)."""
        onehot = F.one_hot(joint, self.n_actions).to(grid.dtype)                     # [M,N,A]
        return grid[:, :self.n_agents, None] * onehot[..., None, None]

    def _features(self, grid: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(torch.cat([grid, planes.flatten(1, 2)], dim=1)))
        for block in self.blocks:
            x = x + F.relu(block(x))
        return x

    def step(self, latent: torch.Tensor, joint: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``latent [M,C,H,W]``, ego-first ``joint [M,N]`` int -> next logits, reward ``[M]``, done logit ``[M]``."""
        if joint.shape[-1] != self.n_agents or joint.dtype != torch.long:
            raise ValueError(f"SpatialWorldModel.step: joint must be int64 [M,{self.n_agents}], got {joint.dtype} "
                             f"{list(joint.shape)}")
        grid = (latent > 0).to(latent.dtype)
        planes = self._action_planes(grid, joint)
        features = self._features(grid, planes)
        following = self.grid_head(features) + self.skip[:, None, None] * (2 * grid - 1)
        pooled = _pooled(features, grid[:, :1])
        return following, self._reward(grid, planes, joint), self.done_head(pooled)[..., 0]

    def _reward(self, grid: torch.Tensor, planes: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """The per-cell rule, read at the cells where agents stand (nothing happens where nobody
        acts), gives a pot at the agent's own cell divided among the agents there that play the
        agent's action (a stag's or hare's value, a removal's cost: the games share them so) and
        an amount per occupied cell that pays every agent (as snowdrift's removals). Only the
        agent's own action and the per-action counts enter, never which co-player plays what.
        (The outputs are linear: ReLU-gated sparse outputs died on the rare rewards of real data.)"""
        n = self.n_agents
        cells = grid.flatten(2)                                                         # [M,C,HW]
        agents = cells[:, :n]
        present, where = agents.amax(-1), agents.argmax(-1)                             # [M,N] each
        per_action = planes.sum(1).flatten(2).gather(2, where[:, None].expand(-1, self.n_actions, -1))  # [M,A,N]
        on_cell = cells.gather(2, where[:, None].expand(-1, cells.shape[1], -1))       # [M,C,N]
        own_action = F.one_hot(joint[:, 0], self.n_actions).to(grid.dtype)            # [M,A]
        inputs = torch.cat([on_cell, own_action[..., None].expand(-1, -1, n), per_action], dim=1)
        out = _pointwise(self.reward_rule, inputs.transpose(1, 2)).transpose(1, 2)     # [M,2,N]
        sharers = (per_action[..., 0] * own_action).sum(1).clamp(min=1.0)               # [M], the agent included
        occupants = per_action.sum(1).clamp(min=1.0)                                    # [M,N] agents on agent k's cell
        at_own = out[:, 0, 0] * present[:, 0] / sharers
        anywhere = (out[:, 1] * present / occupants).sum(1)                            # each occupied cell once
        return at_own + anywhere

    def value(self, latent: torch.Tensor) -> torch.Tensor:
        """V ``[M]`` of the (binarised) grid."""
        grid = (latent > 0).to(latent.dtype)
        return self.value_head(_pooled(self.value_trunk(grid), grid[:, :1]))[..., 0]
