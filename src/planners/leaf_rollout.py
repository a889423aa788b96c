"""Leaf values from short rollouts under the search's own models (``mcts_rollout_depth``).

A value network trained on what the agent did so far knows nothing of rewards it never reached:
next to stag hunters, an agent that only ever took hares has a value net that has only seen hare
returns, and a search ~200 simulations deep cannot see a stag four or more steps away through it.
With ``depth`` d > 0 a new leaf s is valued by the d-step return of one rollout from s instead,
bootstrapped with the value network where the rollout stops early:

    v(s) = sum_{k<d'} discount^k r_k + discount^d' v_net(s_d')   (the last term only if still playing)

where the planning agent samples its actions from the prior network and the co-players from
π_ω under the tree's goals (the same models the tree uses), all in the true simulator. The rollout
ends when the planning agent leaves or the env is done (d' < d, no bootstrap) or after d steps.
Every leaf of every tree is rolled out together: per step one prior call, one co-player call
and one batched ``core.step``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from envs.grid_core import STAY, GridCore
from planners.search_policy import coplayer_cdf, masked_softmax, sample_from_cdf

PriorValue = Callable[[GridCore, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
CoplayerLogits = Callable[[GridCore, np.ndarray], np.ndarray]


class LeafRollout:
    """d-step rollouts from search leaves (see module doc), in a scratch core of their own."""

    def __init__(self, core: GridCore, depth: int, discount: float) -> None:
        if depth < 1:
            raise ValueError(f"LeafRollout needs depth >= 1, got {depth}")
        self.core = type(core)(1, **core.args)
        self.depth, self.discount = depth, discount

    def values(self, sim: GridCore, rows: np.ndarray, focal: np.ndarray, logits: np.ndarray,
               prior_value: PriorValue, coplayer_logits: CoplayerLogits,
               generator: torch.Generator) -> np.ndarray:
        """Rollout values ``[L]`` of ``sim``'s rows ``rows`` (live leaves), planned for slots
        ``focal [L]``, whose prior logits ``logits [L,A]`` are known. ``prior_value(core, live,
        slots)`` gives ``(logits, value)`` of rows ``live`` of ``core``; ``coplayer_logits(core,
        live)`` the co-players' logits ``[l,N,A]`` there (rows index the leaves)."""
        core = self.core
        core.set_state(sim.get_state(rows))
        n, n_agents = len(rows), core.n_agents
        total, scale = np.zeros(n), np.ones(n)
        playing = np.ones(n, dtype=bool)
        for step in range(self.depth):
            live = np.flatnonzero(playing)
            index = np.arange(len(live))
            if step:
                logits = prior_value(core, live, focal[live])[0]
            avail = core.avail_actions()[live]
            moving = core.alive[live]
            moving[index, focal[live]] = False
            cdf = coplayer_cdf(coplayer_logits(core, live), moving, avail)
            own = np.cumsum(masked_softmax(logits, avail[index, focal[live]]), axis=-1)
            cdf[index, focal[live]] = own / own[:, -1:]
            actions = np.full((n, n_agents), STAY, dtype=np.int64)            # rows that stopped stay
            actions[live] = sample_from_cdf(cdf, generator)
            rewards, _, _ = core.step(actions, check=False)
            total[live] += scale[live] * rewards[live, focal[live]]
            scale[live] *= self.discount
            playing[live] = core.alive[live, focal[live]] & ~core.done[live]
            if not playing.any():
                return total
        live = np.flatnonzero(playing)
        total[live] += scale[live] * prior_value(core, live, focal[live])[1]
        return total
