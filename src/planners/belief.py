"""HOP's beliefs over co-players' goals (docs/methods.md: HOP), vectorised over envs × focal agents × co-players × goals.

- Intra-OM: within an episode, ``belief[b, i, j, g]`` (focal slot i's belief that slot j pursues
  goal g in env b) is multiplied by π_ω's likelihood of j's last action under g and renormalised.
- Inter-OM: across episodes, ``counts[r, g]`` are discounted counts of the goals reached by the
  co-player IDENTITY r (its role, an index into the controller's roles), not by a slot: with
  ``shuffle_slots`` the slot a co-player occupies changes every episode. Every training episode
  (env) in which role r plays next to at least one planning agent discounts ``counts[r]`` by
  α = ``inter_om_alpha`` and adds the goals r reached there (summed over r's slots). An episode's
  prior for slot j is ``(counts[r_j] + κ) / (Σ counts[r_j] + G κ)`` with r_j the role sitting in
  slot j and κ = ``belief_prior_count``. (One role learns, so the focal role needs no key.)

The diagonal (i = j) is never updated. ``state_dict`` holds everything, the goals reached in
the episodes not yet folded into the counts included, so a checkpoint resumes exactly.
"""
from __future__ import annotations

import numpy as np
import torch

LIKELIHOOD_FLOOR = 1e-6  # an observed action never rules a goal out completely


class GoalBeliefs:
    """Intra-episode beliefs ``[B,N,N,G]`` and inter-episode goal counts per co-player role ``[R,G]``."""

    def __init__(self, n_roles: int, n_agents: int, n_goals: int, alpha: float, prior_count: float) -> None:
        if not 0.0 <= alpha <= 1.0 or prior_count <= 0.0:
            raise ValueError(f"need 0 <= inter_om_alpha <= 1 and belief_prior_count > 0, got {alpha}, {prior_count}")
        self.n_roles, self.n_agents, self.n_goals = n_roles, n_agents, n_goals
        self.alpha, self.prior_count = alpha, prior_count
        self.counts = np.zeros((n_roles, n_goals))
        self.training = False
        empty = np.zeros((0, n_agents), dtype=np.int64)
        self.start_episode(empty.astype(bool), empty)

    def prior(self) -> np.ndarray:
        """The inter-OM prior ``[R,G]`` of each co-player role for a new episode."""
        smoothed = self.counts + self.prior_count
        return smoothed / smoothed.sum(axis=-1, keepdims=True)

    def start_episode(self, focal: np.ndarray, role_of_slot: np.ndarray) -> None:
        """Fold the finished training episodes' goals into the counts, then reset the beliefs for
        new episodes where planning agents play at ``focal [B,N]`` and role ``role_of_slot[b, j]``
        sits in slot j: every focal agent's belief about slot j starts at that role's prior."""
        focal, role_of_slot = np.asarray(focal, dtype=bool), np.asarray(role_of_slot, dtype=np.int64)
        if focal.shape != role_of_slot.shape:
            raise ValueError(f"focal {focal.shape} and role_of_slot {role_of_slot.shape} must have the same shape")
        if self.training:
            self._fold()
        self.focal, self.role_of_slot = focal, role_of_slot
        self.training = False
        prior = self.prior()[role_of_slot]                                  # [B,N(j),G]
        self.belief = np.broadcast_to(prior[:, None], (len(focal), self.n_agents, self.n_agents, self.n_goals)).copy()
        self.reached = np.zeros((len(focal), self.n_agents, self.n_goals))

    def _fold(self) -> None:
        """counts_r <- α^k counts_r + Σ_l α^(k-l) reached_r(episode l), over the k episodes (envs, in
        order) in which role r played next to a planning agent; reached_r sums r's slots there."""
        focal = self.focal.astype(np.int64)
        appears = (focal.sum(axis=1, keepdims=True) - focal) > 0                          # [B,N] next to a planner
        onehot = ((self.role_of_slot[..., None] == np.arange(self.n_roles)) & appears[..., None]).astype(np.float64)
        present = onehot.max(axis=1, initial=0.0)                                          # [B,R]
        reached = np.einsum("bnr,bng->brg", onehot, self.reached)                          # [B,R,G]
        k = present.sum(axis=0)                                                            # [R]
        weight = present * self.alpha ** (k - np.cumsum(present, axis=0))                  # [B,R]
        self.counts = self.alpha ** k[:, None] * self.counts + np.einsum("br,brg->rg", weight, reached)

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
        return {"counts": self.counts.copy(), "focal": self.focal.copy(), "role_of_slot": self.role_of_slot.copy(),
                "training": self.training, "reached": self.reached.copy()}

    def load_state_dict(self, state: dict) -> None:
        if state["counts"].shape != self.counts.shape:
            raise ValueError(f"inter-OM counts of shape {state['counts'].shape} do not fit this run's "
                             f"{self.counts.shape} (n_roles, n_goals)")
        self.counts = state["counts"].copy()
        self.training = False
        self.start_episode(state["focal"], state["role_of_slot"])
        self.training, self.reached = state["training"], state["reached"].copy()
