"""Trains HOP's co-player model π_ω(a_j | s, g) on hindsight goal labels (SPEC §6.4)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from munch import Munch

from components.action_selectors import masked_logits
from learners.base import Learner
from learners.hop_data import agent_rows, coplayer_slots, sample_episodes
from planners.goals import agent_cells, hindsight_goals, make_goal_spec
from utils.errors import ConfigError


class GoalModelLearner(Learner):
    """Cross-entropy of π_ω(a_j | s_t, g_t) on the co-players' alive steps, where g_t is the next goal
    the co-player reached (steps after its last goal carry no label and are skipped).

    The model is the actor's ``coplayer_model`` (actor ``mcts``); episodes are sampled from the
    shared buffer (``batch_size``), ``coplayer_epochs`` full-batch updates per call.
    """

    name = "goal_model"

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        if "coplayer_model" not in mac.modules():
            raise ConfigError(f"learner 'goal_model' needs actor 'mcts' (a co-player model), got actor '{args.actor}'")
        self.model = mac.modules()["coplayer_model"]
        self.spec = make_goal_spec(args)
        self.role_index = mac.role_index[mac.learned_role.name]
        self.optimisers["coplayer_model"] = torch.optim.Adam(self.model.parameters(), lr=args.coplayer_lr,
                                                             eps=args.optim_eps)

    def samples(self, batch) -> dict[str, torch.Tensor]:
        """Labelled co-player steps of ``batch``: state, time, slot, goal, action, avail."""
        n_agents = self.args.n_agents
        rows = agent_rows(batch)                                                   # [B,T-1,N]
        alive = batch["alive"][..., 0] > 0
        left = alive[:, :-1] & ~alive[:, 1:] & (batch["filled"][:, 1:] > 0)
        actions = batch["actions"][:, :-1, :, 0]
        reached = self.spec.reached(actions, agent_cells(batch["state"][:, :-1], n_agents), left)
        labels = hindsight_goals(torch.where(rows, reached, torch.full_like(reached, -1)))
        rows &= coplayer_slots(batch["role"][..., 0], self.role_index)[:, None, :] & (labels >= 0)
        b, t, j = torch.nonzero(rows, as_tuple=True)
        return {"state": batch["state"][b, t], "time": batch["time"][b, t], "slot": j, "goal": labels[b, t, j],
                "action": actions[b, t, j], "avail": batch["avail_actions"][b, t, j]}

    def loss(self, data: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy and top-1 accuracy of the model on ``samples``."""
        logits = self.model(data["state"], data["time"])
        logits = logits[torch.arange(len(data["slot"])), data["slot"], data["goal"]]
        logits = masked_logits(logits, data["avail"])
        loss = F.cross_entropy(logits, data["action"])
        accuracy = (logits.argmax(dim=-1) == data["action"]).float().mean()
        return loss, accuracy

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        batch = sample_episodes(buffer, self.args.batch_size)
        if batch is None:
            return {}
        data = self.samples(batch)
        if len(data["action"]) == 0:
            return {}
        for _ in range(self.args.coplayer_epochs):
            loss, accuracy = self.loss(data)
            self.optimise("coplayer_model", loss, "co-player model cross-entropy (coplayer_model)", t_env,
                          self.model.parameters())
        return {"goal_model_loss": float(loss.detach()), "goal_model_accuracy": float(accuracy),
                "goal_model_samples": float(len(data["action"]))}
