"""HOP's beliefs over co-players' goals (docs/methods.md: HOP), vectorised over envs × focal agents × co-players × goals.

- Intra-OM: within an episode, ``belief[b, i, j, g]`` (focal slot i's belief that slot j pursues
  goal g in env b) is multiplied by π_ω's likelihood of j's last action under g and renormalised.
- Inter-OM: across episodes, ``counts[r, g]`` are discounted counts of the goals reached by the
  co-player IDENTITY r (its role, an index into the controller's roles), not by a slot: with
  ``shuffle_slots`` the slot a co-player occupies changes every episode. Every training episode
  (env) in which role r plays next to at least one planning agent discounts ``counts[r]`` by
  α = ``inter_om_alpha`` and adds the goals r reached there, normalised to one unit of evidence
  per episode (the goals of r's slots there as fractions summing to 1; nothing if none reached).
  An episode's prior for slot j is the Dirichlet mean ``(counts[r_j] + k) / (Σ counts[r_j] + G k)``
  with r_j the role in slot j and a pseudo-count scaled to the evidence,
  ``k = max(κ, ρ Σ counts[r_j])`` (κ = ``belief_prior_count``, ρ = ``belief_prior_share``): however
  many episodes agree, no goal's prior falls below ρ / (1 + G ρ), so one batch of many envs in which
  every co-player took hares cannot make the stag unbelievable (intra-OM evidence can still move
  the belief). (One role learns, so the focal role needs no key.)
- Quality: the belief every planning agent held about each co-player after 1, 3 and 5 of its
  steps (those observed while a planning agent of that env still plays; the actor updates the
  beliefs of those envs only) is kept, and ``quality()`` gives P(the goal that co-player went on to reach) at those
  steps, per co-player role, for the finished episodes.

The diagonal (i = j) is never updated. ``state_dict`` holds everything, the goals reached in
the episodes not yet folded into the counts included, so a checkpoint resumes exactly.
"""
from __future__ import annotations

import numpy as np
import torch

LIKELIHOOD_FLOOR = 1e-6  # an observed action never rules a goal out completely
QUALITY_STEPS = (1, 3, 5)  # belief quality: P(true goal) after this many observed steps


