"""Co-player models for HOP's planners (docs/methods.md: HOP).

- ``CoplayerModel`` π_ω(a_j | s, g), discrete goals (HOP): one pass over the global state gives
  the action logits of every slot j under every goal g, ``[M, N, G, A]``: the planner needs all
  co-players of a node at once, and the intra-OM belief update needs the likelihood of an
  observed action under every goal. With one goal (``coplayer_goals: none``) it is the
  action-level co-player model of ``direct_om``.
- ``SubgoalCoplayerModel`` π_ω(a_j | s, g_j), continuous OMG_AM subgoals (``hop_plus_mcts``):
  logits of every slot j under its own subgoal vector g_j, ``[M, N, A]``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from modules.agents.cnn_actor_critic import padded_layers


def state_body(state_shape: tuple[int, int, int], hidden_dim: int,
               conv_channels: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """Conv trunk over the global state (``conv_channels``, may be empty, flattened) and the two FC
    layers that follow it with the time concatenated: ``(trunk, body)``."""
    channels, height, width = state_shape
    layers: list[nn.Module] = []
    padded = padded_layers(min(height, width), len(conv_channels))
    for index, out_ch in enumerate(conv_channels):
        pad = 1 if index < padded else 0
        layers += [nn.Conv2d(channels, out_ch, 3, padding=pad), nn.ReLU()]
        channels, height, width = out_ch, height + 2 * pad - 2, width + 2 * pad - 2
    body = nn.Sequential(nn.Linear(channels * height * width + 1, hidden_dim), nn.ReLU(),
                         nn.Linear(hidden_dim, hidden_dim), nn.ReLU())
    return nn.Sequential(*layers, nn.Flatten()), body


class CoplayerModel(nn.Module):
    """State trunk and body (``state_body``), then a head with ``n_agents * n_goals * n_actions`` logits."""

    def __init__(self, state_shape: tuple[int, int, int], n_agents: int, n_goals: int, n_actions: int,
                 hidden_dim: int = 64, conv_channels: tuple[int, ...] = (16,)) -> None:
        super().__init__()
        self.shape = (n_agents, n_goals, n_actions)
        self.trunk, self.body = state_body(state_shape, hidden_dim, conv_channels)
        self.head = nn.Linear(hidden_dim, n_agents * n_goals * n_actions)

    def forward(self, state: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """``state [M,C,H,W]``, ``time [M,1]`` -> unmasked logits ``[M, N, G, A]``."""
        hidden = self.body(torch.cat([self.trunk(state), time], dim=-1))
        return self.head(hidden).view(-1, *self.shape)

    @property
    def reads_grid_ones(self) -> bool:
        """Whether the state goes straight into the FC body (no conv trunk), so that the first
        layer can read ``GridOnes`` (``modules.grid_ones_linear``)."""
        return len(self.trunk) == 1

    def from_first_layer(self, first: torch.Tensor) -> torch.Tensor:
        """``forward`` from the body's first FC layer's outputs ``first [M,H]`` (before its ReLU)."""
        hidden = first
        for layer in list(self.body)[1:]:
            hidden = layer(hidden)
        return self.head(hidden).view(-1, *self.shape)


class SubgoalCoplayerModel(nn.Module):
    """State trunk and body (``state_body``) once per state, then per slot j an MLP head over
    [state features, one-hot j, g_j] -> ``n_actions`` logits."""

    def __init__(self, state_shape: tuple[int, int, int], n_agents: int, subgoal_dim: int, n_actions: int,
                 hidden_dim: int = 64, conv_channels: tuple[int, ...] = (16,)) -> None:
        super().__init__()
        self.n_agents, self.subgoal_dim = n_agents, subgoal_dim
        self.trunk, self.body = state_body(state_shape, hidden_dim, conv_channels)
        self.head = nn.Sequential(nn.Linear(hidden_dim + n_agents + subgoal_dim, hidden_dim), nn.ReLU(),
                                  nn.Linear(hidden_dim, n_actions))
        self.register_buffer("slot_ids", torch.eye(n_agents), persistent=False)

    def forward(self, state: torch.Tensor, time: torch.Tensor, subgoals: torch.Tensor) -> torch.Tensor:
        """``state [M,C,H,W]``, ``time [M,1]``, every slot's subgoal ``subgoals [M,N,D]`` -> logits ``[M,N,A]``."""
        hidden = self.body(torch.cat([self.trunk(state), time], dim=-1))
        rows = hidden.shape[0]
        inputs = torch.cat([hidden[:, None].expand(-1, self.n_agents, -1),
                            self.slot_ids.expand(rows, -1, -1), subgoals], dim=-1)
        return self.head(inputs)

    def slot_logits(self, state: torch.Tensor, time: torch.Tensor, slot: torch.Tensor,
                    subgoal: torch.Tensor) -> torch.Tensor:
        """Logits ``[M,A]`` of one slot per row: ``slot [M]`` with subgoal ``subgoal [M,D]``."""
        hidden = self.body(torch.cat([self.trunk(state), time], dim=-1))
        return self.head(torch.cat([hidden, self.slot_ids[slot], subgoal], dim=-1))
