"""CNN actor-critic: 3 conv layers over the grid, then time/id/extra inputs, FC, two heads."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class PolicyInputSpec:
    """Shapes of one agent's policy input: grid obs, number of id slots, extra vector width."""

    obs_shape: tuple[int, int, int]
    n_ids: int
    extra_dim: int = 0


def padded_layers(size: int, n_layers: int) -> int:
    """How many leading 3x3 convs keep their size (padding 1) so that the rest can shrink the
    map without padding and still end at >= 2x2: unpadded convs cost far less on small grids
    (8x8: 6.5x fewer multiply-adds) and every output still sees the whole grid through the FC."""
    for padded in range(n_layers + 1):
        if size - 2 * (n_layers - padded) >= 2:
            return padded
    return n_layers


class CNNActorCritic(nn.Module):
    """Actor-critic over a channels-first grid observation (docs/methods.md: PPO).

    Three 3x3 conv layers (``conv_channels``, 16/32/32 by default; see ``padded_layers``),
    then time, agent id and extra inputs concatenated, two FC layers, actor and critic heads.

    Inputs: ``obs [M,C,H,W]``, ``time [M,1]``, ``agent_id [M,n_ids]`` (one-hot slot),
    optional ``extra [M,extra_dim]``. Returns unmasked ``logits [M,A]`` and ``value [M]``.
    """

    def __init__(self, spec: PolicyInputSpec, n_actions: int, hidden_dim: int = 64,
                 conv_channels: tuple[int, ...] = (16, 32, 32)) -> None:
        super().__init__()
        self.spec = spec
        channels, height, width = spec.obs_shape
        layers: list[nn.Module] = []
        in_ch = channels
        padded = padded_layers(min(height, width), len(conv_channels))
        for index, out_ch in enumerate(conv_channels):
            pad = 1 if index < padded else 0
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=pad), nn.ReLU()]
            in_ch = out_ch
            height, width = height + 2 * pad - 2, width + 2 * pad - 2
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        flat = in_ch * height * width + 1 + spec.n_ids + spec.extra_dim
        self.body = nn.Sequential(nn.Linear(flat, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, hidden_dim), nn.ReLU())
        self.actor = nn.Linear(hidden_dim, n_actions)
        self.critic = nn.Linear(hidden_dim, 1)
        nn.init.orthogonal_(self.actor.weight, gain=0.01)
        nn.init.zeros_(self.actor.bias)

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The conv trunk alone: ``obs [M,C,H,W]`` -> flat features ``[M,F]`` (the costly part)."""
        return self.trunk(obs)

    def head(self, features: torch.Tensor, time: torch.Tensor, agent_id: torch.Tensor,
             extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Everything after the trunk: ``features [M,F]`` (from ``features``), ``time [M,1]``,
        ``agent_id [M,n_ids]``, ``extra [M,extra_dim]`` -> ``logits [M,A], value [M]``.

        Lets callers that evaluate one observation under many extra inputs (the OMG_AM subgoal
        selector) run the trunk once per observation and only this FC head per candidate."""
        parts = [features, time, agent_id]
        if self.spec.extra_dim:
            if extra is None:
                raise ValueError(f"this policy takes an extra input of width {self.spec.extra_dim}; pass extra")
            parts.append(extra)
        hidden = self.body(torch.cat(parts, dim=-1))
        return self.actor(hidden), self.critic(hidden).squeeze(-1)

    def values_over_extras(self, features: torch.Tensor, time: torch.Tensor, agent_id: torch.Tensor,
                           extras: torch.Tensor) -> torch.Tensor:
        """Values ``[M,K]`` of each row under K alternative extra inputs ``extras [M,K,extra_dim]``
        (equal to ``head``'s value up to float rounding). The first FC layer is linear in its
        concatenated input, so its trunk/time/id part is computed once per row and only the
        extra part, the second FC layer and the critic once per alternative."""
        first = self.body[0]
        base_dim = first.in_features - self.spec.extra_dim
        w_base, w_extra = first.weight.split([base_dim, self.spec.extra_dim], dim=1)
        base = F.linear(torch.cat([features, time, agent_id], dim=-1), w_base, first.bias)
        hidden = self.body[1:](base[:, None] + F.linear(extras, w_extra))
        return self.critic(hidden).squeeze(-1)

    def forward(self, obs: torch.Tensor, time: torch.Tensor, agent_id: torch.Tensor,
                extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.features(obs), time, agent_id, extra)
