"""Encoder f(o) = e, latent dynamics e' = d(e, a_i, a_-i) with reward and done heads, value V(e), decoder."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from modules.opponent_models.conv import conv_trunk, mlp
from modules.world_model.config import CHECKPOINT_CONFIG_DEFAULTS, CONFIG_ARG_NAMES


class WorldModel(nn.Module):
    """One agent's view of the game, in its own (ego-first) agent order.

    ``encode(obs [M,C,H,W]) -> e [M,D]`` (conv trunk, linear, tanh); ``step(e, joint [M,N])``
    takes the joint action ego-first (column 0 the agent's own action, column k its k-th
    co-player's, as in the observation's agent channels) and returns the next latent ``[M,D]``,
    the agent's predicted reward ``[M]`` and the logit ``[M]`` that its participation ends after
    the step (it leaves, or the episode terminates). The joint action enters the first dynamics
    layer as a sum of one embedding per (agent position, action) — the same map as a linear
    layer on the concatenated one-hots, without materialising them. ``value(e) -> [M]``;
    ``decode(e) -> logits [M,C,H,W]`` of the 0/1 observation grid (when ``decoder``).
    """

    checkpoint_config_defaults = CHECKPOINT_CONFIG_DEFAULTS   # run checkpoints record and check the config
    config_arg_names = CONFIG_ARG_NAMES

    exact_encoding = False    # the encoder is learned: the current observation's reconstruction is a loss term

    @property
    def decodes(self) -> bool:
        """Whether latents decode to observation logits (``wm_decoder``)."""
        return self.decoder is not None

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        self.obs_shape = tuple(config["obs_shape"])
        self.n_agents, self.n_actions = config["n_agents"], config["n_actions"]
        latent, hidden = config["latent_dim"], config["hidden_dim"]
        trunk, flat = conv_trunk(self.obs_shape, tuple(config["conv_channels"]))
        self.encoder = nn.Sequential(trunk, nn.Linear(flat, latent), nn.Tanh())
        self.state_in = nn.Linear(latent, hidden)
        self.action_in = nn.Embedding(self.n_agents * self.n_actions, hidden)
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.next_head = nn.Sequential(nn.Linear(hidden, latent), nn.Tanh())
        self.reward_head = nn.Linear(hidden, 1)
        self.done_head = nn.Linear(hidden, 1)
        self.value_head = mlp(latent, hidden, 1)
        self.decoder = mlp(latent, hidden, math.prod(self.obs_shape)) if config["decoder"] else None
        self.register_buffer("action_offset", torch.arange(self.n_agents) * self.n_actions, persistent=False)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs [M,C,H,W]`` -> latent ``[M,D]``."""
        return self.encoder(obs)

    def state_features(self, latent: torch.Tensor) -> torch.Tensor:
        """``[M,H]``: the state's share of the first dynamics layer, shared by every joint action from it."""
        return self.state_in(latent)

    def step(self, latent: torch.Tensor, joint: torch.Tensor, features: torch.Tensor | None = None,
             feature_rows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``latent [M,D]``, ego-first ``joint [M,N]`` int -> next latent ``[M,D]``, reward ``[M]``,
        done logit ``[M]``. ``features``: ``state_features(latent)``, when already computed; with
        ``feature_rows [M]`` one entry per state, row m reading ``features[feature_rows[m]]``."""
        if joint.shape[-1] != self.n_agents or joint.dtype != torch.long:
            raise ValueError(f"WorldModel.step: joint must be int64 [M,{self.n_agents}], got {joint.dtype} "
                             f"{list(joint.shape)}")
        if features is None:
            features = self.state_features(latent)
        elif feature_rows is not None:
            features = features[feature_rows]
        hidden = self.body(features + self.action_in(joint + self.action_offset).sum(dim=-2))
        return self.next_head(hidden), self.reward_head(hidden)[..., 0], self.done_head(hidden)[..., 0]

    def value(self, latent: torch.Tensor) -> torch.Tensor:
        """V(e) ``[M]``: the agent's discounted return from here."""
        return self.value_head(latent)[..., 0]

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """``latent [M,D]`` -> observation logits ``[M,C,H,W]`` (needs ``decoder``)."""
        if self.decoder is None:
            raise ValueError("WorldModel.decode: this model has no decoder (wm_decoder: False)")
        return self.decoder(latent).view(-1, *self.obs_shape)
