"""OMG_AM learner (docs/methods.md: OMG_AM): CVAE reconstruction + ``omg_kl_alpha`` × KL(q ‖ selected VAE target)."""
from __future__ import annotations

import torch
from munch import Munch

from controllers.subgoal_inputs import active_policy_inputs, compose_extra, subgoal_fields
from learners.base import Learner
from learners.focal_sequences import FocalSequences, focal_sequences
from learners.optimisers import adam
from modules.opponent_models.gaussian import kl_divergence, reparameterise
from modules.opponent_models.recon import RECON_LOSSES
from modules.opponent_models.selector import select_subgoal

CRITIC_CHUNK = 65536  # candidate rows per critic call in the selector


class OMGAMLearner(Learner):
    """Trains the actor's ``omg`` posterior from ``sample_latest(batch_size_run)`` (the current episodes).

    For each step t where the focal agent and co-player k act, the target is the frozen VAE
    posterior of one of the co-player's next ``omg_horizon`` observations, chosen by the
    selector with the focal critic V(o_t, g) (the policy's value head, the stored inputs of
    the other co-players kept, co-player k's subgoal replaced by each candidate).
    """

    name = "omg_am"
    update_counts = ("omg_epochs",)
    trains = ("omg",)
    reads = ("vae",)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        self.omg = self.actor_module("omg", required=args.use_subgoal)
        self.vae = self.actor_module("vae", required=False)
        if self.omg is None:
            return
        self.role_index = mac.role_index[mac.learned_role.name]
        self.inputs = active_policy_inputs(args)
        self.recon = RECON_LOSSES[args.recon_loss]
        self.seed_generator()
        self.optimisers["omg"] = adam(self.omg.parameters(), args.omg_lr, args.optim_eps)

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        return {k: v for k, v in subgoal_fields(args).items() if k in ("subgoal", "moa_probs")}

    def unroll(self, seq: FocalSequences) -> tuple[torch.Tensor, torch.Tensor]:
        """x and cond_x ``[P,T,hidden]`` over the whole sequences, as the actor computes them step by step."""
        x = self.omg.encode(seq.obs.flatten(0, 1)).view(seq.obs.shape[0], seq.steps, -1)
        return x, self.omg.unroll(x, seq.prev_actions)

    def targets(self, batch, seq: FocalSequences, p: torch.Tensor, t: torch.Tensor,
                k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Selected VAE target ``mu, log_var [R,G]`` and chosen offset ``[R]`` (1..H) for rows (p, t, k)."""
        args = self.args
        horizon, steps = args.omg_horizon, seq.steps
        env, co = seq.env[p], seq.coplayers[p, k]
        with torch.no_grad():
            obs = batch["obs"][:, :steps]
            mu_all, lv_all = self.vae.encode(obs.flatten(0, 2))
            mu_all, lv_all = mu_all.view(*obs.shape[:3], -1), lv_all.view(*obs.shape[:3], -1)   # [B,T,N,G]
            offsets = torch.arange(1, horizon + 1, device=t.device)
            future = (t[:, None] + offsets).clamp(max=steps - 1)                                # [R,H]
            alive_before = batch["alive"][env[:, None], future - 1, co[:, None], 0] > 0
            valid = (t[:, None] + offsets < steps) & (batch["filled"][env[:, None], future, 0] > 0) & alive_before
            candidates = mu_all[env[:, None], future, co[:, None]]                            # [R,H,G]
            values = self.candidate_values(batch, seq, p, t, k, candidates)
            choice = select_subgoal(values, valid, args.selector)
            chosen = future[torch.arange(len(choice), device=choice.device), choice]
        return mu_all[env, chosen, co], lv_all[env, chosen, co], (choice + 1).float()

    def candidate_values(self, batch, seq: FocalSequences, p: torch.Tensor, t: torch.Tensor, k: torch.Tensor,
                         candidates: torch.Tensor) -> torch.Tensor:
        """V(o_t, g) ``[R,H]`` of the focal critic with co-player k's subgoal set to each candidate.

        The critic's conv trunk runs once per distinct focal step (p, t), its first FC layer's
        observation part once per row; only the rest of the FC head sees the R x H candidates.
        Without a subgoal input the critic cannot tell the candidates apart, so they all get the
        same value (zero)."""
        rows, horizon = candidates.shape[:2]
        if "subgoal" not in self.inputs:
            return candidates.new_zeros(rows, horizon)
        env, slot = seq.env[p], seq.slot[p]
        focal, inverse = torch.unique(p * seq.steps + t, return_inverse=True)
        features = self.mac.policy.features(seq.obs.flatten(0, 1)[focal], seq.slot[focal // seq.steps])[inverse]
        subgoals = batch["subgoal"][env, t, slot][:, None].repeat(1, horizon, 1, 1)        # [R,H,K,G]
        row, step = torch.arange(rows, device=k.device), torch.arange(horizon, device=k.device)
        subgoals[row[:, None], step[None], k[:, None]] = candidates
        parts = {"subgoal": subgoals}
        if "moa" in self.inputs:
            parts["moa"] = batch["moa_probs"][env, t, slot][:, None].expand(-1, horizon, -1, -1)
        extra = compose_extra(parts, self.inputs)                                          # [R,H,E]
        time = seq.time[p, t]
        chunk = max(1, CRITIC_CHUNK // horizon)
        values = [self.mac.policy.values_over_extras(features[i:i + chunk], time[i:i + chunk], slot[i:i + chunk],
                                                     extra[i:i + chunk])
                  for i in range(0, rows, chunk)]
        return torch.cat(values)

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        if self.omg is None:
            return {}
        args = self.args
        batch = buffer.sample_latest(args.batch_size_run)
        seq = focal_sequences(batch, self.role_index)
        if seq is None or not bool(seq.coplayer_mask.any()):
            return {}
        p, t, k = torch.nonzero(seq.coplayer_mask, as_tuple=True)
        target_mu, target_lv, offset = self.targets(batch, seq, p, t, k)
        totals = {"omg_loss": 0.0, "omg_recon": 0.0, "omg_kl": 0.0}
        focal, inverse = torch.unique(p * seq.steps + t, return_inverse=True)    # distinct focal steps
        for _ in range(args.omg_epochs):
            x, cond = self.unroll(seq)
            cond = cond.flatten(0, 1)[focal]
            mu, log_var = self.omg.posterior(x.flatten(0, 1)[focal], cond)                   # [U,K,G]
            mu, log_var = mu[inverse, k], log_var[inverse, k]                                 # [R,G]
            g = reparameterise(mu, log_var, self.generator)
            recon = self.recon(self.omg.decode(g[:, None], cond[inverse])[:, 0], seq.obs[p, t]).mean()
            kl = kl_divergence(mu, log_var, target_mu, target_lv).mean()
            loss = recon + args.omg_kl_alpha * kl
            self.optimise("omg", loss, "OMG_AM loss (omg)", t_env, self.omg.parameters())
            for key, value in (("omg_loss", loss), ("omg_recon", recon), ("omg_kl", kl)):
                totals[key] += float(value.detach()) / args.omg_epochs
        totals["omg_selected_offset"] = float(offset.mean())
        return totals
