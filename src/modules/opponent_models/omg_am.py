"""The OMG_AM posterior: subgoal inference from the focal agent's history (docs/methods.md: OMG_AM)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from modules.opponent_models.conv import conv_trunk, mlp


class OMGPosterior(nn.Module):
    """x = encoder(o_t); cond_x = GRU over (x_{t-1}, all agents' actions a_{t-1} ego-first);
    q(g_k | x, cond_x) for every co-player k (ego-first, ``N-1`` of them); decoder p(o_t | g_k, cond_x).

    One step of the history is ``step(h, prev_x, prev_actions)``; acting (one step per call)
    and training (unrolled over the batch) use the same functions, so both see the same model.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        self.obs_shape = tuple(config["obs_shape"])
        n_agents, n_actions, hidden, dim = (config["n_agents"], config["n_actions"], config["hidden_dim"],
                                            config["subgoal_dim"])
        self.hidden_dim, self.subgoal_dim, self.n_coplayers = hidden, dim, n_agents - 1
        trunk, flat = conv_trunk(self.obs_shape, tuple(config["conv_channels"]))
        self.encoder = nn.Sequential(trunk, nn.Linear(flat, hidden), nn.ReLU())
        self.gru = nn.GRUCell(hidden + n_agents * n_actions, hidden)
        self.posterior_head = mlp(2 * hidden + self.n_coplayers, hidden, 2 * dim)
        self.decoder = mlp(dim + hidden, hidden, math.prod(self.obs_shape))
        self.register_buffer("coplayer_ids", torch.eye(self.n_coplayers), persistent=False)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs [M,C,H,W]`` -> x ``[M,hidden]``."""
        return self.encoder(obs)

    def step(self, h: torch.Tensor, prev_x: torch.Tensor, prev_actions: torch.Tensor) -> torch.Tensor:
        """cond_x after one more step of history: ``h, prev_x [M,hidden]``, ``prev_actions [M,N,A]``."""
        return self.gru(torch.cat([prev_x, prev_actions.flatten(1)], dim=-1), h)

    def unroll(self, x: torch.Tensor, prev_actions: torch.Tensor) -> torch.Tensor:
        """cond_x ``[P,T,hidden]`` at every step of whole sequences from ``x [P,T,hidden]`` and
        ``prev_actions [P,T,N,A]``: ``step`` applied T times from zero history, as one fused
        GRU call (``torch.gru``, the kernel behind ``nn.GRU``) over this module's GRU cell weights."""
        prev_x = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
        inputs = torch.cat([prev_x, prev_actions.flatten(2)], dim=-1)
        h0 = x.new_zeros(1, x.shape[0], self.hidden_dim)
        weights = [self.gru.weight_ih, self.gru.weight_hh, self.gru.bias_ih, self.gru.bias_hh]
        cond, _ = torch.gru(inputs, h0, weights, True, 1, 0.0, self.training, False, True)
        return cond

    def posterior(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x, cond [M,hidden]`` -> ``mu, log_var [M,N-1,G]`` of every co-player's subgoal."""
        rows = x.shape[0]
        inputs = torch.cat([torch.cat([x, cond], -1)[:, None].expand(-1, self.n_coplayers, -1),
                            self.coplayer_ids.expand(rows, -1, -1)], dim=-1)
        mu, log_var = self.posterior_head(inputs).chunk(2, dim=-1)
        return mu, log_var.clamp(-10.0, 10.0)

    def decode(self, g: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``g [M,K,G]``, ``cond [M,hidden]`` -> logits of the observation ``[M,K,C,H,W]``."""
        inputs = torch.cat([g, cond[:, None].expand(-1, g.shape[1], -1)], dim=-1)
        return self.decoder(inputs).view(*g.shape[:2], *self.obs_shape)
