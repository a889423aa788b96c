"""HOP's actor (docs/methods.md: HOP): plan every decision with the batched PUCT search under goal beliefs.

Per step: the co-players' goals of ``tree_num`` trees per planning agent are sampled from its
beliefs, one batched search runs for all planning agents of all envs, and each acts from
softmax(``q_temperature`` × root Q) over its available actions (argmax in greedy test mode).
After all slots chose, ``observe`` updates the beliefs (intra-OM) with the co-player model's
likelihood of every co-player's action and tallies the goals reached (inter-OM).
The acting policy is written into the batch as ``mcts_policy`` and the beliefs used as ``belief``.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from munch import Munch

from components.action_selectors import masked_logits
from controllers.actors import Actor, StepInputs
from controllers.policy_networks import PolicyNetworks
from controllers.search_acting import act_on_search, check_policy_target
from controllers.roles import validate_roles
from envs.grid_core import STAY, GridOnes
from modules.coplayer_model import CoplayerModel
from modules.grid_ones_linear import GridOnesLinear
from planners.belief import GoalBeliefs
from planners.goals import make_goal_spec
from planners.mcts import BatchedMCTS, SearchSettings
from planners.tree_goals import DiscreteTreeGoals


class TorchSearchModels:
    """The search's view of the networks: numpy in, numpy out, no gradients. When both networks
    are MLPs over the full grid (no conv layers; one shared policy network without extra input)
    they read ``GridOnes`` (``sparse_inputs``): the search then never builds the grids."""

    def __init__(self, policy: PolicyNetworks, coplayer: CoplayerModel | None, device: str) -> None:
        self.policy, self.coplayer, self.device = policy, coplayer, device
        net = policy.nets[0]
        self.sparse_inputs = (len(policy.nets) == 1 and len(net.trunk) == 1 and net.spec.extra_dim == 0
                              and (coplayer is None or coplayer.reads_grid_ones))
        if self.sparse_inputs:  # grid sizes: the observation's, the state's (its layer reads it and the time)
            self.prior_first = GridOnesLinear(net.body[0], int(np.prod(net.spec.obs_shape)))
            self.coplayer_first = None if coplayer is None else GridOnesLinear(coplayer.body[0],
                                                                               coplayer.body[0].in_features - 1)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def prior_value(self, obs: np.ndarray | GridOnes, time: np.ndarray,
                    slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            time_t, slot_t = self._tensor(time)[:, None], self._tensor(slot)
            if isinstance(obs, GridOnes):
                net = self.policy.nets[0]
                hidden = self.prior_first(self._tensor(obs.cells), time_t, slot_t)
                for layer in list(net.body)[1:]:
                    hidden = layer(hidden)
                logits, value = net.actor(hidden), net.critic(hidden).squeeze(-1)
            else:
                logits, value = self.policy(self._tensor(obs), time_t, slot_t)
        return logits.cpu().numpy(), value.cpu().numpy()

    def coplayer_logits(self, state: np.ndarray | GridOnes, time: np.ndarray,
                        goals: np.ndarray | None = None) -> np.ndarray:
        """π_ω's logits ``[L,N,G,A]``, or ``[L,N,A]`` under one goal per slot ``goals [L,N]``."""
        with torch.inference_mode():
            time_t = self._tensor(time)[:, None]
            goals_t = None if goals is None else self._tensor(goals)
            if isinstance(state, GridOnes):
                logits = self.coplayer.from_first_layer(self.coplayer_first(self._tensor(state.cells), time_t), goals_t)
            else:
                logits = self.coplayer(self._tensor(state), time_t, goals_t)
        return logits.cpu().numpy()


