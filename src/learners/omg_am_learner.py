"""OMG_AM learner (SPEC §6.3): CVAE reconstruction + ``omg_kl_alpha`` × KL(q ‖ selected VAE target)."""
from __future__ import annotations

import torch
from munch import Munch

from controllers.subgoal_inputs import active_policy_inputs, compose_extra, subgoal_fields
from learners.base import Learner
from learners.focal_sequences import FocalSequences, focal_sequences
from modules.opponent_models.gaussian import kl_divergence, reparameterise
from modules.opponent_models.recon import RECON_LOSSES
from modules.opponent_models.selector import select_subgoal
from utils.errors import ConfigError

CRITIC_CHUNK = 65536  # candidate rows per critic call in the selector


class OMGAMLearner(Learner):
    """Trains the actor's ``omg`` posterior from ``sample_latest(batch_size_run)`` (the current episodes).

    For each step t where the focal agent and co-player k act, the target is the frozen VAE
    posterior of one of the co-player's next ``omg_horizon`` observations, chosen by the
    selector with the focal critic V(o_t, g) (the policy's value head, the stored inputs of
    the other co-players kept, co-player k's subgoal replaced by each candidate).
    """

    name = "omg_am"

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        models = mac.modules()
        self.omg, self.vae = models.get("omg"), models.get("vae")
        if args.use_subgoal and self.omg is None:
            raise ConfigError(f"learner 'omg_am' needs an actor with OMG_AM inference (actor: subgoal), "
                              f"got actor '{args.actor}'")
        if self.omg is None:
            return
        self.role_index = mac.role_index[mac.learned_role.name]
        self.inputs = active_policy_inputs(args)
        self.recon = RECON_LOSSES[args.recon_loss]
        self.generator = torch.Generator().manual_seed(int(args.seed) + 1)
        self.optimisers["omg"] = torch.optim.Adam(self.omg.parameters(), lr=args.omg_lr, eps=args.optim_eps)

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        return {k: v for k, v in subgoal_fields(args).items() if k in ("subgoal", "moa_probs")}

    def unroll(self, seq: FocalSequences) -> tuple[torch.Tensor, torch.Tensor]:
        """x and cond_x ``[P,T,hidden]`` over the whole sequences, exactly as the actor computes them step by step."""
        steps = seq.steps
        x = self.omg.encode(seq.obs.flatten(0, 1)).view(seq.obs.shape[0], steps, -1)
        h = prev_x = torch.zeros_like(x[:, 0])
        conds = []
        for t in range(steps):
            h = self.omg.step(h, prev_x, seq.prev_actions[:, t])
            conds.append(h)
            prev_x = x[:, t]
        return x, torch.stack(conds, dim=1)

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
            offsets = torch.arange(1, horizon + 1)
            future = (t[:, None] + offsets).clamp(max=steps - 1)                                # [R,H]
            alive_before = batch["alive"][env[:, None], future - 1, co[:, None], 0] > 0
            valid = (t[:, None] + offsets < steps) & (batch["filled"][env[:, None], future, 0] > 0) & alive_before
            candidates = mu_all[env[:, None], future, co[:, None]]                            # [R,H,G]
            values = self.candidate_values(batch, seq, p, t, k, candidates)
            choice = select_subgoal(values, valid, args.selector)
            chosen = future[torch.arange(len(choice)), choice]
        return mu_all[env, chosen, co], lv_all[env, chosen, co], (choice + 1).float()

    def candidate_values(self, batch, seq: FocalSequences, p: torch.Tensor, t: torch.Tensor, k: torch.Tensor,
                         candidates: torch.Tensor) -> torch.Tensor:
        """V(o_t, g) ``[R,H]`` of the focal critic with co-player k's subgoal set to each candidate."""
        rows, horizon = candidates.shape[:2]
        env, slot = seq.env[p], seq.slot[p]
        subgoals = batch["subgoal"][env, t, slot][:, None].repeat(1, horizon, 1, 1)        # [R,H,K,G]
        subgoals[torch.arange(rows)[:, None], torch.arange(horizon)[None], k[:, None]] = candidates
        parts = {"subgoal": subgoals}
        if "moa" in self.inputs:
            parts["moa"] = batch["moa_probs"][env, t, slot][:, None].expand(-1, horizon, -1, -1)
        extra = compose_extra(parts, self.inputs)
        flat = lambda v: v[:, None].expand(-1, horizon, *v.shape[1:]).flatten(0, 1)  # noqa: E731
        obs, time, slots = flat(seq.obs[p, t]), flat(seq.time[p, t]), flat(slot)
        extra = extra.flatten(0, 1) if extra is not None else None
        values = [self.mac.policy(obs[i:i + CRITIC_CHUNK], time[i:i + CRITIC_CHUNK], slots[i:i + CRITIC_CHUNK],
                                  None if extra is None else extra[i:i + CRITIC_CHUNK])[1]
                  for i in range(0, obs.shape[0], CRITIC_CHUNK)]
        return torch.cat(values).view(rows, horizon)

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
        for _ in range(args.omg_epochs):
            x, cond = self.unroll(seq)
            mu, log_var = self.omg.posterior(x[p, t], cond[p, t])
            rows = torch.arange(len(k))
            mu, log_var = mu[rows, k], log_var[rows, k]                                       # [R,G]
            g = reparameterise(mu, log_var, self.generator)
            recon = self.recon(self.omg.decode(g[:, None], cond[p, t])[:, 0], seq.obs[p, t]).mean()
            kl = kl_divergence(mu, log_var, target_mu, target_lv).mean()
            loss = recon + args.omg_kl_alpha * kl
            self.check_finite(loss, "OMG_AM loss (omg)", t_env)
            opt = self.optimisers["omg"]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.omg.parameters(), args.grad_norm_clip)
            opt.step()
            for key, value in (("omg_loss", loss), ("omg_recon", recon), ("omg_kl", kl)):
                totals[key] += float(value.detach()) / args.omg_epochs
        totals["omg_selected_offset"] = float(offset.mean())
        return totals
