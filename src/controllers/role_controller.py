"""Role-based multi-agent controller: every slot acts by its role (docs/design.md: Roles and data flow)."""
from __future__ import annotations

import json
import os

import numpy as np
import torch
from munch import Munch

from controllers import REGISTRY as ACTORS
from controllers.actors import StepInputs, act_with_policy
from controllers.policy_networks import CONFIG_FILE, PolicyNetworks
from controllers.roles import RoleSpec, validate_roles
from utils.checkpoint import find_checkpoint

ROLE_CONFIG_FILE = "role_config.json"  # what a checkpoint's learned role was trained on (adaptation checks it)


class RoleController:
    """Chooses the actions of all agent slots of a batch of envs.

    ``role_of_slot [B,N]`` (index into ``roles``) says who plays each slot in each env; it is
    fixed per episode (permuted per env when ``shuffle_slots``) and written into the batch
    as the episode-constant field ``role``, so learners select their data by role, never
    by position. Learned roles are evaluated in one network call for all their slots.
    """

    def __init__(self, args: Munch) -> None:
        self.args = args
        self.roles: list[RoleSpec] = validate_roles(args)
        self.role_index = {role.name: i for i, role in enumerate(self.roles)}
        self.default_assignment = np.array([self.role_index[r] for r in args.roles], dtype=np.int64)
        learned = [r for r in self.roles if r.kind == "learned"]
        self.learned_role: RoleSpec | None = learned[0] if learned else None
        self.actor = ACTORS[args.actor](args) if self.learned_role else None
        self.frozen = {r.name: self._load_frozen(r) for r in self.roles if r.kind == "ckpt"}
        self.rules = {r.name: self._make_rule(r) for r in self.roles if r.kind == "rule"}
        self.np_rng = np.random.default_rng(args.seed)
        self.torch_rng = torch.Generator().manual_seed(int(args.seed))
        self.role_of_slot = self.default_assignment[None].copy()

    def _make_rule(self, role: RoleSpec):
        from envs import rule_based
        return rule_based.make(self.args.env, role.name)

    def _load_frozen(self, role: RoleSpec) -> PolicyNetworks:
        directory, _ = find_checkpoint(role.path) if not _has_policy(role.path) else (role.path, 0)
        expect = {"env": self.args.env, "obs_shape": list(self.args.obs_shape),
                  "n_actions": self.args.n_actions, "n_agents": self.args.n_agents}
        nets = PolicyNetworks.load(directory, expect).to(self.args.device)
        nets.requires_grad_(False)
        return nets

    @property
    def policy(self) -> PolicyNetworks | None:
        """The learned role's actor-critic networks (None when no slot is learned or its actor has none)."""
        return self.actor.modules().get("policy") if self.actor is not None else None

    # ----------------------------------------------------------------------------------
    def init_episode(self, batch_size: int) -> np.ndarray:
        """Assign roles to slots for a new batch of episodes; returns ``role_of_slot [B,N]``."""
        self.role_of_slot = self._draw_assignment(batch_size)
        if self.actor is not None:
            self.actor.assign_roles(self.role_of_slot)
            self.actor.init_episode(batch_size, self.role_mask(self.learned_role.name))
        return self.role_of_slot

    def start_episodes(self, rows: np.ndarray) -> np.ndarray:
        """Assign roles to the slots of new episodes in envs ``rows`` only, while the other envs'
        episodes go on (a streaming runner); returns their ``role_of_slot [len(rows),N]``."""
        self.role_of_slot[rows] = self._draw_assignment(len(rows))
        if self.actor is not None:
            self.actor.assign_roles(self.role_of_slot)
            self.actor.start_episodes(rows, self.role_mask(self.learned_role.name))
        return self.role_of_slot[rows]

    def end_episodes(self, rows: np.ndarray) -> None:
        """The episodes of envs ``rows`` have ended."""
        if self.actor is not None:
            self.actor.end_episodes(rows)

    def episode_state(self) -> tuple:
        """The running episodes' roles and the actor's per-episode state (copies), to set back with
        ``set_episode_state`` after other episodes were played in between (a test run while a
        streaming runner's training episodes wait)."""
        return self.role_of_slot.copy(), (self.actor.episode_state() if self.actor is not None else None)

    def set_episode_state(self, state: tuple) -> None:
        role_of_slot, actor_state = state
        self.role_of_slot = role_of_slot
        if self.actor is not None:
            self.actor.assign_roles(self.role_of_slot)
            self.actor.set_episode_state(actor_state)

    def _draw_assignment(self, batch_size: int) -> np.ndarray:
        assignment = np.broadcast_to(self.default_assignment, (batch_size, self.args.n_agents))
        if self.args.shuffle_slots:
            assignment = self.np_rng.permuted(assignment, axis=1)
        return np.ascontiguousarray(assignment)

    def role_mask(self, role_name: str) -> np.ndarray:
        """``bool [B,N]``: where ``role_name`` plays in the current episodes."""
        return self.role_of_slot == self.role_index[role_name]

    def select_actions(self, inputs: StepInputs, test_mode: bool = False) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
        """Actions ``int64 [B,N]`` for every slot (only available actions) and per-step extras
        ``{field: [B,N,...]}`` from the learned role's actor (zero in other slots)."""
        batch_size, n_agents = self.role_of_slot.shape
        actions = np.zeros((batch_size, n_agents), dtype=np.int64)
        extras: dict[str, torch.Tensor] = {}
        for role in self.roles:
            mask = self.role_of_slot == self.role_index[role.name]
            if not mask.any():
                continue
            if role.kind == "rule":
                slots = np.flatnonzero(mask.any(axis=0))
                chosen = np.zeros_like(actions)
                chosen[:, slots] = self.rules[role.name].act(inputs.env, slots)
                actions[mask] = chosen[mask]
                continue
            env_idx, slot_idx = (torch.from_numpy(a).to(self.args.device) for a in np.nonzero(mask))
            if role.kind == "learned":
                chosen, role_extras = self.actor.act(inputs, env_idx, slot_idx, test_mode, self.torch_rng)
                for key, value in role_extras.items():
                    extras[key] = value.new_zeros((batch_size, n_agents, *value.shape[1:]))
                    extras[key][env_idx.to(value.device), slot_idx.to(value.device)] = value
            else:
                greedy = test_mode and self.args.test_greedy
                chosen = act_with_policy(self.frozen[role.name], inputs, env_idx, slot_idx, greedy, self.torch_rng)
            actions[env_idx.cpu().numpy(), slot_idx.cpu().numpy()] = chosen.cpu().numpy()
        if self.actor is not None:
            self.actor.observe(inputs, actions, test_mode)
        return actions, extras

    # ----------------------------------------------------------------------------------
    def parameters(self):
        """Parameters of the learned role's policy networks (empty when nothing is learned)."""
        return self.policy.parameters() if self.policy is not None else iter(())

    def modules(self) -> dict[str, torch.nn.Module]:
        """The learned role's modules, by name, for checkpoints and learners."""
        return self.actor.modules() if self.actor is not None else {}

    def state_dict(self) -> dict:
        """RNG states and the actor's non-module state (e.g. inter-episode beliefs)."""
        return {"np_rng": self.np_rng.bit_generator.state, "torch_rng": self.torch_rng.get_state(),
                "actor": self.actor.state_dict() if self.actor is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        self.np_rng.bit_generator.state = state["np_rng"]
        self.torch_rng.set_state(state["torch_rng"])
        if self.actor is not None:
            self.actor.load_state_dict(state["actor"])

    def save_models(self, directory: str) -> None:
        """Write the learned role's networks in a form ``ckpt:<directory>`` roles can load, and
        ``role_config.json`` (env, shapes, actor) for every learned role, policy network or not
        (a planner's checkpoint is still adapted with ``run_mode=adapt``)."""
        if self.learned_role is None:
            return
        if self.policy is not None:
            self.policy.save(directory)
        args = self.args
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, ROLE_CONFIG_FILE), "w") as f:
            json.dump({"env": args.env, "obs_shape": list(args.obs_shape), "n_actions": args.n_actions,
                       "n_agents": args.n_agents, "actor": args.actor, "name": args.name}, f, indent=1)


def _has_policy(path: str) -> bool:
    return os.path.isfile(os.path.join(path, CONFIG_FILE))
