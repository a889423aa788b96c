"""Trains HOP+'s co-player model π_ω(a_j | s, g_j) on the OMG_AM subgoals written in the batch (docs/methods.md: HOP)."""
from __future__ import annotations

import torch

from learners.coplayer_learner import CoplayerModelLearner
from learners.focal_sequences import focal_sequences


class SubgoalModelLearner(CoplayerModelLearner):
    """Cross-entropy of π_ω(a_j | s_t, g) on every step where a planning agent i and its co-player j
    are both alive, with g the subgoal of j that i's actor inferred and wrote at that step
    (``subgoal[b, t, i, k]``, k = j's ego-first index). The model is the actor's
    ``subgoal_coplayer_model`` (actor ``mcts_subgoal``); episodes are sampled from the shared
    buffer (``batch_size``), ``coplayer_epochs`` full-batch updates per call."""

    name = "subgoal_model"
    module_name = "subgoal_coplayer_model"
    trains = (module_name,)
    actor_name = "mcts_subgoal"

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

    def logits(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model.slot_logits(data["state"], data["time"], data["slot"], data["subgoal"])
