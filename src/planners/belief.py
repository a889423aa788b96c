"""HOP's beliefs over co-players' goals (SPEC §6.4), vectorised over envs × focal agents × co-players × goals.

- Intra-OM: within an episode, ``belief[b, i, j, g]`` (focal slot i's belief that slot j pursues
  goal g in env b) is multiplied by π_ω's likelihood of j's last action under g and renormalised.
- Inter-OM: across episodes, ``counts[i, j, g]`` are discounted counts (α = ``inter_om_alpha``
  per episode in which i was focal) of the goals j reached; each episode's prior is
  ``(counts + κ) / (Σ counts + G κ)`` with κ = ``belief_prior_count``.

The diagonal (i = j) is never updated. ``state_dict`` holds everything, the goals reached in
the episodes not yet folded into the counts included, so a checkpoint resumes exactly.
"""
from __future__ import annotations

import numpy as np
import torch

LIKELIHOOD_FLOOR = 1e-6  # an observed action never rules a goal out completely


class GoalBeliefs:
    """Intra-episode beliefs ``[B,N,N,G]`` and inter-episode goal counts ``[N,N,G]``."""

    def __init__(self, n_agents: int, n_goals: int, alpha: float, prior_count: float) -> None:
        if not 0.0 <= alpha <= 1.0 or prior_count <= 0.0:
            raise ValueError(f"need 0 <= inter_om_alpha <= 1 and belief_prior_count > 0, got {alpha}, {prior_count}")
        self.n_agents, self.n_goals, self.alpha, self.prior_count = n_agents, n_goals, alpha, prior_count
        self.counts = np.zeros((n_agents, n_agents, n_goals))
        self.training = False
        self.start_episode(np.zeros((0, n_agents), dtype=bool))

    def prior(self) -> np.ndarray:
        """The inter-OM prior ``[N,N,G]`` for a new episode."""
        smoothed = self.counts + self.prior_count
        return smoothed / smoothed.sum(axis=-1, keepdims=True)

    def start_episode(self, focal: np.ndarray) -> None:
        """Fold the finished training episodes' goals into the counts, then reset the beliefs to
        the prior for new episodes where planning agents play at ``focal [B,N]``."""
        if self.training:
            self._fold()
        self.focal = np.asarray(focal, dtype=bool)
        self.training = False
        self.belief = np.broadcast_to(self.prior(), (len(self.focal), *self.counts.shape)).copy()
        self.reached = np.zeros((len(self.focal), self.n_agents, self.n_goals))

    def _fold(self) -> None:
        """counts_i <- α^k counts_i + Σ_l α^(k-l) reached(episode l), over the k episodes where i was focal."""
        focal = self.focal.astype(np.float64)                              # [B,N]
        k = focal.sum(axis=0)                                              # [N]
        order = np.cumsum(focal, axis=0)                                   # l of each episode for slot i
        weight = focal * self.alpha ** (k - order)                         # [B,N]
        others = 1.0 - np.eye(self.n_agents)                               # [i,j]
        added = np.einsum("bi,bjg->ijg", weight, self.reached) * others[..., None]
        self.counts = self.alpha ** k[:, None, None] * self.counts + added

    def update(self, likelihood: np.ndarray, observed: np.ndarray) -> None:
        """Bayes step: ``likelihood [B,N,G]`` = π_ω(a_j | s, g) of each slot's last action;
        ``observed [B,N]`` says which slots acted (alive) and count as evidence."""
        lik = np.where(observed[..., None], np.maximum(likelihood, LIKELIHOOD_FLOOR), 1.0)
        lik = np.broadcast_to(lik[:, None], self.belief.shape).copy()
        lik[:, np.arange(self.n_agents), np.arange(self.n_agents)] = 1.0
        posterior = self.belief * lik
        self.belief = posterior / posterior.sum(axis=-1, keepdims=True)

    def record(self, reached: np.ndarray, training: bool) -> None:
        """Tally the goals reached at this step: ``reached [B,N]`` goal index or -1; ``training``:
        whether these episodes count for the inter-OM statistics (test episodes do not)."""
        self.training = training
        b, j = np.nonzero(reached >= 0)
        np.add.at(self.reached, (b, j, reached[b, j]), 1.0)

    def sample(self, env_idx: np.ndarray, slot_idx: np.ndarray, n_trees: int, generator: torch.Generator) -> np.ndarray:
        """Co-players' goals for ``n_trees`` trees of each row: long ``[M, n_trees, N]``."""
        probs = torch.from_numpy(self.belief[env_idx, slot_idx]).reshape(-1, self.n_goals)
        goals = torch.multinomial(probs, n_trees, replacement=True, generator=generator)
        return goals.view(len(env_idx), self.n_agents, n_trees).permute(0, 2, 1).numpy()

    def state_dict(self) -> dict:
        return {"counts": self.counts.copy(), "focal": self.focal.copy(), "training": self.training,
                "reached": self.reached.copy()}

    def load_state_dict(self, state: dict) -> None:
        if state["counts"].shape != self.counts.shape:
            raise ValueError(f"inter-OM counts of shape {state['counts'].shape} do not fit this run's "
                             f"{self.counts.shape} (n_agents, n_agents, n_goals)")
        self.counts = state["counts"].copy()
        self.training = False
        self.start_episode(state["focal"])
        self.training, self.reached = state["training"], state["reached"].copy()