class MCTSActor(Actor):
    """Plans with ``BatchedMCTS`` using the learned role's policy network as prior/value and the
    co-player model π_ω(a_j | s, g) under goals sampled from ``GoalBeliefs``."""

    streams = True

    def __init__(self, args: Munch) -> None:
        super().__init__(args)
        check_policy_target(args)
        self.goal_spec = make_goal_spec(args)
        self.policy = PolicyNetworks.from_args(args).to(args.device)
        self.coplayer = CoplayerModel(tuple(args.state_shape), args.n_agents, self.goal_spec.n_goals, args.n_actions,
                                      args.coplayer_hidden_dim, tuple(args.coplayer_conv_channels)).to(args.device)
        self.role_names = [role.name for role in validate_roles(args)]
        self.beliefs = GoalBeliefs(len(self.role_names), args.n_agents, self.goal_spec.n_goals,
                                   args.inter_om_alpha, args.belief_prior_count, args.belief_prior_share)
        self.diagnostics: dict[str, list[float]] = {}
        self.role_of_slot: np.ndarray | None = None
        self.settings = SearchSettings.from_args(args)
        self.models = TorchSearchModels(self.policy, self.coplayer, args.device)
        self.planner: BatchedMCTS | None = None
        self.planned_decisions = 0   # searches run (one per planning agent and step), for throughput figures
        self.search_calls = 0        # batched search calls (one per step with a planning agent playing)
        self.probe = None  # scratch core that replays a step to see who left

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        n_goals = make_goal_spec(args).n_goals
        return {"mcts_policy": {"vshape": (args.n_actions,), "group": "agents"},
                "belief": {"vshape": (args.n_agents, n_goals), "group": "agents"}}

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"policy": self.policy, "coplayer_model": self.coplayer}

    def assign_roles(self, role_of_slot: np.ndarray) -> None:
        self.role_of_slot = role_of_slot

    def init_episode(self, batch_size: int, role_mask: np.ndarray) -> None:
        """New beliefs from the inter-OM prior of the role (identity) sitting in each co-player slot."""
        if self.role_of_slot is None or self.role_of_slot.shape != role_mask.shape:
            raise ValueError("MCTSActor.init_episode needs assign_roles(role_of_slot) for the same episodes first")
        self._collect_belief_quality()
        self.beliefs.start_episode(role_mask, self.role_of_slot)
        self._log_prior()

    def start_episodes(self, rows: np.ndarray, role_mask: np.ndarray) -> None:
        """New beliefs for the new episodes of envs ``rows`` (their finished ones folded into inter-OM first)."""
        self.beliefs.restart(rows, role_mask[rows], self.role_of_slot[rows])
        self._log_prior()

    def end_episodes(self, rows: np.ndarray) -> None:
        self._collect_belief_quality(rows)

    def episode_state(self) -> GoalBeliefs:
        """The beliefs as they are (a copy: inter-OM counts, intra-episode beliefs, pending folds)."""
        return copy.deepcopy(self.beliefs)

    def set_episode_state(self, state: GoalBeliefs) -> None:
        self.beliefs = state

    def _log_prior(self) -> None:
        for role, prior in zip(self.role_names, self.beliefs.prior()):
            for name, p in zip(self.goal_spec.goal_names(), prior):
                self.diagnostics.setdefault(f"inter_om_prior_{role}_{name}", []).append(float(p))

    def _collect_belief_quality(self, rows: np.ndarray | None = None) -> None:
        """P(true goal) after 1, 3 and 5 observed steps of the ended episodes (envs ``rows``, default
        all), per co-player role; each episode's values are counted once."""
        for (role, k), values in self.beliefs.quality(rows).items():
            self.diagnostics.setdefault(f"belief_p_true_k{k}_{self.role_names[role]}", []).extend(values.tolist())
        self.beliefs.snapshots[:, slice(None) if rows is None else rows] = np.nan

    def episode_stats(self) -> dict[str, list[float]]:
        stats, self.diagnostics = self.diagnostics, {}
        return stats

    def act(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        core = inputs.env.core
        envs, slots = env_idx.cpu().numpy(), slot_idx.cpu().numpy()
        actions = np.full(len(envs), STAY, dtype=np.int64)
        policy = np.zeros((len(envs), core.n_actions), dtype=np.float32)
        belief = torch.from_numpy(self.beliefs.belief[envs, slots].astype(np.float32))
        rows = np.flatnonzero(core.alive[envs, slots] & ~core.done[envs])
        if rows.size:
            if self.planner is None:
                self.planner = BatchedMCTS(core, self.models, self.settings)
            goals = self.beliefs.sample(envs[rows], slots[rows], self.settings.tree_num, generator)
            tree_goals = DiscreteTreeGoals(self.models.coplayer_logits, goals, self.models.sparse_inputs)
            result = self.planner.search(core, envs[rows], slots[rows], tree_goals, generator, explore=not test_mode)
            self.planned_decisions += len(rows)
            self.search_calls += 1
            greedy = test_mode and self.args.test_greedy
            actions[rows], policy[rows] = act_on_search(result, self.args, greedy, generator,
                                                        None if test_mode else self.diagnostics)
        return torch.from_numpy(actions), {"mcts_policy": torch.from_numpy(policy), "belief": belief}

    def observe(self, inputs: StepInputs, actions: np.ndarray, test_mode: bool) -> None:
        """Intra-OM Bayes update with π_ω's likelihood of every slot's action, in the envs where a
        planning agent still plays (nobody else holds these beliefs), and the goals reached."""
        core = inputs.env.core
        acted = core.alive & ~core.done[:, None]
        envs = np.flatnonzero((self.beliefs.focal & acted).any(axis=1))
        if len(envs):
            index = torch.from_numpy(envs)
            state = torch.from_numpy(core.state_observation(envs)).to(self.args.device)
            with torch.inference_mode():
                logits = self.coplayer(state, inputs.time[index].to(self.args.device)[:, None]).cpu()   # [E,N,G,A]
            log_probs = F.log_softmax(masked_logits(logits, inputs.avail.cpu()[index][:, :, None, :]), dim=-1)
            chosen = torch.from_numpy(actions[envs])[:, :, None, None].expand(*logits.shape[:3], 1)
            likelihood = np.ones((len(acted), self.args.n_agents, self.goal_spec.n_goals))
            likelihood[envs] = log_probs.gather(-1, chosen)[..., 0].exp().double().numpy()
            observed = np.zeros_like(acted)
            observed[envs] = acted[envs]
            self.beliefs.update(likelihood, observed)
        if self.probe is None:
            self.probe = type(core)(1, **core.args)
        self.probe.set_state(core.get_state())
        self.probe.step(actions)
        left = acted & ~self.probe.alive
        cells = core.agent_pos[..., 0] * core.width + core.agent_pos[..., 1]
        reached = self.goal_spec.reached(torch.from_numpy(actions), torch.from_numpy(cells), torch.from_numpy(left))
        self.beliefs.record(np.where(acted, reached.numpy(), -1), training=not test_mode)

    def state_dict(self) -> dict:
        return {"beliefs": self.beliefs.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.beliefs.load_state_dict(state["beliefs"])
