"""World-model learner (docs/methods.md: World-model planning): next observation, reward, done and value of every acting agent."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from munch import Munch

from components import masks
from learners.base import Learner
from learners.hop_data import sample_episodes
from learners.optimisers import adam
from learners.ppo_learner import gae
from modules.opponent_models.ego import ego_slots
from modules.world_model.grid_rules import grid_rules
from modules.world_model.losses import channel_pos_weight, grid_errors, weighted_bce
from utils.errors import ConfigError

WM_LOSSES = ("recon", "latent")
# reward regression: mse learns the rare captures but leaves a small residual on the (mostly exactly zero)
# rewards, l1 pins those to zero but fits rare events slowly (it regresses to the median); mse_l1 sums both
REWARD_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss,
                 "mse_l1": lambda predicted, target: F.mse_loss(predicted, target) + F.l1_loss(predicted, target)}


@dataclass
class Transitions:
    """One row per (episode, step, slot) where the slot acts: its observation, the next one,
    the joint action ego-first, its reward, whether its participation ends (``masks.agent_terminal``)
    and its discounted return (bootstrapped from V at a time-limit cut)."""

    obs: torch.Tensor       # [R,C,H,W]
    next_obs: torch.Tensor  # [R,C,H,W]
    joint: torch.Tensor     # [R,N] int64
    reward: torch.Tensor    # [R]
    done: torch.Tensor      # [R] 0/1
    returns: torch.Tensor   # [R]


def transitions(batch, model, gamma: float) -> Transitions | None:
    """Every slot's acting steps of ``batch`` (any role: the model is the same game from any seat);
    returns are computed with the model's own value at the final observations (no gradient)."""
    length = batch.max_t_filled()
    if length < 2:
        return None
    batch = batch[:, :length]
    acting = masks.agent_mask(batch)[..., 0]                                 # [B,T-1,N]
    b, t, n = torch.nonzero(acting, as_tuple=True)
    if b.numel() == 0:
        return None
    terminal = masks.agent_terminal(batch)[..., 0]
    obs = batch["obs"]
    with torch.no_grad():
        values = model.value(model.encode(obs.flatten(0, 2))).view(obs.shape[:3])
        values = values * batch["filled"][:, :, None, 0]
    rewards = batch["reward"][:, :-1, :, 0]
    returns = gae(rewards, values, terminal, gamma, 1.0) + values[:, :-1]
    n_agents = obs.shape[2]
    joint = batch["actions"][b[:, None], t[:, None], ego_slots(n, n_agents), 0]
    return Transitions(obs=obs[b, t, n], next_obs=obs[b, t + 1, n], joint=joint, reward=rewards[b, t, n],
                       done=terminal[b, t, n], returns=returns[b, t, n])


class WorldModelLearner(Learner):
    """Trains the actor's ``world_model`` on episodes sampled from the shared buffer
    (``batch_size`` of them, ``wm_epochs`` updates per call).

    Loss = observation term (``wm_loss: recon``: per-channel weighted BCE of the decoded next
    observation and of the decoded current one; ``latent``: squared error of the predicted
    next latent to the (stopped) encoding of the next observation, plus the current
    observation's reconstruction when there is a decoder) + ``wm_reward_coef`` × reward MSE +
    done BCE + ``wm_value_coef`` × value MSE. Metrics are measured before the update.
    """

    name = "world_model"
    update_counts = ("wm_epochs",)
    trains = ("world_model",)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        self.model = self.actor_module("world_model")
        if args.wm_loss not in WM_LOSSES:
            raise ConfigError(f"wm_loss: '{args.wm_loss}' is unknown; allowed: {', '.join(WM_LOSSES)}")
        if args.wm_reward_loss not in REWARD_LOSSES:
            raise ConfigError(f"wm_reward_loss: '{args.wm_reward_loss}' is unknown; allowed: "
                              f"{', '.join(REWARD_LOSSES)}")
        if args.wm_loss == "recon" and not self.model.decodes:
            raise ConfigError("wm_loss: recon needs wm_decoder: True")
        if args.wm_loss == "latent" and self.model.exact_encoding:
            raise ConfigError(f"wm_loss: latent needs a learned encoder (wm_latent: flat), got wm_latent: "
                              f"{args.wm_latent}")
        self.channel_names = grid_rules(args).channel_names
        self.optimisers["world_model"] = adam(self.model.parameters(), args.wm_lr, args.optim_eps)

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        batch = sample_episodes(buffer, self.args.batch_size)
        data = transitions(batch, self.model, self.args.gamma) if batch is not None else None
        if data is None:
            return {}
        stats: dict[str, float] = {}
        for epoch in range(self.args.wm_epochs):
            losses, metrics = self.losses(data)
            if epoch == 0:
                stats.update(metrics)
            self.optimise("world_model", losses["wm_loss"], "world-model loss (world_model)", t_env,
                          self.model.parameters())
        stats.update({k: float(v.detach()) for k, v in losses.items()})
        stats["wm_samples"] = float(data.reward.numel())
        return stats

    def losses(self, data: Transitions) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """The loss terms and the (pre-update) metrics on ``data``."""
        return world_model_losses(self.model, data, self.args, self.channel_names)


def world_model_losses(model: torch.nn.Module, data: Transitions, args: Munch, channel_names: tuple[str, ...]
                       ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """``WorldModelLearner``'s loss terms (``wm_loss`` the total) and metrics on ``data``; also used offline
    (``scripts.fit_world_model``)."""
    latent = model.encode(data.obs)
    predicted, reward, done_logit = model.step(latent, data.joint)
    terms: dict[str, torch.Tensor] = {}
    metrics = {"wm_reward_mse": float(((reward - data.reward) ** 2).mean().detach()),
               "wm_done_acc": float(((done_logit > 0).float() == data.done).float().mean())}
    if model.decodes:
        weight = channel_pos_weight(torch.cat([data.obs, data.next_obs]), args.wm_pos_weight_max)
        if not model.exact_encoding:
            terms["wm_recon"] = weighted_bce(model.decode(latent), data.obs, weight)
        next_logits = model.decode(predicted)
        metrics.update(grid_errors(next_logits.detach(), data.next_obs, channel_names, "wm_next_"))
        if args.wm_loss == "recon":
            terms["wm_next_recon"] = weighted_bce(next_logits, data.next_obs, weight)
    if args.wm_loss == "latent":
        with torch.no_grad():
            target = model.encode(data.next_obs)
        terms["wm_latent"] = ((predicted - target) ** 2).sum(-1).mean()
    terms["wm_reward"] = REWARD_LOSSES[args.wm_reward_loss](reward, data.reward)
    terms["wm_done"] = F.binary_cross_entropy_with_logits(done_logit, data.done)
    terms["wm_value"] = F.mse_loss(model.value(latent), data.returns)
    coef = {"wm_reward": args.wm_reward_coef, "wm_value": args.wm_value_coef}
    total = sum(coef.get(key, 1.0) * value for key, value in terms.items())
    return {"wm_loss": total, **terms}, metrics