class GoalBeliefs:
    """Intra-episode beliefs ``[B,N,N,G]`` and inter-episode goal counts per co-player role ``[R,G]``."""

    def __init__(self, n_roles: int, n_agents: int, n_goals: int, alpha: float, prior_count: float,
                 prior_share: float = 0.0) -> None:
        if not 0.0 <= alpha <= 1.0 or prior_count <= 0.0 or prior_share < 0.0:
            raise ValueError(f"need 0 <= inter_om_alpha <= 1, belief_prior_count > 0 and belief_prior_share >= 0, "
                             f"got {alpha}, {prior_count}, {prior_share}")
        self.n_roles, self.n_agents, self.n_goals = n_roles, n_agents, n_goals
        self.alpha, self.prior_count, self.prior_share = alpha, prior_count, prior_share
        self.counts = np.zeros((n_roles, n_goals))
        empty = np.zeros((0, n_agents), dtype=np.int64)
        self.start_episode(empty.astype(bool), empty)

    def prior(self) -> np.ndarray:
        """The inter-OM prior ``[R,G]`` of each co-player role for a new episode."""
        pseudo = np.maximum(self.prior_count, self.prior_share * self.counts.sum(axis=-1, keepdims=True))
        smoothed = self.counts + pseudo
        return smoothed / smoothed.sum(axis=-1, keepdims=True)

    def start_episode(self, focal: np.ndarray, role_of_slot: np.ndarray) -> None:
        """Fold the finished training episodes' goals into the counts, then reset the beliefs for
        new episodes where planning agents play at ``focal [B,N]`` and role ``role_of_slot[b, j]``
        sits in slot j: every focal agent's belief about slot j starts at that role's prior."""
        focal, role_of_slot = np.asarray(focal, dtype=bool), np.asarray(role_of_slot, dtype=np.int64)
        if focal.shape != role_of_slot.shape:
            raise ValueError(f"focal {focal.shape} and role_of_slot {role_of_slot.shape} must have the same shape")
        if hasattr(self, "focal"):
            self._fold(np.arange(len(self.focal)))
        batch = len(focal)
        self.focal, self.role_of_slot = focal.copy(), role_of_slot.copy()
        self.fold_pending = np.zeros(batch, dtype=bool)
        self.belief = np.zeros((batch, self.n_agents, self.n_agents, self.n_goals))
        self.reached = np.zeros((batch, self.n_agents, self.n_goals))
        self.first_reached = np.full((batch, self.n_agents), -1, dtype=np.int64)
        self.observed_steps = np.zeros((batch, self.n_agents), dtype=np.int64)
        self.snapshots = np.full((len(QUALITY_STEPS), batch, self.n_agents, self.n_agents, self.n_goals), np.nan)
        self._reset_rows(np.arange(batch))

    def restart(self, rows: np.ndarray, focal: np.ndarray, role_of_slot: np.ndarray) -> None:
        """``start_episode`` for the envs ``rows`` only (a runner that streams episodes): fold
        their finished training episodes (in the order of ``rows``), then start new episodes there
        with ``focal [len(rows),N]`` and ``role_of_slot [len(rows),N]``; other envs are untouched."""
        rows = np.asarray(rows, dtype=np.int64)
        focal, role_of_slot = np.asarray(focal, dtype=bool), np.asarray(role_of_slot, dtype=np.int64)
        if focal.shape != (len(rows), self.n_agents) or role_of_slot.shape != focal.shape:
            raise ValueError(f"restart: focal {focal.shape} and role_of_slot {role_of_slot.shape} must be "
                             f"({len(rows)}, {self.n_agents}), one row per restarted env")
        self._fold(rows)
        self.focal[rows], self.role_of_slot[rows] = focal, role_of_slot
        self._reset_rows(rows)

    def _reset_rows(self, rows: np.ndarray) -> None:
        prior = self.prior()[self.role_of_slot[rows]]                       # [E,N(j),G]
        self.belief[rows] = prior[:, None]
        self.reached[rows] = 0.0
        self.first_reached[rows] = -1
        self.observed_steps[rows] = 0
        self.snapshots[:, rows] = np.nan

    def _fold(self, rows: np.ndarray) -> None:
        """counts_r <- α^k counts_r + Σ_l α^(k-l) reached_r(episode l), over the k finished training
        episodes (envs ``rows`` with a fold pending, in that order) in which role r played next to
        a planning agent; reached_r sums r's slots there. Each episode is folded once."""
        rows = rows[self.fold_pending[rows]]
        self.fold_pending[rows] = False
        if not len(rows):
            return
        focal = self.focal[rows].astype(np.int64)
        appears = (focal.sum(axis=1, keepdims=True) - focal) > 0                          # [E,N] next to a planner
        onehot = ((self.role_of_slot[rows][..., None] == np.arange(self.n_roles)) & appears[..., None]).astype(np.float64)
        present = onehot.max(axis=1, initial=0.0)                                          # [E,R]
        reached = np.einsum("bnr,bng->brg", onehot, self.reached[rows])                    # [E,R,G]
        reached /= np.maximum(reached.sum(axis=-1, keepdims=True), 1e-12)                  # one unit per episode
        k = present.sum(axis=0)                                                            # [R]
        weight = present * self.alpha ** (k - np.cumsum(present, axis=0))                  # [E,R]
        self.counts = self.alpha ** k[:, None] * self.counts + np.einsum("br,brg->rg", weight, reached)

    def update(self, likelihood: np.ndarray, observed: np.ndarray) -> None:
        """Bayes step: ``likelihood [B,N,G]`` = π_ω(a_j | s, g) of each slot's last action;
        ``observed [B,N]`` says which slots acted (alive) and count as evidence."""
        lik = np.where(observed[..., None], np.maximum(likelihood, LIKELIHOOD_FLOOR), 1.0)
        lik = np.broadcast_to(lik[:, None], self.belief.shape).copy()
        lik[:, np.arange(self.n_agents), np.arange(self.n_agents)] = 1.0
        posterior = self.belief * lik
        self.belief = posterior / posterior.sum(axis=-1, keepdims=True)
        self.observed_steps += observed
        for index, k in enumerate(QUALITY_STEPS):
            b, j = np.nonzero(observed & (self.observed_steps == k))
            self.snapshots[index, b, :, j] = self.belief[b, :, j]

    def record(self, reached: np.ndarray, training: bool) -> None:
        """Tally the goals reached at this step: ``reached [B,N]`` goal index or -1; ``training``:
        whether these episodes count for the inter-OM statistics (test episodes do not)."""
        self.fold_pending[:] = training
        b, j = np.nonzero(reached >= 0)
        np.add.at(self.reached, (b, j, reached[b, j]), 1.0)
        first = self.first_reached[b, j] < 0
        self.first_reached[b[first], j[first]] = reached[b[first], j[first]]

    def quality(self, rows: np.ndarray | None = None) -> dict[tuple[int, int], np.ndarray]:
        """``{(role, k): P(true goal) values}`` over the (episode, planning agent, co-player) pairs of
        the current episodes (of envs ``rows``, default all) where the co-player of role ``role``
        reached a goal (its first one is the true goal) after having been observed for at least k steps."""
        chosen = np.zeros(len(self.focal), dtype=bool)
        chosen[slice(None) if rows is None else rows] = True
        b, i, j = np.nonzero((self.focal & chosen[:, None])[:, :, None] & (self.first_reached[:, None, :] >= 0)
                             & (np.arange(self.n_agents)[:, None] != np.arange(self.n_agents))[None])
        roles, true = self.role_of_slot[b, j], self.first_reached[b, j]
        found: dict[tuple[int, int], np.ndarray] = {}
        for index, k in enumerate(QUALITY_STEPS):
            p_true = self.snapshots[index, b, i, j, true]
            for role in np.unique(roles):
                values = p_true[(roles == role) & ~np.isnan(p_true)]
                if values.size:
                    found[(int(role), k)] = values
        return found

    def sample(self, env_idx: np.ndarray, slot_idx: np.ndarray, n_trees: int, generator: torch.Generator) -> np.ndarray:
        """Co-players' goals for ``n_trees`` trees of each row: long ``[M, n_trees, N]``."""
        probs = torch.from_numpy(self.belief[env_idx, slot_idx]).reshape(-1, self.n_goals)
        goals = torch.multinomial(probs, n_trees, replacement=True, generator=generator)
        return goals.view(len(env_idx), self.n_agents, n_trees).permute(0, 2, 1).numpy()

    def state_dict(self) -> dict:
        return {"counts": self.counts.copy(), "focal": self.focal.copy(), "role_of_slot": self.role_of_slot.copy(),
                "fold_pending": self.fold_pending.copy(), "reached": self.reached.copy()}   # quality snapshots: diagnostics only

    def load_state_dict(self, state: dict) -> None:
        if state["counts"].shape != self.counts.shape:
            raise ValueError(f"inter-OM counts of shape {state['counts'].shape} do not fit this run's "
                             f"{self.counts.shape} (n_roles, n_goals)")
        self.counts = state["counts"].copy()
        self.fold_pending[:] = False
        self.start_episode(state["focal"], state["role_of_slot"])
        pending = state.get("fold_pending", state.get("training", False))   # "training": one flag for all envs, before
        self.fold_pending[:] = pending
        self.reached = state["reached"].copy()
