"""The VAE prior's loss, shared by the online ``vae`` learner and the ``pretrain_vae`` run mode."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from modules.opponent_models.gaussian import kl_divergence, reparameterise
from modules.opponent_models.recon import RECON_LOSSES


def kl_weight(alpha: float, warmup: int, updates: int) -> float:
    """``alpha`` ramped linearly from 0 over the first ``warmup`` updates (no ramp when warmup is 0)."""
    return alpha if warmup <= 0 else alpha * min(1.0, updates / warmup)


def vae_loss(vae, obs: torch.Tensor, recon_loss: str, kl_alpha: float, actions: torch.Tensor | None = None,
             moa_coef: float = 1.0, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Reconstruction + ``kl_alpha`` × KL(q(z|s) ‖ N(0,I)) (+ ``moa_coef`` × action CE with a MOA head), batch means."""
    mu, log_var = vae.encode(obs)
    recon = RECON_LOSSES[recon_loss](vae.decode(reparameterise(mu, log_var, generator)), obs).mean()
    kl = kl_divergence(mu, log_var).mean()
    loss = recon + kl_alpha * kl
    stats = {"vae_recon": float(recon.detach()), "vae_kl": float(kl.detach())}
    if vae.action_head is not None and actions is not None:
        ce = F.cross_entropy(vae.action_head(mu), actions)
        loss = loss + moa_coef * ce
        stats["vae_moa_ce"] = float(ce.detach())
    stats["vae_loss"] = float(loss.detach())
    return loss, stats
