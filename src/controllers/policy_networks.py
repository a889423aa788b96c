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
from utils.errors import ConfigError

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
        for index in torch.unique(slot).tolist():
            rows = (slot == index).nonzero(as_tuple=True)[0]
            part_extra = None if extra is None else extra[rows]
            logits[rows], values[rows] = self.nets[index](obs[rows], time[rows], agent_id[rows], part_extra)
        return logits, values

    def save(self, directory: str) -> None:
        """Write weights and the config needed to rebuild the networks (for ``ckpt:`` roles)."""
        os.makedirs(directory, exist_ok=True)
        torch.save(self.state_dict(), os.path.join(directory, WEIGHTS_FILE))
        with open(os.path.join(directory, CONFIG_FILE), "w") as f:
            json.dump(self.config, f, indent=1)

    @classmethod
    def load(cls, directory: str, expect: dict | None = None) -> "PolicyNetworks":
        """Rebuild from ``save``; ``expect`` keys (obs_shape, n_actions, ...) must match."""
        config_path = os.path.join(directory, CONFIG_FILE)
        if not os.path.isfile(config_path):
            raise ConfigError(f"no saved policy in '{directory}' (missing {CONFIG_FILE})")
        with open(config_path) as f:
            config = json.load(f)
        for key, value in (expect or {}).items():
            if config.get(key) != value:
                raise ConfigError(f"policy in '{directory}' has {key}={config.get(key)!r} but this run needs {value!r}")
        nets = cls(config)
        nets.load_state_dict(torch.load(os.path.join(directory, WEIGHTS_FILE), map_location="cpu"))
        return nets
