"""Independent PPO for the learned role (docs/methods.md: PPO): GAE, clipped policy and value losses."""
from __future__ import annotations

import torch
from munch import Munch

from components import masks
from components.action_selectors import masked_logits
from learners.base import Learner
from learners.optimisers import adam
from utils.errors import ConfigError


class PPOLearner(Learner):
    """Trains the learned role's actor-critic on the latest rollout (``sample_latest``).

    Only steps where an agent of the learned role is alive contribute (agent mask from
    ``components.masks``); an agent that left the game is terminal for itself, while a
    time-limit cut bootstraps from the value of the final observation.
    """

    name = "ppo"
    update_counts = ("ppo_epochs", "ppo_minibatches")
    trains = ("policy",)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        if mac.learned_role is None:
            if not args.evaluate:
                raise ConfigError(f"learner 'ppo' needs at least one slot with the learned role "
                                  f"'{args.name}' in roles, got {list(args.roles)}")
            self.role_index = None
            return
        self.role_index = mac.role_index[mac.learned_role.name]
        self.optimisers["policy"] = adam(mac.parameters(), args.lr, args.optim_eps)

    # ----------------------------------------------------------------------------------
    def _focal_samples(self, batch) -> dict[str, torch.Tensor]:
        """Flatten every (env, step, slot) where the learned role acts into sample rows."""
        args = self.args
        length = batch.max_t_filled()
        batch = batch[:, :length]
        focal = (batch["role"][..., 0] == self.role_index)                     # [B,N]
        mask = masks.agent_mask(batch)[..., 0] * focal[:, None, :]              # [B,T-1,N]
        terminal = masks.agent_terminal(batch)[..., 0]
        env_idx, step_idx, slot_idx = torch.nonzero(focal[:, None, :].expand(-1, length, -1), as_tuple=True)
        obs = batch["obs"][env_idx, step_idx, slot_idx]
        time = batch["time"][env_idx, step_idx]
        # per-step policy inputs an actor wrote (e.g. HOP+ subgoals); absent for plain PPO
        extra = batch["policy_extra"][env_idx, step_idx, slot_idx] if "policy_extra" in batch else None
        with torch.no_grad():
            logits, values = self.mac.policy(obs, time, slot_idx, extra)
        value_grid = torch.zeros(focal.shape[0], length, focal.shape[1], device=values.device)
        value_grid[env_idx, step_idx, slot_idx] = values
        advantages = gae(batch["reward"][:, :-1, :, 0], value_grid, terminal, args.gamma, args.gae_lambda)
        returns = advantages + value_grid[:, :-1]
        acting = step_idx < length - 1        # the last index only holds the final observation
        rows = acting & (mask[env_idx, step_idx.clamp(max=length - 2), slot_idx] > 0)
        actions = batch["actions"][:, :-1, :, 0]
        avail = batch["avail_actions"]
        e, s, n = env_idx[rows], step_idx[rows], slot_idx[rows]
        log_probs = torch.log_softmax(masked_logits(logits[rows], avail[e, s, n]), dim=-1)
        act = actions[e, s, n]
        optional = {} if extra is None else {"extra": extra[rows]}
        return {**optional,
            "obs": obs[rows], "time": time[rows], "slot": n, "avail": avail[e, s, n], "actions": act,
            "old_logp": log_probs.gather(-1, act[:, None])[:, 0], "old_value": values[rows],
            "advantages": advantages[e, s, n], "returns": returns[e, s, n],
        }

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        if self.role_index is None:
            return {}
        batch = buffer.sample_latest(self.args.batch_size_run)
        if batch.max_t_filled() < 2:
            return {}
        data = self._focal_samples(batch)
        if data["actions"].shape[0] == 0:
            return {}
        return self.train_on(data, t_env, env_steps=int(batch["filled"].sum()))

    def train_on(self, data: dict[str, torch.Tensor], t_env: int, env_steps: int) -> dict[str, float]:
        """``ppo_epochs`` x ``ppo_minibatches`` updates over the sample rows ``data`` (from
        ``_focal_samples``, possibly of several batches concatenated) drawn from ``env_steps`` steps."""
        args = self.args
        n_samples = data["actions"].shape[0]
        totals: dict[str, float] = {}
        updates = 0
        minibatch = max(1, -(-n_samples // args.ppo_minibatches))
        for _ in range(args.ppo_epochs):
            order = torch.randperm(n_samples)
            for start in range(0, n_samples, minibatch):
                rows = order[start:start + minibatch]
                stats = self._update({k: v[rows] for k, v in data.items()}, t_env)
                for key, value in stats.items():
                    totals[key] = totals.get(key, 0.0) + value
                updates += 1
        result = {f"ppo_{k}": v / updates for k, v in totals.items()}
        result["ppo_samples"] = float(n_samples)
        result["ppo_updates"] = float(updates)
        result["ppo_updates_per_env_step"] = updates / max(1, env_steps)
        result["ppo_explained_variance"] = explained_variance(data["old_value"], data["returns"])
        return result

    def _update(self, mb: dict[str, torch.Tensor], t_env: int) -> dict[str, float]:
        args = self.args
        logits, values = self.mac.policy(mb["obs"], mb["time"], mb["slot"], mb.get("extra"))
        log_probs = torch.log_softmax(masked_logits(logits, mb["avail"]), dim=-1)
        logp = log_probs.gather(-1, mb["actions"][:, None])[:, 0]
        entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
        adv = mb["advantages"]
        if args.normalise_advantages and adv.numel() > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        log_ratio = logp - mb["old_logp"]
        ratio = log_ratio.exp()
        policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - args.ppo_clip, 1 + args.ppo_clip) * adv).mean()
        value_error = (values - mb["returns"]) ** 2
        if args.value_clip > 0:
            clipped = mb["old_value"] + (values - mb["old_value"]).clamp(-args.value_clip, args.value_clip)
            value_error = torch.max(value_error, (clipped - mb["returns"]) ** 2)
        value_loss = 0.5 * value_error.mean()
        loss = policy_loss + args.value_loss_coef * value_loss - args.entropy_coef * entropy
        grad_norm = self.optimise("policy", loss, "PPO loss (policy network)", t_env, self.mac.policy.parameters())
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean()
            clip_frac = ((ratio - 1).abs() > args.ppo_clip).float().mean()
        stats = {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                 "approx_kl": approx_kl, "clip_frac": clip_frac, "grad_norm": grad_norm}
        return {key: float(value.detach()) for key, value in stats.items()}


def gae(rewards: torch.Tensor, values: torch.Tensor, terminal: torch.Tensor, gamma: float,
        lam: float) -> torch.Tensor:
    """Generalised advantage estimates ``[B,T-1,N]`` from rewards ``[B,T-1,N]`` and values ``[B,T,N]``.

    ``terminal[t] = 1`` stops bootstrapping (and the advantage recursion) after step t; a
    time-limit cut is not terminal, so ``values[:, t+1]`` (the final observation) is used.
    Entries at steps outside an agent's mask are meaningless and never used.
    """
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(steps)):
        keep = 1.0 - terminal[:, t]
        delta = rewards[:, t] + gamma * values[:, t + 1] * keep - values[:, t]
        running = delta + gamma * lam * keep * running
        advantages[:, t] = running
    return advantages


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var(target - predicted) / Var(target); nan when the target is constant."""
    var = target.var()
    return float(1 - (target - predicted).var() / var) if var > 0 else float("nan")
