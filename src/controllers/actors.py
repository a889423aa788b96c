"""The actor interface: how the learned role chooses actions (registry: ``controllers.REGISTRY``).

An actor owns the learned role's acting modules (policy network, and later opponent models
or planners), acts for a set of (env, slot) rows in one batched call, and may return
per-step extras that the runner writes into the batch at every step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from munch import Munch

from components.action_selectors import REGISTRY as SELECTORS
from controllers.policy_networks import PolicyNetworks


@dataclass
class StepInputs:
    """What the controller sees at one step for all ``B`` envs and ``N`` slots."""

    env: object                 # the BatchedMultiAgentEnv (``.core`` for planners)
    obs: torch.Tensor           # [B,N,C,H,W]
    time: torch.Tensor          # [B]
    avail: torch.Tensor         # [B,N,A] bool
    prev_actions: torch.Tensor | None = None  # [B,N] int64 actions of step t-1 (-1 at t = 0)


class Actor:
    """Base actor: subclasses implement ``act``; ``modules`` lists everything that learns.
    ``config_defaults``: config keys this actor adds, with defaults (as for learners)."""

    config_defaults: dict[str, Any] = {}
    streams: bool = False   # can start one env's episode while the others run (``start_episodes``)

    def __init__(self, args: Munch) -> None:
        self.args = args

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        """Per-step fields (grouped by agent) this actor writes through ``act``'s extras."""
        return {}

    def modules(self) -> dict[str, torch.nn.Module]:
        return {}

    def assign_roles(self, role_of_slot: np.ndarray) -> None:
        """See who plays each slot of the episodes about to start (``role_of_slot [B,N]``, index
        into the controller's roles); called just before ``init_episode``."""

    def init_episode(self, batch_size: int, role_mask: np.ndarray) -> None:
        """Reset per-episode state (hidden states, beliefs) for new episodes."""

    def start_episodes(self, rows: np.ndarray, role_mask: np.ndarray) -> None:
        """Reset the per-episode state of envs ``rows`` only, where new episodes start while the
        other envs' episodes go on (``role_mask [B,N]``: the learned role's slots, roles already
        assigned). Actors with ``streams`` implement it (runner ``stream``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot restart single envs' episodes")

    def episode_state(self) -> Any:
        """A copy of the per-episode state (beliefs, histories) of the running episodes, for
        ``set_episode_state``; actors with ``streams`` implement both."""
        raise NotImplementedError(f"{type(self).__name__} cannot set its running episodes aside")

    def set_episode_state(self, state: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot set its running episodes aside")

    def end_episodes(self, rows: np.ndarray) -> None:
        """The episodes of envs ``rows`` have ended (e.g. to collect per-episode diagnostics)."""

    def act(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Actions ``[M]`` for the rows ``(env_idx[m], slot_idx[m])`` and extras ``{field: [M, ...]}``."""
        raise NotImplementedError

    def observe(self, inputs: StepInputs, actions: np.ndarray, test_mode: bool) -> None:
        """See every slot's chosen actions ``[B,N]`` of this step (before the env steps)."""

    def final_extras(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Extras at an episode's final observation (nobody acts there), e.g. the policy's extra
        inputs so the bootstrap value of a time-limit cut sees them; none by default."""
        return {}

    def episode_stats(self) -> dict[str, list[float]]:
        """Diagnostics gathered since the last call (values to average per key); none by default."""
        return {}

    def state_dict(self) -> dict:
        """Non-module state to checkpoint (e.g. inter-episode beliefs)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class PolicyActor(Actor):
    """Samples from the actor-critic's masked softmax (greedy in test mode when ``test_greedy``)."""

    streams = True

    def __init__(self, args: Munch) -> None:
        super().__init__(args)
        self.policy = PolicyNetworks.from_args(args).to(args.device)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"policy": self.policy}

    def start_episodes(self, rows: np.ndarray, role_mask: np.ndarray) -> None:
        """Nothing to reset: the policy keeps no per-episode state."""

    def episode_state(self) -> None:
        return None

    def set_episode_state(self, state: None) -> None:
        pass

    def act(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return act_with_policy(self.policy, inputs, env_idx, slot_idx, test_mode and self.args.test_greedy,
                               generator), {}


def act_with_policy(nets: PolicyNetworks, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor,
                    greedy: bool, generator: torch.Generator) -> torch.Tensor:
    """One network call for all rows, then masked sampling (or argmax)."""
    with torch.no_grad():
        logits, _ = nets(inputs.obs[env_idx, slot_idx], inputs.time[env_idx].unsqueeze(-1), slot_idx)
        return SELECTORS["greedy" if greedy else "multinomial"](logits, inputs.avail[env_idx, slot_idx], generator)
