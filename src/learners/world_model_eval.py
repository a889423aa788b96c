"""World-model evaluation against the true next observations: one-step metrics (wrong cells, per-channel
cell accuracy, exact match of the whole grid, reward and done accuracy) and k-step open-loop rollouts."""
from __future__ import annotations

import torch

from components import masks
from learners.world_model_learner import Transitions, transitions
from modules.opponent_models.ego import ego_slots
from modules.world_model.losses import grid_errors

REWARD_TOLERANCE = 0.04   # a predicted reward is right within this (half the gap between 1/4 and 1/3)


def accuracy_metrics(model: torch.nn.Module, data: Transitions, names: tuple[str, ...],
                     reward_tolerance: float = REWARD_TOLERANCE, chunk: int = 8192) -> dict[str, float]:
    """One-step accuracy over the rows of ``data``: ``cell_acc_<channel>`` (share of the channel's cells
    predicted right, at probability 0.5), ``exact_match`` (the whole next observation right),
    ``reward_acc`` (|r̂ - r| < ``reward_tolerance``; ``reward_acc_nonzero`` on the rows with a reward), ``done_acc``, ``done_recall`` and ``transitions``."""
    right_cells = torch.zeros(len(names), device=data.reward.device)
    exact = reward_ok = reward_hit = done_ok = done_hit = 0.0
    rows = len(data.reward)
    with torch.no_grad():
        for lo in range(0, rows, chunk):
            part = slice(lo, lo + chunk)
            predicted, reward, done_logit = model.step(model.encode(data.obs[part]), data.joint[part])
            right = (model.decode(predicted) > 0) == (data.next_obs[part] > 0.5)          # [m,C,H,W]
            right_cells += right.float().mean(dim=(2, 3)).sum(0)
            exact += float(right.flatten(1).all(-1).sum())
            close = (reward - data.reward[part]).abs() < reward_tolerance
            reward_ok += float(close.sum())
            reward_hit += float(close[data.reward[part] != 0].sum())
            done_pred = (done_logit > 0).float()
            done_ok += float((done_pred == data.done[part]).sum())
            done_hit += float((done_pred * data.done[part]).sum())
    stats = {f"cell_acc_{name}": float(v) / rows for name, v in zip(names, right_cells.tolist())}
    n_done, n_rewarded = float(data.done.sum()), float((data.reward != 0).sum())
    stats.update(exact_match=exact / rows, reward_acc=reward_ok / rows,
                 reward_acc_nonzero=reward_hit / n_rewarded if n_rewarded else float("nan"), done_acc=done_ok / rows,
                 done_recall=done_hit / n_done if n_done else float("nan"), transitions=float(rows))
    return stats


def one_step_metrics(model: torch.nn.Module, batch, gamma: float, names: tuple[str, ...]) -> dict[str, float]:
    """Next-observation wrong cells (overall, per channel), reward MSE, done accuracy, value MSE and the
    ``accuracy_metrics`` over every acting agent's steps of ``batch``."""
    data = transitions(batch, model, gamma)
    with torch.no_grad():
        latent = model.encode(data.obs)
        predicted, reward, done_logit = model.step(latent, data.joint)
        stats = {"reward_mse": float(((reward - data.reward) ** 2).mean()),
                 "value_mse": float(((model.value(latent) - data.returns) ** 2).mean())}
        if model.decodes:
            stats.update(grid_errors(model.decode(predicted), data.next_obs, names, "next_"))
            stats.update(accuracy_metrics(model, data, names))
    return stats


def rollout_errors(model: torch.nn.Module, batch, k_max: int) -> dict[str, float]:
    """Wrong cells per grid and exact-match rate of the observation k = 1..k_max steps ahead, predicted open
    loop from o_t with the real joint actions (the model's own predictions fed back), over every
    (episode, t, agent) acting at t..t+k-1."""
    if not model.decodes:
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
            stats[f"rollout_exact_match_k{k}"] = float((wrong[still] == 0).float().mean())
            stats[f"rollout_rows_k{k}"] = float(still.sum())
    return stats
