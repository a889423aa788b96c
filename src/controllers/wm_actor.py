"""Actors with a world model (docs/methods.md: World-model planning).

``WMPlannerActor`` (``actor: wm_planner``, alg hop_plus_wm) acts with the world-model planner:
per step one batched lookahead for all rows of the learned role, co-player actions predicted by
MOA (conditioned on the OMG_AM subgoals when ``use_subgoal``). ``SubgoalWMActor`` (``actor:
subgoal_wm``, alg hop_plus_mbrl) is the HOP+ actor that also owns a world model for imagination.
"""
from __future__ import annotations

import numpy as np
import torch
from munch import Munch

from components.action_selectors import masked_logits
from controllers.actors import Actor, StepInputs
from controllers.subgoal_actor import SubgoalActor, build_opponent_models
from controllers.subgoal_history import SubgoalHistory
from controllers.subgoal_inputs import active_policy_inputs, subgoal_fields
from modules.opponent_models.ego import ego_slots, onehot_or_zero
from modules.world_model import REGISTRY as WORLD_MODELS
from modules.world_model.config import world_model_config
from modules.world_model.fitted import load_fitted
from modules.world_model.grid_rules import grid_rules
from planners.wm_models import LatentModel
from planners.wm_planner import PlannerSettings, WMPlanner
from utils.errors import ConfigError
from utils.draws import categorical, uniform_like
from utils.seeding import SEED_OFFSETS

EXPLORATION = ("softmax", "epsilon")


def build_world_model(args: Munch) -> torch.nn.Module:
    """The ``wm_latent`` world model: fresh (under a forked RNG, so the other modules see the same
    random stream), or the fitted one in ``wm_load_path``."""
    if args.wm_latent not in WORLD_MODELS:
        raise ConfigError(f"wm_latent: '{args.wm_latent}' is unknown; allowed: {', '.join(WORLD_MODELS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed + SEED_OFFSETS["world_model"])
        model = WORLD_MODELS[args.wm_latent](world_model_config(args))
    if args.wm_load_path:
        load_fitted(model, args.wm_load_path)
    return model.to(args.device)


def planner_settings(args: Munch) -> PlannerSettings:
    return PlannerSettings(args.wm_planner, args.wm_horizon, args.wm_coplayer_expectation, args.wm_samples, args.gamma,
                           args.wm_mass)


class WMPlannerActor(Actor):
    """Plans every decision with ``WMPlanner`` on the learned ``LatentModel``; explores in training
    by ``wm_explore`` (softmax over Q / ``wm_temperature``, or ``wm_epsilon``-greedy), acts greedily
    in tests when ``test_greedy``. Writes the OMG_AM fields (``subgoal``, ...) when ``use_subgoal``."""

    def __init__(self, args: Munch) -> None:
        super().__init__(args)
        if active_policy_inputs(args):
            raise ConfigError(f"actor wm_planner has no policy network: set policy_inputs: [] "
                              f"(got {list(args.policy_inputs)})")
        if "moa" not in args.learners:
            raise ConfigError(f"actor wm_planner predicts co-players with MOA: learners must include moa "
                              f"(got {list(args.learners)})")
        if args.wm_explore not in EXPLORATION:
            raise ConfigError(f"wm_explore: '{args.wm_explore}' is unknown; allowed: {', '.join(EXPLORATION)}")
        self.models = build_opponent_models(args)
        self.world_model = build_world_model(args)
        self.planner = WMPlanner(planner_settings(args))
        self.latent = LatentModel(self.world_model, grid_rules(args), args.episode_limit, args.wm_chunk_rows)
        self.history = SubgoalHistory.of(self.models, args)

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        return subgoal_fields(args)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"world_model": self.world_model, **self.models}

    def init_episode(self, batch_size: int, role_mask: np.ndarray) -> None:
        if self.history is not None:
            self.history.reset(batch_size)

    def act(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        args = self.args
        ego = ego_slots(slot_idx, args.n_agents)
        obs, time = inputs.obs[env_idx, slot_idx], inputs.time[env_idx].unsqueeze(-1)
        prev = inputs.prev_actions[env_idx[:, None], ego]
        avail = inputs.avail[env_idx[:, None], ego]
        extras: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            subgoal = self.history.infer(obs, onehot_or_zero(prev, args.n_actions), env_idx, slot_idx, test_mode,
                                         generator, extras) if self.history is not None else None
            q = self.planner.q(self.latent, self.latent.root(obs, time, prev, avail), self.coplayer_policy(subgoal),
                               generator)
        return self._choose(q, avail[:, 0], test_mode, generator), extras

    def coplayer_policy(self, subgoal: torch.Tensor | None):
        """MOA's co-player action distributions for planning rows (subgoals held at the root row's;
        None without OMG_AM)."""
        moa = self.models["moa"]

        def probs(obs, time, prev, avail, root):
            logits = moa(obs, time, onehot_or_zero(prev, self.args.n_actions),
                         subgoal[root] if moa.subgoal_dim else None)
            return torch.softmax(masked_logits(logits, avail[:, 1:]), dim=-1)
        return probs

    def _choose(self, q: torch.Tensor, avail: torch.Tensor, test_mode: bool,
                generator: torch.Generator) -> torch.Tensor:
        greedy = q.argmax(dim=-1)
        if test_mode and self.args.test_greedy:
            return greedy
        if self.args.wm_explore == "softmax":
            return categorical(torch.softmax(q / self.args.wm_temperature, dim=-1), generator)
        uniform = categorical(avail.float(), generator)
        explore = uniform_like(q, generator, shape=(len(q),)) < self.args.wm_epsilon
        return torch.where(explore, uniform, greedy)


class SubgoalWMActor(SubgoalActor):
    """The HOP+ actor (acts exactly as ``actor: subgoal``) that also owns a world model, trained by
    the ``world_model`` learner and rolled out by ``hop_plus_mbrl``'s imagination."""

    def __init__(self, args: Munch) -> None:
        super().__init__(args)
        self.world_model = build_world_model(args)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {**super().modules(), "world_model": self.world_model}
