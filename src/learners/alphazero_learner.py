"""AlphaZero-style training of HOP's prior/value network (docs/methods.md: HOP)."""
from __future__ import annotations

import torch
from munch import Munch

from components.action_selectors import masked_logits
from learners.base import Learner
from learners.hop_data import agent_rows, discounted_returns, sample_episodes
from learners.optimisers import adam
from utils.errors import ConfigError


class AlphaZeroLearner(Learner):
    """Cross-entropy of the policy head to the stored per-step ``mcts_policy`` plus
    ``value_loss_coef`` × MSE of the value head to the discounted return (``mcts_discount``),
    on the learned role's alive steps of episodes sampled from the shared buffer."""

    name = "alphazero"
    update_counts = ("az_epochs",)
    trains = ("policy",)

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        super().__init__(mac, scheme, logger, args)
        if "mcts_policy" not in scheme:
            raise ConfigError(f"learner 'alphazero' needs the per-step 'mcts_policy' written by actor 'mcts', "
                              f"got actor '{args.actor}'")
        self.role_index = mac.role_index[mac.learned_role.name]
        self.optimisers["policy"] = adam(mac.policy.parameters(), args.lr, args.optim_eps)

    def samples(self, batch) -> dict[str, torch.Tensor]:
        rows = agent_rows(batch)
        returns = discounted_returns(batch["reward"][:, :-1, :, 0], rows.float(), self.args.mcts_discount)
        rows &= (batch["role"][..., 0] == self.role_index)[:, None, :]
        b, t, i = torch.nonzero(rows, as_tuple=True)
        return {"obs": batch["obs"][b, t, i], "time": batch["time"][b, t], "slot": i,
                "avail": batch["avail_actions"][b, t, i], "target": batch["mcts_policy"][b, t, i],
                "return": returns[b, t, i]}

    def loss(self, data: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy cross-entropy, value MSE) of the policy network on ``samples``."""
        logits, values = self.mac.policy(data["obs"], data["time"], data["slot"])
        log_probs = torch.log_softmax(masked_logits(logits, data["avail"]), dim=-1)
        policy_loss = -(data["target"] * log_probs.clamp(min=-1e4)).sum(dim=-1).mean()
        value_loss = ((values - data["return"]) ** 2).mean()
        return policy_loss, value_loss

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        batch = sample_episodes(buffer, self.args.batch_size)
        if batch is None:
            return {}
        data = self.samples(batch)
        if len(data["slot"]) == 0:
            return {}
        for _ in range(self.args.az_epochs):
            policy_loss, value_loss = self.loss(data)
            loss = policy_loss + self.args.value_loss_coef * value_loss
            self.optimise("policy", loss, "alphazero loss (policy network)", t_env, self.mac.policy.parameters())
        return {"alphazero_policy_loss": float(policy_loss.detach()), "alphazero_value_loss": float(value_loss.detach()),
                "alphazero_samples": float(len(data["slot"]))}
