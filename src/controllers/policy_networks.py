"""The networks of one learned role: shared across its slots (agent-id input) or one per slot."""
from __future__ import annotations

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from munch import Munch

from modules.agents import REGISTRY as AGENT_REGISTRY
from modules.agents.cnn_actor_critic import PolicyInputSpec
from utils.config import saved_settings_differ
from utils.errors import ConfigError
from utils.safe_load import read_json, read_torch

CONFIG_FILE = "policy_config.json"
WEIGHTS_FILE = "policy.th"


class PolicyNetworks(nn.Module):
    """Evaluates ``logits, value`` for any set of (env, slot) positions of one role in one call.

    With ``share_params`` one network serves every slot; otherwise slot ``i`` always uses
    network ``i``, so the data of slot ``i`` can only ever train network ``i``.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        spec = PolicyInputSpec(tuple(config["obs_shape"]), config["n_agents"], config.get("extra_dim", 0))
        n_nets = 1 if config["share_params"] else config["n_agents"]
        net_cls = AGENT_REGISTRY[config["agent"]]
        self.nets = nn.ModuleList(
            net_cls(spec, config["n_actions"], config["hidden_dim"], tuple(config["conv_channels"])) for _ in range(n_nets))
        self.n_agents = config["n_agents"]

    @classmethod
    def from_args(cls, args: Munch, extra_dim: int = 0) -> "PolicyNetworks":
        """Build the networks described by the run arguments."""
        return cls({
            "agent": args.agent, "obs_shape": list(args.obs_shape), "n_agents": args.n_agents,
            "n_actions": args.n_actions, "hidden_dim": args.hidden_dim, "conv_channels": list(args.conv_channels),
            "share_params": args.share_params, "extra_dim": extra_dim, "env": args.env,
        })

    def forward(self, obs: torch.Tensor, time: torch.Tensor, slot: torch.Tensor,
                extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``obs [M,C,H,W]``, ``time [M,1]``, ``slot [M]`` (agent slot index) -> ``logits [M,A], value [M]``."""
        agent_id = F.one_hot(slot, self.n_agents).to(obs.dtype)
        if len(self.nets) == 1:
            return self.nets[0](obs, time, agent_id, extra)
        logits = obs.new_zeros(obs.shape[0], self.config["n_actions"])
        values = obs.new_zeros(obs.shape[0])
        for index, rows in self._slot_rows(slot):
            part_extra = None if extra is None else extra[rows]
            logits[rows], values[rows] = self.nets[index](obs[rows], time[rows], agent_id[rows], part_extra)
        return logits, values

    def features(self, obs: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """Trunk features ``[M,F]`` of each row's network; ``head`` finishes the evaluation, so
        ``head(features(obs, slot), time, slot, extra)`` equals ``forward(obs, time, slot, extra)``."""
        if len(self.nets) == 1:
            return self.nets[0].features(obs)
        parts = [(rows, self.nets[index].features(obs[rows])) for index, rows in self._slot_rows(slot)]
        out = obs.new_zeros(obs.shape[0], parts[0][1].shape[1])
        for rows, part in parts:
            out[rows] = part
        return out

    def head(self, features: torch.Tensor, time: torch.Tensor, slot: torch.Tensor,
             extra: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``logits [M,A], value [M]`` from trunk ``features [M,F]`` (see ``features``)."""
        agent_id = F.one_hot(slot, self.n_agents).to(features.dtype)
        if len(self.nets) == 1:
            return self.nets[0].head(features, time, agent_id, extra)
        logits = features.new_zeros(features.shape[0], self.config["n_actions"])
        values = features.new_zeros(features.shape[0])
        for index, rows in self._slot_rows(slot):
            part_extra = None if extra is None else extra[rows]
            logits[rows], values[rows] = self.nets[index].head(features[rows], time[rows], agent_id[rows], part_extra)
        return logits, values

    def values_over_extras(self, features: torch.Tensor, time: torch.Tensor, slot: torch.Tensor,
                           extras: torch.Tensor) -> torch.Tensor:
        """Values ``[M,K]`` of each row under K alternative extra inputs ``extras [M,K,E]``, from
        trunk ``features [M,F]`` (see ``CNNActorCritic.values_over_extras``)."""
        agent_id = F.one_hot(slot, self.n_agents).to(features.dtype)
        if len(self.nets) == 1:
            return self.nets[0].values_over_extras(features, time, agent_id, extras)
        values = features.new_zeros(extras.shape[:2])
        for index, rows in self._slot_rows(slot):
            values[rows] = self.nets[index].values_over_extras(features[rows], time[rows], agent_id[rows], extras[rows])
        return values

    @staticmethod
    def _slot_rows(slot: torch.Tensor) -> list[tuple[int, torch.Tensor]]:
        """``(slot index, row indices)`` for every slot present in ``slot [M]`` (per-slot networks)."""
        return [(index, (slot == index).nonzero(as_tuple=True)[0]) for index in torch.unique(slot).tolist()]

    def save(self, directory: str) -> None:
        """Write weights and the config needed to rebuild the networks (for ``ckpt:`` roles)."""
        os.makedirs(directory, exist_ok=True)
        torch.save(self.state_dict(), os.path.join(directory, WEIGHTS_FILE))
        with open(os.path.join(directory, CONFIG_FILE), "w") as f:
            json.dump(self.config, f, indent=1)

    @classmethod
    def load(cls, directory: str, expect: dict | None = None) -> "PolicyNetworks":
        """Rebuild from ``save`` to act as a frozen ``ckpt:`` role; ``expect`` keys (obs_shape,
        n_actions, ...) must match. A frozen role feeds only observation, time and agent id, so a
        policy with extra inputs (``extra_dim > 0``: HOP+ subgoals / MOA predictions, which need
        the opponent models of its run) is refused with a ConfigError."""
        config_path = os.path.join(directory, CONFIG_FILE)
        if not os.path.isfile(config_path):
            raise ConfigError(f"no saved policy in '{directory}' (missing {CONFIG_FILE})")
        config = read_json(config_path, f"saved policy in '{directory}'")
        if not isinstance(config, dict):
            raise ConfigError(f"saved policy in '{directory}': {CONFIG_FILE} does not hold a mapping")
        if config.get("extra_dim", 0):
            raise ConfigError(f"policy in '{directory}' takes extra inputs (extra_dim={config['extra_dim']}, e.g. "
                              "hop_plus subgoals), which a frozen ckpt: role cannot provide; use a policy without "
                              "them (ppo, or hop_plus with use_subgoal=False and no 'moa' in policy_inputs)")
        differ = saved_settings_differ(config, expect or {})
        if differ:
            raise ConfigError(f"policy in '{directory}' is incompatible with this run: {differ}")
        nets = cls(config)
        weights = read_torch(os.path.join(directory, WEIGHTS_FILE), f"saved policy in '{directory}'")
        try:
            nets.load_state_dict(weights)
        except (RuntimeError, TypeError, AttributeError) as e:
            raise ConfigError(f"saved policy in '{directory}': {WEIGHTS_FILE} does not fit its "
                              f"{CONFIG_FILE}: {str(e).splitlines()[0]}") from None
        return nets
