"""Trains HOP's co-player model π_ω(a_j | s, g) on hindsight goal labels (docs/methods.md: HOP)."""
from __future__ import annotations

import torch
from munch import Munch

from learners.coplayer_learner import CoplayerModelLearner
from learners.hop_data import agent_rows, coplayers_of_role
from planners.goals import agent_cells, hindsight_goals, make_goal_spec, pursued_goals


class GoalModelLearner(CoplayerModelLearner):
    """Cross-entropy of π_ω(a_j | s_t, g_t) on the co-players' alive steps, where g_t is the next goal
    the co-player reached; steps after its last goal (all of them if it reached none) are labelled
    with the goal it pursued there (``planners.goals.pursued_goals``), or skipped if it pursued none.
    Before each update, π_ω's top-1 accuracy per goal is measured on the rollout's episodes, which it
    has not trained on yet (``goal_model_heldout_accuracy_<goal>``).

    The model is the actor's ``coplayer_model`` (actor ``mcts``); episodes are sampled from the
    shared buffer (``batch_size``), ``coplayer_epochs`` full-batch updates per call.
    """

    name = "goal_model"
    module_name = "coplayer_model"
    trains = (module_name,)
    actor_name = "mcts"

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        self.spec = make_goal_spec(args)

    def samples(self, batch) -> dict[str, torch.Tensor]:
        """Labelled co-player steps of ``batch``: state, time, slot, goal, action, avail."""
        n_agents = self.args.n_agents
        rows = agent_rows(batch)                                                   # [B,T-1,N]
        alive = batch["alive"][..., 0] > 0
        left = alive[:, :-1] & ~alive[:, 1:] & (batch["filled"][:, 1:] > 0)
        actions = batch["actions"][:, :-1, :, 0]
        cells = agent_cells(batch["state"], n_agents)
        reached = self.spec.reached(actions, cells[:, :-1], left)
        labels = hindsight_goals(torch.where(rows, reached, torch.full_like(reached, -1)))
        after_last = rows & (labels < 0)
        pursued = pursued_goals(self.spec, batch["state"], cells, after_last & ~left, n_agents)   # [B,N]
        labels = torch.where(after_last, pursued[:, None, :].expand_as(labels), labels)
        rows &= coplayers_of_role(batch["role"][..., 0], self.role_index)[:, None, :] & (labels >= 0)
        b, t, j = torch.nonzero(rows, as_tuple=True)
        return {"state": batch["state"][b, t], "time": batch["time"][b, t], "slot": j, "goal": labels[b, t, j],
                "action": actions[b, t, j], "avail": batch["avail_actions"][b, t, j]}

    def heldout_stats(self, buffer) -> dict[str, float]:
        """π_ω's top-1 accuracy per goal on the latest rollout (not trained on yet)."""
        latest = buffer.sample_latest(min(self.args.batch_size_run, buffer.episodes_in_buffer))
        length = latest.max_t_filled()
        data = self.samples(latest[:, :length]) if length >= 2 else None
        if data is None or len(data["action"]) == 0:
            return {}
        with torch.no_grad():
            correct = self.logits_masked(data).argmax(dim=-1) == data["action"]
        stats = {}
        for goal, name in enumerate(self.spec.goal_names()):
            chosen = data["goal"] == goal
            if chosen.any() and self.spec.n_goals <= 8:
                stats[f"{self.name}_heldout_accuracy_{name}"] = float(correct[chosen].float().mean())
        stats[f"{self.name}_heldout_accuracy"] = float(correct.float().mean())
        return stats

    def logits(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.model(data["state"], data["time"])
        return logits[torch.arange(len(data["slot"]), device=logits.device), data["slot"], data["goal"]]
