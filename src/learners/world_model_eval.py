"""World-model evaluation on episodes: one-step metrics and k-step open-loop rollout errors."""
from __future__ import annotations

import torch

from components import masks
from learners.world_model_learner import transitions
from modules.opponent_models.ego import ego_slots
from modules.world_model.losses import grid_errors
from modules.world_model.model import WorldModel


def one_step_metrics(model: WorldModel, batch, gamma: float, names: tuple[str, ...]) -> dict[str, float]:
    """Next-observation wrong cells (overall, per channel), reward MSE, done accuracy, value MSE
    over every acting agent's steps of ``batch``."""
    data = transitions(batch, model, gamma)
    with torch.no_grad():
        latent = model.encode(data.obs)
        predicted, reward, done_logit = model.step(latent, data.joint)
        stats = {"reward_mse": float(((reward - data.reward) ** 2).mean()),
                 "done_acc": float(((done_logit > 0).float() == data.done).float().mean()),
                 "done_recall": float((done_logit[data.done > 0] > 0).float().mean()) if data.done.any()
                 else float("nan"),
                 "value_mse": float(((model.value(latent) - data.returns) ** 2).mean()),
                 "transitions": float(len(reward))}
        if model.decoder is not None:
            stats.update(grid_errors(model.decode(predicted), data.next_obs, names, "next_"))
    return stats


def rollout_errors(model: WorldModel, batch, k_max: int) -> dict[str, float]:
    """Wrong cells per grid of the observation k = 1..k_max steps ahead, predicted open loop in latent
    space from o_t with the real joint actions, over every (episode, t, agent) acting at t..t+k-1."""
    if model.decoder is None:
        return {}
    length = batch.max_t_filled()
    batch = batch[:, :length]
    acting = masks.agent_mask(batch)[..., 0] > 0                                   # [B,T-1,N]
    n_agents = acting.shape[-1]
    b, t, n = torch.nonzero(acting, as_tuple=True)
    stats: dict[str, float] = {}
    with torch.no_grad():
        latent = model.encode(batch["obs"][b, t, n])
        still = torch.ones(len(b), dtype=torch.bool, device=b.device)
        for k in range(1, k_max + 1):
            step = (t + k - 1).clamp(max=length - 2)
            still = still & (t + k - 1 <= length - 2) & acting[b, step, n]
            if not still.any():
                break
            joint = batch["actions"][b[:, None], step[:, None], ego_slots(n, n_agents), 0]
            latent, _, _ = model.step(latent, joint)
            target = batch["obs"][b, (t + k).clamp(max=length - 1), n]
            wrong = ((model.decode(latent) > 0) != (target > 0.5)).flatten(1).sum(-1).float()
            stats[f"rollout_wrong_cells_k{k}"] = float(wrong[still].mean())
    return stats
