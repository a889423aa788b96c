"""Shared training loop of the learners of MCTS co-player models (π_ω over goals or subgoals)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from munch import Munch

from components.action_selectors import masked_logits
from learners.base import Learner
from learners.hop_data import sample_episodes
from learners.optimisers import adam
from utils.errors import ConfigError


class CoplayerModelLearner(Learner):
    """Full-batch cross-entropy of the actor's module ``module_name`` on labelled co-player steps of
    ``batch_size`` episodes sampled from the shared buffer, ``coplayer_epochs`` updates per call.
    Subclasses say which steps count (``samples``) and how the model scores them (``logits``)."""

    update_counts = ("coplayer_epochs",)
    module_name: str         # the module it trains (also in ``trains``)
    actor_name: str          # the actor that owns the module (named in errors)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        if self.module_name not in mac.modules():
            raise ConfigError(f"learner '{self.name}' needs actor '{self.actor_name}' (it owns the "
                              f"{self.module_name}), got actor '{args.actor}'")
        self.model = mac.modules()[self.module_name]
        self.role_index = mac.role_index[mac.learned_role.name]
        self.optimisers[self.module_name] = adam(self.model.parameters(), args.coplayer_lr, args.optim_eps)

    def samples(self, batch) -> dict[str, torch.Tensor] | None:
        """Labelled co-player steps of ``batch`` (with ``action`` and ``avail`` entries), or None."""
        raise NotImplementedError

    def logits(self, data: dict[str, torch.Tensor]) -> torch.Tensor:
        """Unmasked action logits ``[R,A]`` of the model for the sample rows."""
        raise NotImplementedError

    def loss(self, data: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy and top-1 accuracy of the model on ``samples``."""
        logits = masked_logits(self.logits(data), data["avail"])
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
            self.optimise(self.module_name, loss, f"{self.name} cross-entropy ({self.module_name})", t_env,
                          self.model.parameters())
        return {f"{self.name}_loss": float(loss.detach()), f"{self.name}_accuracy": float(accuracy),
                f"{self.name}_samples": float(len(data["action"]))}
