"""MOA learner (docs/methods.md: MOA): cross-entropy on the co-players' acting steps of the current episodes."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from munch import Munch

from components.action_selectors import masked_logits
from controllers.subgoal_inputs import subgoal_fields
from learners.base import Learner
from learners.focal_sequences import focal_sequences
from learners.optimisers import adam



class MOALearner(Learner):
    """Trains the actor's ``moa`` module from ``sample_latest(batch_size_run)`` (the rollout just inserted).

    Rows are (episode, step, focal slot, co-player) where both act; the target is the action
    the co-player took, the logits are masked by the co-player's available actions. Accuracy
    (top-1, top-3, per co-player role, per-action recall) is measured on the new episodes
    before the update, i.e. on data the model has not been trained on. The update is
    ``moa_epochs`` passes of ``moa_minibatches`` shuffled minibatches of focal rows.
    """

    name = "moa"
    update_counts = ("moa_epochs", "moa_minibatches")
    trains = ("moa",)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        self.moa = self.actor_module("moa")
        self.role_index = mac.role_index[mac.learned_role.name]
        self.role_names = [role.name for role in mac.roles]
        self.optimisers["moa"] = adam(self.moa.parameters(), args.moa_lr, args.optim_eps)
        self.seed_generator()

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        return {k: v for k, v in subgoal_fields(args).items() if k == "subgoal"}

    def _logits(self, rows: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.moa(rows["obs"], rows["time"], rows["prev"], rows.get("subgoal"))
        return masked_logits(logits, rows["avail"])

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        rows = moa_rows(buffer.sample_latest(self.args.batch_size_run), self.role_index, bool(self.moa.subgoal_dim))
        if rows is None:
            return {}
        mask = rows["mask"]
        with torch.no_grad():                    # accuracy before any update on these episodes
            stats = self.accuracy(self._logits(rows), rows["target"], mask, rows["role"])
        n_rows = mask.shape[0]
        size = max(1, -(-n_rows // self.args.moa_minibatches))
        losses = []
        for _ in range(self.args.moa_epochs):
            order = torch.randperm(n_rows, generator=self.generator)
            for start in range(0, n_rows, size):
                mb = {key: value[order[start:start + size]] for key, value in rows.items()}
                if not bool(mb["mask"].any()):
                    continue
                loss = F.cross_entropy(self._logits(mb)[mb["mask"]], mb["target"][mb["mask"]])
                self.optimise("moa", loss, "MOA cross-entropy (moa)", t_env, self.moa.parameters())
                losses.append(float(loss.detach()))
        stats["moa_loss"] = sum(losses) / max(1, len(losses))
        stats["moa_samples"] = float(mask.sum())
        return stats

    def accuracy(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 role: torch.Tensor) -> dict[str, float]:
        """Top-1/top-3 accuracy overall and per co-player role, recall per action (masked rows)."""
        top3 = logits.topk(min(3, logits.shape[-1]), dim=-1).indices
        hit1 = (top3[..., 0] == target)
        hit3 = (top3 == target[..., None]).any(-1)
        stats = {"moa_top1": float(hit1[mask].float().mean()), "moa_top3": float(hit3[mask].float().mean())}
        for index, name in enumerate(self.role_names):
            sel = mask & (role == index)
            if sel.any():
                stats[f"moa_top1_{name}"] = float(hit1[sel].float().mean())
                stats[f"moa_top3_{name}"] = float(hit3[sel].float().mean())
        for action in range(logits.shape[-1]):
            sel = mask & (target == action)
            if sel.any():
                stats[f"moa_recall_a{action}"] = float(hit1[sel].float().mean())
        return stats


def moa_rows(batch, role_index: int, with_subgoal: bool) -> dict[str, torch.Tensor] | None:
    """MOA inputs and targets for every (episode, step, focal slot) where the slot of role
    ``role_index`` acts: ``mask [R,K]`` marks the co-players that act too (None if there are none)."""
    seq = focal_sequences(batch, role_index)
    if seq is None or not bool(seq.coplayer_mask.any()):
        return None
    p, t = torch.nonzero(seq.focal_mask, as_tuple=True)
    env, slot, co = seq.env[p], seq.slot[p], seq.coplayers[p]                      # [R], [R], [R,K]
    rows = {"obs": seq.obs[p, t], "time": seq.time[p, t], "prev": seq.prev_actions[p, t],
            "mask": seq.coplayer_mask[p, t] > 0,
            "target": batch["actions"][env[:, None], t[:, None], co, 0],
            "avail": batch["avail_actions"][env[:, None], t[:, None], co],
            "role": batch["role"][env[:, None], co, 0]}
    if with_subgoal:
        rows["subgoal"] = batch["subgoal"][env, t, slot]
    return rows
