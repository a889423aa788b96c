"""Online VAE prior learner: trains the actor's ``vae`` on the agents' observations of the current episodes."""
from __future__ import annotations

import torch
from munch import Munch

from components import masks
from learners.base import Learner
from learners.optimisers import adam
from learners.vae_loss import kl_weight, vae_loss


class VAELearner(Learner):
    """Reconstruction + KL (with warm-up) on every agent's observation at its acting steps of
    ``sample_latest(batch_size_run)``. The offline alternative is ``run_mode: pretrain_vae``."""

    name = "vae"
    trains = ("vae",)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        self.vae = self.actor_module("vae")
        self.updates = 0
        self.seed_generator()
        self.optimisers["vae"] = adam(self.vae.parameters(), args.vae_lr, args.optim_eps)

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        batch = buffer.sample_latest(self.args.batch_size_run)
        length = batch.max_t_filled()
        if length < 2:
            return {}
        batch = batch[:, :length]
        b, t, n = torch.nonzero(masks.agent_mask(batch)[..., 0], as_tuple=True)
        args = self.args
        loss, stats = vae_loss(self.vae, batch["obs"][b, t, n], args.recon_loss,
                               kl_weight(args.vae_kl_alpha, args.vae_kl_warmup, self.updates),
                               batch["actions"][b, t, n, 0], args.vae_moa_coef, self.generator)
        self.optimise("vae", loss, "VAE loss (vae)", t_env, self.vae.parameters())
        self.updates += 1
        return stats

    def state_dict(self) -> dict:
        return {**super().state_dict(), "updates": self.updates}      # the KL warm-up's position

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.updates = state.get("updates", self.updates)
