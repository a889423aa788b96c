"""MOA: a model of the co-players' next actions (docs/methods.md: MOA)."""
from __future__ import annotations

import torch
import torch.nn as nn

from modules.opponent_models.conv import conv_trunk, mlp


class MOA(nn.Module):
    """Predicts every co-player's next action from one focal agent's point of view.

    Inputs per row (an env x focal agent): the focal agent's ``obs [M,C,H,W]``, ``time [M,1]``,
    all agents' previous actions in ego-first order ``prev_actions [M,N,A]`` (zeros at t = 0)
    and, when ``subgoal_dim > 0``, the co-players' inferred subgoals ``subgoal [M,N-1,G]``.
    Returns logits ``[M,N-1,A]`` for co-players 1..N-1 in ego-first order. The shared trunk
    runs once per row; a head shared over co-players gets the co-player's index and subgoal.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        n_agents, n_actions, hidden = config["n_agents"], config["n_actions"], config["hidden_dim"]
        self.n_coplayers = n_agents - 1
        self.subgoal_dim = config["subgoal_dim"]
        self.trunk, flat = conv_trunk(tuple(config["obs_shape"]), tuple(config["conv_channels"]))
        self.body = nn.Sequential(nn.Linear(flat + 1 + n_agents * n_actions, hidden), nn.ReLU())
        self.head = mlp(hidden + self.n_coplayers + self.subgoal_dim, hidden, n_actions)
        self.register_buffer("coplayer_ids", torch.eye(self.n_coplayers), persistent=False)

    def forward(self, obs: torch.Tensor, time: torch.Tensor, prev_actions: torch.Tensor,
                subgoal: torch.Tensor | None = None) -> torch.Tensor:
        rows = obs.shape[0]
        hidden = self.body(torch.cat([self.trunk(obs), time, prev_actions.flatten(1)], dim=-1))
        parts = [hidden[:, None].expand(-1, self.n_coplayers, -1), self.coplayer_ids.expand(rows, -1, -1)]
        if self.subgoal_dim:
            if subgoal is None:
                raise ValueError(f"this MOA is conditioned on subgoals (subgoal_dim={self.subgoal_dim}); pass subgoal")
            parts.append(subgoal)
        return self.head(torch.cat(parts, dim=-1))
