"""Goal-conditioned co-player model π_ω(a_j | s, g) for HOP (SPEC §6.4).

One pass over the global state gives the action logits of every slot j under every goal g,
``[M, N, G, A]``: the planner needs all co-players of a node at once, and the intra-OM
belief update needs the likelihood of an observed action under every goal. With one goal
(``coplayer_goals: none``) it is the action-level co-player model of ``direct_om``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from modules.agents.cnn_actor_critic import padded_layers


class CoplayerModel(nn.Module):
    """Conv trunk over the state (``conv_channels``, may be empty), time concatenated, two FC
    layers, then a head with ``n_agents * n_goals * n_actions`` logits."""

    def __init__(self, state_shape: tuple[int, int, int], n_agents: int, n_goals: int, n_actions: int,
                 hidden_dim: int = 64, conv_channels: tuple[int, ...] = (16,)) -> None:
        super().__init__()
        self.shape = (n_agents, n_goals, n_actions)
        channels, height, width = state_shape
        layers: list[nn.Module] = []
        padded = padded_layers(min(height, width), len(conv_channels))
        for index, out_ch in enumerate(conv_channels):
            pad = 1 if index < padded else 0
            layers += [nn.Conv2d(channels, out_ch, 3, padding=pad), nn.ReLU()]
            channels, height, width = out_ch, height + 2 * pad - 2, width + 2 * pad - 2
        self.trunk = nn.Sequential(*layers, nn.Flatten())
        self.body = nn.Sequential(nn.Linear(channels * height * width + 1, hidden_dim), nn.ReLU(),
                                  nn.Linear(hidden_dim, hidden_dim), nn.ReLU())
        self.head = nn.Linear(hidden_dim, n_agents * n_goals * n_actions)

    def forward(self, state: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """``state [M,C,H,W]``, ``time [M,1]`` -> unmasked logits ``[M, N, G, A]``."""
        hidden = self.body(torch.cat([self.trunk(state), time], dim=-1))
        return self.head(hidden).view(-1, *self.shape)
