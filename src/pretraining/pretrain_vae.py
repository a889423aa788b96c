"""``run_mode: pretrain_vae``: train the OMG_AM prior (and optionally MOA) on a collected dataset."""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from munch import Munch

from components import masks
from components.action_selectors import masked_logits
from learners.moa_learner import moa_rows
from learners.optimisers import adam
from learners.vae_loss import kl_weight, vae_loss
from modules.opponent_models import MOA, StateVAE
from modules.opponent_models.configs import moa_config, vae_config
from modules.opponent_models.saving import save_module
from pretraining.dataset import load_dataset


def _minibatches(n: int, size: int, generator: torch.Generator):
    order = torch.randperm(n, generator=generator)
    return (order[i:i + size] for i in range(0, n, size))


def train_vae(vae: StateVAE, obs: torch.Tensor, actions: torch.Tensor, args: Munch, logger,
              generator: torch.Generator) -> list[float]:
    """``pretrain_epochs`` passes of minibatch Adam on the states; returns the mean loss per epoch."""
    opt = adam(vae.parameters(), args.vae_lr, args.optim_eps)
    updates, history = 0, []
    for epoch in range(args.pretrain_epochs):
        totals: dict[str, float] = {}
        count = 0
        for rows in _minibatches(obs.shape[0], args.pretrain_batch_size, generator):
            weight = kl_weight(args.vae_kl_alpha, args.vae_kl_warmup, updates)
            loss, stats = vae_loss(vae, obs[rows], args.recon_loss, weight, actions[rows], args.vae_moa_coef, generator)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), args.grad_norm_clip)
            opt.step()
            updates, count = updates + 1, count + 1
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value
        for key, value in totals.items():
            logger.log_stat(f"pretrain_{key}", value / count, epoch)
        history.append(totals["vae_loss"] / count)
        logger.print_recent_stats(epoch + 1, epoch + 1, args.pretrain_epochs)
    return history


def train_moa(moa: MOA, rows: dict[str, torch.Tensor], args: Munch, logger, generator: torch.Generator) -> float:
    """MOA (without subgoal input) on every agent as focal; returns the final top-1 accuracy."""
    opt = adam(moa.parameters(), args.moa_lr, args.optim_eps)
    for epoch in range(args.pretrain_epochs):
        for idx in _minibatches(rows["obs"].shape[0], args.pretrain_batch_size, generator):
            mask = rows["mask"][idx]
            logits = masked_logits(moa(rows["obs"][idx], rows["time"][idx], rows["prev"][idx]), rows["avail"][idx])
            loss = F.cross_entropy(logits[mask], rows["target"][idx][mask])
            opt.zero_grad()
            loss.backward()
            opt.step()
        logger.log_stat("pretrain_moa_loss", float(loss.detach()), epoch)
    with torch.no_grad():
        logits = masked_logits(moa(rows["obs"], rows["time"], rows["prev"]), rows["avail"])
        return float((logits.argmax(-1) == rows["target"])[rows["mask"]].float().mean())


def pretrain_vae(_run, args: Munch, logger) -> None:
    """Train the prior on every agent's observation at its acting steps; save to ``pretrain_save_path``."""
    batch, _ = load_dataset(args.dataset_path, args)
    generator = torch.Generator().manual_seed(int(args.seed))
    acting = masks.agent_mask(batch)[..., 0]
    b, t, n = torch.nonzero(acting, as_tuple=True)
    obs, actions = batch["obs"][b, t, n], batch["actions"][b, t, n, 0]
    vae = StateVAE(vae_config(args))
    history = train_vae(vae, obs, actions, args, logger, generator)
    out = args.pretrain_save_path or os.path.join(args.local_results_path, "pretrained", args.unique_token)
    save_module(vae, out, "vae")
    _run.info.update({"pretrained_path": out, "vae_loss_first": history[0], "vae_loss_last": history[-1]})
    if args.pretrain_moa:
        pretrain_args = Munch(args, use_subgoal=False)
        moa = MOA(moa_config(pretrain_args))
        batch.update({"role": torch.zeros(batch.batch_size, args.n_agents, 1, dtype=torch.long)})
        _run.info["moa_top1"] = train_moa(moa, moa_rows(batch, 0, False), args, logger, generator)
        save_module(moa, out, "moa")
    logger.console.info(f"pretrain_vae: {obs.shape[0]} states, loss {history[0]:.3f} -> {history[-1]:.3f}; saved to {out}")
