"""The OMG_AM prior: a VAE over single grid states (docs/methods.md: OMG_AM)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from modules.opponent_models.conv import conv_trunk, mlp


class StateVAE(nn.Module):
    """Conv encoder -> ``subgoal_dim`` Gaussian; MLP decoder -> grid logits ``[C,H,W]``.

    With ``n_actions > 0`` it also has a MOA head: logits of the action the state's agent
    takes next, from the latent mean (trained with cross-entropy; an optional MOA head).
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        self.obs_shape = tuple(config["obs_shape"])
        hidden, dim = config["hidden_dim"], config["subgoal_dim"]
        self.trunk, flat = conv_trunk(self.obs_shape, tuple(config["conv_channels"]))
        self.to_gaussian = mlp(flat, hidden, 2 * dim)
        self.decoder = mlp(dim, hidden, math.prod(self.obs_shape))
        self.action_head = nn.Linear(dim, config["n_actions"]) if config["n_actions"] else None

    def encode(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``obs [M,C,H,W]`` -> ``mu, log_var [M,G]``."""
        mu, log_var = self.to_gaussian(self.trunk(obs)).chunk(2, dim=-1)
        return mu, log_var.clamp(-10.0, 10.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z [M,G]`` -> grid logits ``[M,C,H,W]``."""
        return self.decoder(z).view(-1, *self.obs_shape)
