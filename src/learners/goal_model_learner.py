"""Trains HOP's co-player model π_ω(a_j | s, g) on hindsight goal labels (docs/methods.md: HOP)."""
from __future__ import annotations

import torch
from munch import Munch

from learners.coplayer_learner import CoplayerModelLearner
from learners.hop_data import agent_rows, coplayers_of_role
from planners.goals import agent_cells, hindsight_goals, make_goal_spec


class GoalModelLearner(CoplayerModelLearner):
    """Cross-entropy of π_ω(a_j | s_t, g_t) on the co-players' alive steps, where g_t is the next goal
    the co-player reached (steps after its last goal carry no label and are skipped).

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
        reached = self.spec.reached(actions, agent_cells(batch["state"][:, :-1], n_agents), left)
        labels = hindsight_goals(torch.where(rows, reached, torch.full_like(reached, -1)))
        rows &= coplayers_of_role(batch["role"][..., 0], self.role_index)[:, None, :] & (labels >= 0)
        b, t, j = torch.nonzero(rows, as_tuple=True)
        return {"state": batch["state"][b, t], "time": batch["time"][b, t], "slot": j, "goal": labels[b, t, j],
                "action": actions[b, t, j], "avail": batch["avail_actions"][b, t, j]}

    def logits(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.model(data["state"], data["time"])
        return logits[torch.arange(len(data["slot"]), device=logits.device), data["slot"], data["goal"]]
