"""OMG_AM inference while acting: each (env, slot)'s history of the current episodes."""
from __future__ import annotations

import numpy as np
import torch

from modules.opponent_models.ego import ego_slots, onehot_or_zero
from modules.opponent_models.gaussian import reparameterise
from modules.opponent_models.omg_am import OMGPosterior


def ego_previous_actions(prev_actions: torch.Tensor | None, env_idx: torch.Tensor, slot_idx: torch.Tensor,
                         n_actions: int, actor: str) -> torch.Tensor:
    """All agents' previous actions ``prev_actions [B,N]`` (the runner's, -1 at t = 0) seen from
    each row's slot: one-hot, ego-first ``[M,N,A]``, zeros at t = 0. ``actor`` names the caller
    in the error raised when the runner gave none."""
    if prev_actions is None:
        raise ValueError(f"actor '{actor}' needs StepInputs.prev_actions (the runner's previous actions)")
    prev = prev_actions.to(env_idx.device)[env_idx[:, None], ego_slots(slot_idx, prev_actions.shape[1])]
    return onehot_or_zero(prev, n_actions)


class SubgoalHistory:
    """Per (env, slot) GRU state cond_x and previous encoding x_{t-1} of the OMG_AM posterior, so
    that acting one step at a time gives what ``OMGPosterior.unroll`` gives over a whole episode.
    Shared by every actor that infers co-players' subgoals (HOP+, its MCTS and world-model variants)."""

    def __init__(self, omg: OMGPosterior, n_agents: int, device: str) -> None:
        self.omg, self.n_agents, self.device = omg, n_agents, device
        self.hidden = self.prev_x = None

    @classmethod
    def of(cls, models: dict[str, torch.nn.Module], args) -> "SubgoalHistory | None":
        """The history of the actor's OMG_AM posterior ``models["omg"]``; None when it has none."""
        return cls(models["omg"], args.n_agents, args.device) if "omg" in models else None

    def reset(self, batch_size: int) -> None:
        """Empty histories for ``batch_size`` new episodes."""
        shape = (batch_size, self.n_agents, self.omg.hidden_dim)
        self.hidden = torch.zeros(shape, device=self.device)
        self.prev_x = torch.zeros(shape, device=self.device)

    def clear(self, rows: np.ndarray) -> None:
        """Empty the histories of envs ``rows`` (new episodes there; the others go on)."""
        index = torch.as_tensor(rows, dtype=torch.long, device=self.hidden.device)
        self.hidden[index] = 0.0
        self.prev_x[index] = 0.0

    def step(self, obs: torch.Tensor, prev_actions: torch.Tensor, env_idx: torch.Tensor, slot_idx: torch.Tensor,
             advance: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """x ``[M,hidden]`` of ``obs [M,C,H,W]`` and cond_x after all agents' previous actions
        ``[M,N,A]`` (one-hot, ego-first); ``advance`` stores the step in the rows' histories."""
        x = self.omg.encode(obs)
        cond = self.omg.step(self.hidden[env_idx, slot_idx], self.prev_x[env_idx, slot_idx], prev_actions)
        if advance:
            self.hidden[env_idx, slot_idx], self.prev_x[env_idx, slot_idx] = cond, x
        return x, cond

    def posterior(self, obs: torch.Tensor, prev_actions: torch.Tensor, env_idx: torch.Tensor, slot_idx: torch.Tensor,
                  advance: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``mu, log_var [M,N-1,G]`` of the rows' co-players' subgoals after ``step``."""
        return self.omg.posterior(*self.step(obs, prev_actions, env_idx, slot_idx, advance))

    def infer(self, obs: torch.Tensor, prev_actions: torch.Tensor, env_idx: torch.Tensor, slot_idx: torch.Tensor,
              test_mode: bool, generator: torch.Generator, extras: dict, advance: bool = True) -> torch.Tensor:
        """The rows' subgoals (posterior mean in tests, a sample in training); writes ``subgoal``,
        ``infer_mu`` and ``infer_log_var`` into ``extras``."""
        mu, log_var = self.posterior(obs, prev_actions, env_idx, slot_idx, advance)
        subgoal = mu if test_mode else reparameterise(mu, log_var, generator)
        extras.update(subgoal=subgoal, infer_mu=mu, infer_log_var=log_var)
        return subgoal
