"""The 3x3 conv trunk shared by the opponent models (same geometry as the policy's)."""
from __future__ import annotations

import torch.nn as nn

from modules.agents.cnn_actor_critic import padded_layers


def conv_trunk(obs_shape: tuple[int, int, int], channels: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    """A conv stack + flatten over ``[C,H,W]`` grids and the width of its flat output."""
    in_ch, height, width = obs_shape
    padded = padded_layers(min(height, width), len(channels))
    layers: list[nn.Module] = []
    for index, out_ch in enumerate(channels):
        pad = 1 if index < padded else 0
        layers += [nn.Conv2d(in_ch, out_ch, 3, padding=pad), nn.ReLU()]
        in_ch, height, width = out_ch, height + 2 * pad - 2, width + 2 * pad - 2
    return nn.Sequential(*layers, nn.Flatten()), in_ch * height * width


def mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Two-layer ReLU MLP."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))
