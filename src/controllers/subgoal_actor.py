"""HOP+ actor (docs/methods.md: OMG_AM): π(a_i | o_i, g_j, â_j) with subgoals g_j inferred by OMG_AM and
co-player actions â_j predicted by MOA, all rows of the learned role in one batched call."""
from __future__ import annotations

import numpy as np
import torch
from munch import Munch

from components.action_selectors import REGISTRY as SELECTORS
from components.action_selectors import masked_logits
from controllers.actors import Actor, StepInputs
from controllers.policy_networks import PolicyNetworks
from controllers.subgoal_history import SubgoalHistory, ego_previous_actions
from controllers.subgoal_inputs import active_policy_inputs, compose_extra, policy_extra_dim, subgoal_fields, uses_moa
from modules.opponent_models import MOA, OMGPosterior, StateVAE
from modules.opponent_models.configs import moa_config, omg_config, vae_config
from modules.opponent_models.ego import coplayer_slots
from modules.opponent_models.saving import check_saved, load_into
from modules.world_model.config import world_model_config
from modules.world_model.fitted import read_fitted
from utils.errors import ConfigError
from utils.seeding import SEED_OFFSETS


def build_opponent_models(args: Munch) -> dict[str, torch.nn.Module]:
    """OMG_AM + VAE prior (when ``use_subgoal``) and MOA (when used), loaded from
    ``vae_load_path`` / ``moa_load_path`` if given. Initialised under a forked RNG so that the
    policy and everything after it see the same random stream as plain PPO."""
    models: dict[str, torch.nn.Module] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed + SEED_OFFSETS["opponent_models"])
        if args.use_subgoal:
            models["omg"] = OMGPosterior(omg_config(args))
            models["vae"] = StateVAE(vae_config(args))
        if uses_moa(args):
            models["moa"] = MOA(moa_config(args))
    for name, directory, key in pretrained_paths(args):
        load_into(models[name], directory, name, key)
    return {name: module.to(args.device) for name, module in models.items()}


def pretrained_paths(args: Munch) -> list[tuple[str, str, str]]:
    """``(module name, directory, config key)`` of every pretrained opponent model this run loads."""
    paths = []
    if args.use_subgoal and args.vae_load_path:
        paths.append(("vae", args.vae_load_path, "vae_load_path"))
    if uses_moa(args) and args.moa_load_path:
        paths.append(("moa", args.moa_load_path, "moa_load_path"))
    return paths


def check_pretrained(args: Munch) -> None:
    """ConfigError, before the run starts, if a pretrained model path is missing or incompatible."""
    configs = {"vae": vae_config, "moa": moa_config}
    for name, directory, key in pretrained_paths(args):
        check_saved(configs[name](args), directory, name, key)
    if args.wm_load_path:
        if "world_model" not in args.learners:
            raise ConfigError(f"wm_load_path is set, but this run trains no world model (learners: {list(args.learners)})")
        read_fitted(args.wm_load_path, world_model_config(args))


class SubgoalActor(Actor):
    """Runs OMG_AM inference (GRU history per env and slot) and MOA for all rows at once,
    then the policy on ``[o_i, t, id, extra]``; writes ``subgoal``, ``infer_mu``,
    ``infer_log_var``, ``moa_probs`` and ``policy_extra`` at every step, the final observation
    included (``final_extras``). Every model runs once per step for all rows (envs x focal
    slots), the posterior and MOA heads for all their co-players at once. With
    ``use_subgoal=False`` and no ``moa`` policy input it acts exactly like ``PolicyActor``."""

    def __init__(self, args: Munch) -> None:
        super().__init__(args)
        self.inputs = active_policy_inputs(args)
        self.policy = PolicyNetworks.from_args(args, extra_dim=policy_extra_dim(args)).to(args.device)
        self.models = build_opponent_models(args)
        self.history = SubgoalHistory.of(self.models, args)

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        return subgoal_fields(args)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"policy": self.policy, **self.models}

    def init_episode(self, batch_size: int, role_mask: np.ndarray) -> None:
        if self.history is not None:
            self.history.reset(batch_size)

    def act(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.no_grad():
            obs, time = inputs.obs[env_idx, slot_idx], inputs.time[env_idx].unsqueeze(-1)
            extras = self._condition(inputs, obs, time, env_idx, slot_idx, test_mode, generator, advance=True)
            logits, _ = self.policy(obs, time, slot_idx, extras.get("policy_extra"))
            greedy = test_mode and self.args.test_greedy
            actions = SELECTORS["greedy" if greedy else "multinomial"](logits, inputs.avail[env_idx, slot_idx], generator)
        return actions, extras

    def final_extras(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The extras of the rows' final observation (t = L, where nobody acts), inferred exactly as
        ``act`` would, without advancing the history: the runner writes them so that the critic's
        bootstrap V(o_L, extra_L) of a time-limit cut sees the right extra input (empty when the
        policy has none)."""
        with torch.no_grad():
            obs, time = inputs.obs[env_idx, slot_idx], inputs.time[env_idx].unsqueeze(-1)
            return self._condition(inputs, obs, time, env_idx, slot_idx, test_mode, generator, advance=False)

    def _condition(self, inputs: StepInputs, obs: torch.Tensor, time: torch.Tensor, env_idx: torch.Tensor,
                   slot_idx: torch.Tensor, test_mode: bool, generator: torch.Generator,
                   advance: bool) -> dict[str, torch.Tensor]:
        """Subgoals (OMG_AM), MOA predictions and the policy's ``policy_extra`` for the rows;
        ``advance`` stores the rows' new OMG_AM history (an acting step)."""
        extras: dict[str, torch.Tensor] = {}
        parts: dict[str, torch.Tensor] = {}
        subgoal = None
        if "omg" in self.models or "moa" in self.inputs:
            prev = ego_previous_actions(inputs.prev_actions, env_idx, slot_idx, self.args.n_actions, "subgoal")
        if "omg" in self.models:
            subgoal = self.history.infer(obs, prev, env_idx, slot_idx, test_mode, generator, extras, advance)
            parts["subgoal"] = subgoal
        if "moa" in self.inputs:
            moa = self.models["moa"]
            logits = moa(obs, time, prev, subgoal if moa.subgoal_dim else None)
            co_avail = inputs.avail[env_idx[:, None], coplayer_slots(slot_idx, self.args.n_agents)]
            parts["moa"] = extras["moa_probs"] = torch.softmax(masked_logits(logits, co_avail), dim=-1)
        extra = compose_extra(parts, self.inputs)
        if extra is not None:
            extras["policy_extra"] = extra
        return extras
