"""Known-answer probe of the search: whole episodes with exact co-player models.

One planning agent plays in ``focal_slot`` of a batch of envs next to rule-based co-players; the
search is given the co-players' true policies (``RuleTreeGoals``, every tree with each co-player's
true goal), a flat prior and a constant leaf value. The same envs (same seeds) are then played
with a rule in the focal slot. A faithful search earns at least what the rule earns there.
With ``coplayer_model="learned"`` the co-players are simulated by a trained run's π_ω instead,
still under their true goals: what that run's co-player model costs when its beliefs are exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from envs.grid_core import GridCore
from envs.rule_based import make, play_rules
from planners.mcts import BatchedMCTS, SearchModels, SearchSettings
from planners.rule_goals import DEFAULT_GOAL_ROLES, RuleTreeGoals
from planners.tree_goals import DiscreteTreeGoals, TreeGoals


STAG_HUNT_SMALL = dict(grid_size=4, n_walls=0, n_stags=1, n_hares=4, episode_limit=35)  # env args of the probes


def exact_goal_roles(env_name: str, coplayer_roles: list[str]) -> tuple[str, ...]:
    """The rules ``RuleTreeGoals`` models goals with: the env's goal rules, then every co-player
    rule that is none of them (e.g. RAND) as a goal of its own."""
    goal_roles = DEFAULT_GOAL_ROLES[env_name]
    return goal_roles + tuple(role for role in dict.fromkeys(coplayer_roles) if role not in goal_roles)


class ConstantModels:
    """Prior/value network stand-in: flat prior, the same leaf value everywhere."""

    def __init__(self, n_actions: int, value: float = 0.0) -> None:
        self.n_actions, self.value = n_actions, value

    def prior_value(self, obs, time, slot) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(time), self.n_actions)), np.full(len(time), self.value)


class PartialModels:
    """A trained prior/value model with one part switched off: ``prior`` False gives a flat prior,
    ``value`` False a leaf value of 0 (to tell which part of a trained run's networks a search
    result comes from)."""

    def __init__(self, models: SearchModels, prior: bool, value: bool) -> None:
        self.models, self.prior, self.value = models, prior, value
        self.sparse_inputs = bool(getattr(models, "sparse_inputs", False))
        if hasattr(models, "coplayer_logits"):       # the run's π_ω, untouched (for coplayer_model "learned")
            self.coplayer_logits = models.coplayer_logits

    def prior_value(self, obs, time, slot) -> tuple[np.ndarray, np.ndarray]:
        logits, value = self.models.prior_value(obs, time, slot)
        return (logits if self.prior else np.zeros_like(logits)), (value if self.value else np.zeros_like(value))


def _exact_coplayers(goals: np.ndarray, goal_roles: tuple[str, ...], networks) -> TreeGoals:
    return RuleTreeGoals(goals, goal_roles)


def _learned_coplayers(goals: np.ndarray, goal_roles: tuple[str, ...], networks) -> TreeGoals:
    if networks is None or not hasattr(networks, "coplayer_logits"):
        raise ValueError("probe_search: coplayer_model 'learned' needs a trained run's networks")
    if goals.max(initial=0) >= 2:
        raise ValueError(f"probe_search: coplayer_model 'learned' models goals {goal_roles[:2]} (stag, hare); "
                         f"co-players {goal_roles[2:]} have no goal of the trained model")
    return DiscreteTreeGoals(networks.coplayer_logits, goals, bool(getattr(networks, "sparse_inputs", False)))


# who simulates the co-players inside the trees, under their true goals
COPLAYER_MODELS = {"exact": _exact_coplayers, "learned": _learned_coplayers}


class RolloutModels:
    """Flat prior; the leaf value is the planning agent's discounted return when every agent,
    the planning one included, follows its rule from the leaf to the end (one rollout in the
    true simulator): the exact value of the rule-based policy the planner should improve on. The
    rules' random draws (RAND's moves, ties) are fresh in every rollout, not the node's stream."""

    def __init__(self, roles: list[str], discount: float, seed: int = 0) -> None:
        self.roles, self.discount = roles, discount
        self.rollout: GridCore | None = None
        self.seeds = np.random.default_rng(seed)

    def evaluate_states(self, sim: GridCore, rows: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.rollout is None:
            self.rollout = type(sim)(1, **sim.args)
        core = self.rollout
        core.set_state(sim.get_state(rows))
        for generator in core.rng:   # fresh draws: the node's stream would replay one sample in every rollout
            generator.bit_generator.state = np.random.default_rng(self.seeds.integers(2**63)).bit_generator.state
        policies = [make(core.name, role) for role in self.roles]
        index = np.arange(len(rows))
        value, scale = np.zeros(len(rows)), np.ones(len(rows))
        playing = core.alive[index, slot] & ~core.done
        while playing.any():
            actions = np.stack([p.act(core, np.array([k]))[:, 0] for k, p in enumerate(policies)], axis=1)
            rewards, _, _ = core.step(actions)
            value += np.where(playing, scale * rewards[index, slot], 0.0)
            scale *= self.discount
            playing &= core.alive[index, slot] & ~core.done
        return np.zeros((len(rows), sim.n_actions)), value


@dataclass
class ProbeResult:
    """Mean focal return of the planner and of the rule in the same slot, over the same envs."""

    planner: float
    rule: float
    planner_returns: np.ndarray
    rule_returns: np.ndarray


def probe_search(core_cls: type[GridCore], env_args: dict, seeds: np.ndarray, focal_slot: int, roles: list[str],
                 settings: SearchSettings, rule: str, leaf: str = "rollout", leaf_value: float = 0.0,
                 seed: int = 0, networks: SearchModels | None = None, coplayer_model: str = "exact",
                 true_goal_share: float = 1.0) -> ProbeResult:
    """Focal return of the search with exact co-player models (greedy actions) and of ``rule`` in
    the same slot, next to co-player rules ``roles`` (the focal slot's entry is ignored), on envs
    ``seeds``. Every co-player is modelled by its own rule (``exact_goal_roles``). Leaves are valued
    by a rollout of the rules (``leaf="rollout"``, the focal agent playing ``rule``), by the
    constant ``leaf_value`` (``leaf="constant"``), or by ``networks`` (``leaf="networks"``: a trained
    run's prior and value, so that only its co-player model is replaced by the exact one). With a
    ``settings.root_noise_fraction`` above 0 every search gets root noise, as in training.
    ``coplayer_model`` (``COPLAYER_MODELS``): ``exact`` simulates each co-player by its rule,
    ``learned`` by ``networks``' π_ω under the co-player's true goal (NS: stag, NH: hare).
    ``true_goal_share`` below 1 stands for beliefs that are not certain: each tree's goal of each
    co-player is its true one with that probability and the other of the first two goals (stag
    and hare) otherwise, drawn afresh at every decision (seeded by ``seed``)."""
    if not 0 <= true_goal_share <= 1:
        raise ValueError(f"probe_search: true_goal_share {true_goal_share} must be in [0, 1]")
    if coplayer_model not in COPLAYER_MODELS:
        raise ValueError(f"probe_search: coplayer_model '{coplayer_model}' is unknown; allowed: {', '.join(COPLAYER_MODELS)}")
    core = core_cls(len(seeds), **env_args)
    goal_roles = exact_goal_roles(core.name, [role for slot, role in enumerate(roles) if slot != focal_slot])
    true_goals = np.array([goal_roles.index(r) if r in goal_roles else 0 for r in roles])
    everyone = [rule if slot == focal_slot else role for slot, role in enumerate(roles)]
    models = {"rollout": lambda: RolloutModels(everyone, settings.discount),
              "constant": lambda: ConstantModels(core.n_actions, leaf_value),
              "networks": lambda: networks}[leaf]()
    if models is None:
        raise ValueError("probe_search: leaf 'networks' needs the networks")
    search = BatchedMCTS(core, models, settings)
    COPLAYER_MODELS[coplayer_model](np.broadcast_to(true_goals, (1, settings.tree_num, core.n_agents)), goal_roles,
                                    networks)   # a bad pairing fails here, before any episode
    generator = torch.Generator().manual_seed(seed)
    draws = np.random.default_rng(seed)

    def plan(core: GridCore, rows: np.ndarray) -> np.ndarray:
        goals = np.broadcast_to(true_goals, (len(rows), settings.tree_num, core.n_agents))
        if true_goal_share < 1:
            other = np.where(goals < 2, 1 - goals, goals)            # stag <-> hare; other goals stay
            goals = np.where(draws.random(goals.shape) < true_goal_share, goals, other)
        coplayers = COPLAYER_MODELS[coplayer_model](goals, goal_roles, networks)
        result = search.search(core, rows, np.full(len(rows), focal_slot), coplayers, generator, explore=True)
        return result.greedy()

    focal_rule = make(core.name, rule)
    planner = play_rules(core, seeds, roles, chosen=(focal_slot, plan))[:, focal_slot]
    baseline = play_rules(core, seeds, roles, chosen=(focal_slot, lambda core, rows: focal_rule.act(
        core, np.array([focal_slot]))[rows, 0]))[:, focal_slot]
    return ProbeResult(float(planner.mean()), float(baseline.mean()), planner, baseline)
