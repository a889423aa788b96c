"""The learned role's data as whole sequences, one per (episode, focal slot), for the opponent models."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from components import masks
from modules.opponent_models.ego import coplayer_slots, ego_slots, previous_actions_onehot


@dataclass
class FocalSequences:
    """P = (episode, focal slot) pairs over T filled steps (row t = T-1 holds the final observation).

    ``coplayers [P,K]`` are global slots in ego-first order; ``focal_mask [P,T-1]`` is the
    focal agent's acting steps; ``coplayer_mask [P,T-1,K]`` the steps at which the focal agent
    and co-player k both act (from ``components.masks``, never re-derived).
    """

    env: torch.Tensor            # [P]
    slot: torch.Tensor           # [P]
    coplayers: torch.Tensor      # [P,K]
    obs: torch.Tensor            # [P,T,C,H,W]
    time: torch.Tensor           # [P,T,1]
    prev_actions: torch.Tensor   # [P,T,N,A] ego-first, zeros at t = 0
    focal_mask: torch.Tensor     # [P,T-1]
    coplayer_mask: torch.Tensor  # [P,T-1,K]

    @property
    def steps(self) -> int:
        return self.obs.shape[1]


def focal_sequences(batch, role_index: int) -> FocalSequences | None:
    """Sequences of the slots playing role ``role_index`` (None when there are none or < 2 steps)."""
    length = batch.max_t_filled()
    if length < 2:
        return None
    batch = batch[:, :length]
    env, slot = torch.nonzero(batch["role"][..., 0] == role_index, as_tuple=True)
    if env.numel() == 0:
        return None
    n_agents = batch["obs"].shape[2]
    ego = ego_slots(slot, n_agents)
    co = coplayer_slots(slot, n_agents)
    acting = masks.agent_mask(batch)[..., 0]                                       # [B,T-1,N]
    steps = torch.arange(length - 1, device=env.device)
    focal_mask = acting[env, :, slot]                                              # [P,T-1]
    co_acting = acting[env[:, None, None], steps[None, :, None], co[:, None, :]]   # [P,T-1,K]
    prev = previous_actions_onehot(batch["actions_onehot"])
    return FocalSequences(
        env=env, slot=slot, coplayers=co, obs=batch["obs"][env, :, slot], time=batch["time"][env],
        prev_actions=prev[env[:, None, None], torch.arange(length, device=env.device)[None, :, None], ego[:, None, :]],
        focal_mask=focal_mask, coplayer_mask=co_acting * focal_mask[..., None])
