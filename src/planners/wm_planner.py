"""World-model planner (docs/methods.md: World-model planning): a_i* = argmax over available a_i of E_{a_-i ~ co-player model}[ r̂ + γ V(e') ].

The planner works on any ``PlanningModel`` (``planners.wm_models``: the learned latent model, or
the true simulator for tests and upper bounds), batched over all planning rows (envs x agents).

- ``one_step``: for every row, own action a and co-player joint action j (ego-first), one model
  step gives r̂, the probability c that the agent goes on and the next state;
  Q(a) = Σ_j p(j) [ r̂ + γ c V(next) ].
- ``h_step`` (``horizon`` H): the first step is the same expectation, but V(next) is replaced by
  a greedy rollout of H-1 more steps ending in V: at each later step the co-players' joint
  action is sampled from the co-player model, the agent's own action is the one-step greedy
  choice (argmax r̂ + γ c V) against an independent "decision" sample (so it does not peek at
  the sampled actions it then meets), and returns are discounted and cut by c.

Co-player expectation: ``exact`` enumerates all A^K joint actions of the K co-players (343 for
three co-players and seven actions; branches with probability 0 — unavailable actions — and
unavailable own actions are never stepped); ``top_mass`` keeps, per row, the most likely joint
actions until they hold ``mass`` of the probability and renormalises over them (deterministic; Q
moves by at most (1 − kept mass) × the spread of the branch returns); ``sampled`` draws
``samples`` joint actions per row and weighs them equally; ``stratified`` also weighs ``samples``
joint actions equally, but draws each co-player's ``samples`` actions by systematic sampling (points
(s + u) / samples through its cumulative distribution, one uniform u per row and co-player, so
action a appears ⌊samples·p(a)⌋ or ⌈samples·p(a)⌉ times) and pairs them across co-players by
independent random permutations (a Latin hypercube): every joint action is still a draw from the
product of the co-player distributions, so Q stays an unbiased estimate, and each co-player's
marginal is represented almost exactly, which removes most of the sampling noise of ``sampled``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Protocol

import torch

from utils.errors import ConfigError

# (obs [M,C,H,W], time [M,1], prev [M,N] ego-first, avail [M,N,A] ego-first, root [M]) -> probs [M,N-1,A]
CoplayerPolicy = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

PLANNERS = ("one_step", "h_step")


class PlanningModel(Protocol):
    """What the planner needs of a model; states are opaque, one row per branch."""

    def expand(self, state, index: torch.Tensor): ...
    def step(self, state, joint: torch.Tensor) -> tuple[object, torch.Tensor, torch.Tensor]: ...
    def value(self, state) -> torch.Tensor: ...
    def observe(self, state) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]: ...


@dataclass(frozen=True)
class PlannerSettings:
    planner: str = "one_step"
    horizon: int = 1
    expectation: str = "exact"
    samples: int = 16
    gamma: float = 0.99
    mass: float = 0.99

    def __post_init__(self) -> None:
        if self.planner not in PLANNERS:
            raise ConfigError(f"wm_planner: '{self.planner}' is unknown; allowed: {', '.join(PLANNERS)}")
        if self.expectation not in EXPECTATIONS:
            raise ConfigError(f"wm_coplayer_expectation: '{self.expectation}' is unknown; allowed: "
                              f"{', '.join(EXPECTATIONS)}")
        if self.horizon < 1 or self.samples < 1:
            raise ConfigError(f"wm_horizon ({self.horizon}) and wm_samples ({self.samples}) must be >= 1")
        if not 0 < self.mass <= 1:
            raise ConfigError(f"wm_mass ({self.mass}) must be in (0, 1]")

    @property
    def draws(self) -> int | None:
        """Co-player joint actions drawn per row; None for an expectation that enumerates them."""
        return None if self.expectation in ENUMERATED else self.samples

    @property
    def depth(self) -> int:
        """Model steps per decision."""
        return self.horizon if self.planner == "h_step" else 1


class WMPlanner:
    """Batched one-step / H-step lookahead; ``q(model, root, coplayers, generator) -> Q [R,A]`` (-inf unavailable)."""

    def __init__(self, settings: PlannerSettings) -> None:
        self.settings = settings

    def q(self, model: PlanningModel, root, coplayers: CoplayerPolicy, generator: torch.Generator) -> torch.Tensor:
        return self.branches(model, root, coplayers, generator).q()

    def branches(self, model: PlanningModel, root, coplayers: CoplayerPolicy, generator: torch.Generator) -> "Branches":
        """Every branch ``q`` sums, with its first step's reward and continuation and its return."""
        obs, time, prev, avail = model.observe(root)
        rows, n_agents, n_actions = avail.shape
        probs = coplayers(obs, time, prev, avail, torch.arange(rows, device=avail.device))  # [R,K,A]
        joints, weights = self._coplayer_joints(probs, generator)                      # [R,J,K], [R,J]
        keep = avail[:, 0, :, None] & (weights[:, None, :] > 0)                        # [R,A,J]
        r, a, j = torch.nonzero(keep, as_tuple=True)
        joint = torch.cat([a[:, None], joints[r, j]], dim=-1)
        state, reward, cont = model.step(model.expand(root, r), joint)
        ret = reward + self.settings.gamma * cont * self._tail(model, state, r, coplayers, generator,
                                                               self.settings.depth - 1)
        return Branches(r, a, j, joint, weights[r, j], state, reward, cont, ret, avail[:, 0], joints.shape[1])

    def _coplayer_joints(self, probs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The co-player joint actions ``[R,J,K]`` a row's expectation sums over, with their weights ``[R,J]``."""
        return EXPECTATIONS[self.settings.expectation](probs, self.settings, generator)

    def _tail(self, model: PlanningModel, state, root: torch.Tensor, coplayers: CoplayerPolicy,
              generator: torch.Generator, steps: int) -> torch.Tensor:
        """Return from ``state`` [M]: V after ``steps`` greedy rollout steps (V itself when 0)."""
        if steps == 0:
            return model.value(state)
        obs, time, prev, avail = model.observe(state)
        probs = coplayers(obs, time, prev, avail, root)
        decide, meet = (_sample(probs, generator) for _ in range(2))                   # [M,K] each
        m, a = torch.nonzero(avail[:, 0], as_tuple=True)
        tried, reward, cont = model.step(model.expand(state, m), torch.cat([a[:, None], decide[m]], dim=-1))
        scores = torch.full((avail.shape[0], avail.shape[2]), -torch.inf, device=avail.device)
        scores[m, a] = reward + self.settings.gamma * cont * model.value(tried)
        own = scores.argmax(dim=-1)
        state, reward, cont = model.step(state, torch.cat([own[:, None], meet], dim=-1))
        return reward + self.settings.gamma * cont * self._tail(model, state, root, coplayers, generator, steps - 1)


@dataclass
class Branches:
    """One planner call's branches, one entry per (row, own action, co-player joint action) it steps:
    ``row``/``own``/``joint_index`` [B], the ego-first ``joint`` [B,N], its probability ``weight``, the
    first step's ``state``, ``reward`` and continuation ``cont``, and ``ret`` = reward + γ·cont·(the
    tail's return: V of the next state for ``one_step``). ``own_avail`` [R,A] the root's own actions."""
    row: torch.Tensor
    own: torch.Tensor
    joint_index: torch.Tensor
    joint: torch.Tensor
    weight: torch.Tensor
    state: object
    reward: torch.Tensor
    cont: torch.Tensor
    ret: torch.Tensor
    own_avail: torch.Tensor
    n_joint: int

    def per_action(self, per_branch: torch.Tensor) -> torch.Tensor:
        """``[R,A]``: Σ over each (row, own action)'s branches of weight × ``per_branch``; -inf where the
        own action is unavailable."""
        rows, n_actions = self.own_avail.shape
        values = torch.zeros(rows, n_actions, self.n_joint, dtype=per_branch.dtype, device=per_branch.device)
        values[self.row, self.own, self.joint_index] = per_branch * self.weight
        return values.sum(-1).masked_fill(~self.own_avail, -torch.inf)

    def q(self) -> torch.Tensor:
        """Q ``[R,A]`` (-inf unavailable)."""
        return self.per_action(self.ret)


def top_mass(weights: torch.Tensor, mass: float) -> torch.Tensor:
    """``weights [R,J]`` (rows summing to 1) -> the same rows keeping only their most likely entries,
    in order, until the kept ones hold at least ``mass``; renormalised to sum to 1 (ties keep the
    lower index first, so the choice is deterministic). ``mass`` 1 keeps every entry: the exact expectation."""
    if mass >= 1:
        return weights
    ordered, order = torch.sort(weights, dim=-1, descending=True, stable=True)
    before = ordered.cumsum(-1) - ordered                                              # mass ahead of each entry
    kept = torch.zeros_like(weights).scatter(-1, order, (before < mass * weights.sum(-1, keepdim=True)).to(weights.dtype))
    weights = weights * kept
    return weights / weights.sum(-1, keepdim=True)


def latin_hypercube(probs: torch.Tensor, samples: int, generator: torch.Generator) -> torch.Tensor:
    """``samples`` joint actions ``[R,S,K]`` from independent per-co-player distributions ``probs
    [R,K,A]``: each co-player's S actions by systematic sampling (the points (s + u) / S, s = 0..S-1,
    through its cumulative distribution, one uniform u per row and co-player), then shuffled by an
    independent random permutation per row and co-player. Each joint action is a draw from the
    product distribution; across the S of them, action a of a co-player appears ⌊S·p(a)⌋ or ⌈S·p(a)⌉
    times. Actions of probability 0 are never drawn."""
    rows, coplayers, n_actions = probs.shape
    cdf = probs.to(torch.float64).cumsum(-1)                                           # [R,K,A]
    offset = torch.rand(rows, coplayers, 1, generator=generator, dtype=torch.float64, device=probs.device)
    points = (torch.arange(samples, dtype=torch.float64, device=probs.device) + offset) / samples * cdf[..., -1:]
    drawn = torch.searchsorted(cdf, points, right=True)                                # first a with cdf(a) > point
    last = n_actions - 1 - (probs > 0).flip(-1).to(torch.int8).argmax(-1, keepdim=True)  # rounding at the top
    drawn = torch.minimum(drawn, last)
    order = torch.rand(rows, coplayers, samples, generator=generator, device=probs.device).argsort(-1)
    return drawn.gather(-1, order).transpose(1, 2)


def _enumerated(probs: torch.Tensor, settings: PlannerSettings, generator: torch.Generator):
    """``exact``: all A^K joint actions, weighted by their probability (0 for unavailable ones)."""
    rows, coplayers, n_actions = probs.shape
    grid = torch.tensor(list(itertools.product(range(n_actions), repeat=coplayers)), dtype=torch.long,
                        device=probs.device).view(-1, coplayers)                       # [J,K]
    weights = probs[:, torch.arange(coplayers, device=probs.device), grid].prod(-1)    # [R,J]
    return grid.expand(rows, -1, -1), weights


def _likeliest(probs: torch.Tensor, settings: PlannerSettings, generator: torch.Generator):
    """``top_mass``: the enumerated joint actions, the likeliest holding ``mass``, renormalised."""
    joints, weights = _enumerated(probs, settings, generator)
    return joints, top_mass(weights, settings.mass)


def _drawn(probs: torch.Tensor, settings: PlannerSettings, generator: torch.Generator):
    """``sampled``: ``samples`` independent draws per co-player, weighted equally."""
    rows, coplayers, n_actions = probs.shape
    samples = torch.multinomial(probs.reshape(-1, n_actions), settings.samples, replacement=True,
                                generator=generator)                                   # [R*K,S]
    joints = samples.view(rows, coplayers, -1).transpose(1, 2)                         # [R,S,K]
    return joints, _draw_weights(joints, n_actions)


def _stratified(probs: torch.Tensor, settings: PlannerSettings, generator: torch.Generator):
    """``stratified``: ``samples`` joint actions of a Latin hypercube, weighted equally."""
    joints = latin_hypercube(probs, settings.samples, generator)
    return joints, _draw_weights(joints, probs.shape[-1])


def _draw_weights(joints: torch.Tensor, n_actions: int) -> torch.Tensor:
    """Weights ``[R,S]`` of ``S`` equally weighted draws ``joints [R,S,K]``, a repeated joint action's
    weights gathered on its first draw (the others 0, so they are never stepped): the same
    estimate, fewer branches where the co-player model is decisive."""
    draws = joints.shape[1]
    codes = (joints * n_actions ** torch.arange(joints.shape[2], device=joints.device)).sum(-1)   # [R,S]
    same = codes[:, :, None] == codes[:, None, :]                                      # [R,S,S]
    earlier = torch.ones(draws, draws, dtype=torch.bool, device=joints.device).tril(-1)
    first = ~(same & earlier).any(-1)
    return first * same.sum(-1) / draws


# the expectations whose branches are a function of the co-player probabilities alone (no draws)
ENUMERATED = ("exact", "top_mass")
# wm_coplayer_expectation -> (probs [R,K,A], settings, generator) -> (joints [R,J,K], weights [R,J])
EXPECTATIONS: dict[str, Callable] = {"exact": _enumerated, "top_mass": _likeliest, "sampled": _drawn,
                                     "stratified": _stratified}


def _sample(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One joint action ``[M,K]`` from independent per-co-player distributions ``probs [M,K,A]``."""
    return torch.multinomial(probs.flatten(0, 1), 1, generator=generator).view(probs.shape[:2])
