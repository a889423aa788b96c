"""Trains HOP+'s co-player model π_ω(a_j | s, g_j) on the OMG_AM subgoals written in the batch (SPEC §6.4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from munch import Munch

from components.action_selectors import masked_logits
from learners.base import Learner
from learners.focal_sequences import focal_sequences
from learners.hop_data import sample_episodes
from utils.errors import ConfigError


class SubgoalModelLearner(Learner):
    """Cross-entropy of π_ω(a_j | s_t, g) on every step where a planning agent i and its co-player j
    are both alive, with g the subgoal of j that i's actor inferred and wrote at that step
    (``subgoal[b, t, i, k]``, k = j's ego-first index). The model is the actor's
    ``subgoal_coplayer_model`` (actor ``mcts_subgoal``); episodes are sampled from the shared
    buffer (``batch_size``), ``coplayer_epochs`` full-batch updates per call."""

    name = "subgoal_model"

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        if "subgoal_coplayer_model" not in mac.modules():
            raise ConfigError(f"learner 'subgoal_model' needs actor 'mcts_subgoal' (a subgoal co-player model), "
                              f"got actor '{args.actor}'")
        self.model = mac.modules()["subgoal_coplayer_model"]
        self.role_index = mac.role_index[mac.learned_role.name]
        self.optimisers["subgoal_coplayer_model"] = torch.optim.Adam(self.model.parameters(), lr=args.coplayer_lr,
                                                                     eps=args.optim_eps)

    def samples(self, batch) -> dict[str, torch.Tensor] | None:
        """Labelled co-player steps: state, time, slot j, subgoal, action, avail (None when there are none)."""
        seq = focal_sequences(batch, self.role_index)
        if seq is None:
            return None
        p, t, k = torch.nonzero(seq.coplayer_mask, as_tuple=True)
        env, focal, j = seq.env[p], seq.slot[p], seq.coplayers[p, k]
        return {"state": batch["state"][env, t], "time": batch["time"][env, t], "slot": j,
                "subgoal": batch["subgoal"][env, t, focal, k], "action": batch["actions"][env, t, j, 0],
                "avail": batch["avail_actions"][env, t, j]}

    def loss(self, data: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy and top-1 accuracy of the model on ``samples``."""
        logits = self.model.slot_logits(data["state"], data["time"], data["slot"], data["subgoal"])
        logits = masked_logits(logits, data["avail"])
        loss = F.cross_entropy(logits, data["action"])
        accuracy = (logits.argmax(dim=-1) == data["action"]).float().mean()
        return loss, accuracy

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        batch = sample_episodes(buffer, self.args.batch_size)
        data = None if batch is None else self.samples(batch)
        if data is None or len(data["action"]) == 0:
            return {}
        for _ in range(self.args.coplayer_epochs):
            loss, accuracy = self.loss(data)
            self.optimise("subgoal_coplayer_model", loss, "subgoal co-player model cross-entropy "
                          "(subgoal_coplayer_model)", t_env, self.model.parameters())
        return {"subgoal_model_loss": float(loss.detach()), "subgoal_model_accuracy": float(accuracy),
                "subgoal_model_samples": float(len(data["action"]))}
