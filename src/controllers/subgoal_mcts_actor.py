"""HOP+ with MCTS (``hop_plus_mcts``, actor ``mcts_subgoal``, docs/methods.md: HOP): HOP's batched PUCT search
where the co-players' goals are OMG_AM subgoals and their actions come from π_ω(a_j | s, g_j).

Per step, for all planning rows at once: OMG_AM advances the real history of every (env, slot)
(x = encoder(o_t), cond_x = GRU(cond_x, x_{t-1}, a_{t-1})) and gives the root posterior
q(g_j | x, cond_x); the search then infers subgoals as ``goal_update`` says
(``planners.subgoal_goals``), and each agent acts from softmax(``q_temperature`` × root Q) over its
available actions (argmax in greedy test mode). Written per step: ``mcts_policy`` (the acting
policy, alphazero's target) and ``subgoal`` / ``infer_mu`` / ``infer_log_var`` (the root subgoal:
a posterior sample in training, the mean in test mode), which the ``subgoal_model`` learner
trains π_ω on.
"""
from __future__ import annotations

import numpy as np
import torch
from munch import Munch

from controllers.actors import Actor, StepInputs
from controllers.mcts_actor import TorchSearchModels
from controllers.policy_networks import PolicyNetworks
from controllers.search_acting import act_on_search, check_policy_target
from controllers.subgoal_actor import build_opponent_models
from controllers.subgoal_history import SubgoalHistory, ego_previous_actions
from controllers.subgoal_inputs import active_policy_inputs, subgoal_fields
from envs.grid_core import STAY
from modules.coplayer_model import SubgoalCoplayerModel
from modules.opponent_models.gaussian import reparameterise
from planners.mcts import BatchedMCTS, SearchSettings
from planners.subgoal_goals import GOAL_UPDATES, RootPosterior, make_subgoal_goals
from utils.errors import ConfigError


class SubgoalMCTSActor(Actor):
    """Plans with ``BatchedMCTS`` (prior/value: the learned role's policy network) under OMG_AM subgoals."""

    streams = True

    def __init__(self, args: Munch) -> None:
        super().__init__(args)
        check_policy_target(args)
        if not args.use_subgoal or active_policy_inputs(args):
            raise ConfigError(f"actor 'mcts_subgoal' needs use_subgoal: True and policy_inputs: [] (the prior/value "
                              f"network sees no subgoal), got {args.use_subgoal}, {list(args.policy_inputs)}")
        if args.goal_update not in GOAL_UPDATES:
            raise ConfigError(f"goal_update: unknown '{args.goal_update}'; allowed: {', '.join(GOAL_UPDATES)}")
        self.policy = PolicyNetworks.from_args(args).to(args.device)
        self.opponent_models = build_opponent_models(args)
        self.omg = self.opponent_models["omg"]
        self.coplayer = SubgoalCoplayerModel(tuple(args.state_shape), args.n_agents, args.subgoal_dim, args.n_actions,
                                             args.coplayer_hidden_dim, tuple(args.coplayer_conv_channels)).to(args.device)
        self.settings = SearchSettings.from_args(args)
        self.models = TorchSearchModels(self.policy, None, args.device)
        self.planner: BatchedMCTS | None = None
        self.last_goals = None  # the TreeGoals of the latest search (tests read its counters)
        self.diagnostics: dict[str, list[float]] = {}  # training decisions' acting_diagnostics
        self.history = SubgoalHistory(self.omg, args.n_agents, args.device)

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        return {"mcts_policy": {"vshape": (args.n_actions,), "group": "agents"}, **subgoal_fields(args)}

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"policy": self.policy, "subgoal_coplayer_model": self.coplayer, **self.opponent_models}

    def init_episode(self, batch_size: int, role_mask: np.ndarray) -> None:
        self.history.reset(batch_size)

    def start_episodes(self, rows: np.ndarray, role_mask: np.ndarray) -> None:
        self.history.clear(rows)

    def episode_state(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The running episodes' OMG_AM histories (copies; None before the first episode starts)."""
        return tuple(None if x is None else x.clone() for x in (self.history.hidden, self.history.prev_x))

    def set_episode_state(self, state: tuple[torch.Tensor | None, torch.Tensor | None]) -> None:
        self.history.hidden, self.history.prev_x = state

    def episode_stats(self) -> dict[str, list[float]]:
        stats, self.diagnostics = self.diagnostics, {}
        return stats

    def root_posterior(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor) -> RootPosterior:
        """Advance the rows' real OMG_AM history by this step and return the posterior at the roots."""
        prev = ego_previous_actions(inputs.prev_actions, env_idx, slot_idx, self.args.n_actions, "mcts_subgoal")
        with torch.inference_mode():
            x, cond = self.history.step(inputs.obs[env_idx, slot_idx].to(self.args.device), prev, env_idx, slot_idx)
            mu, log_var = self.omg.posterior(x, cond)
        return RootPosterior(x, cond, mu, log_var)

    def act(self, inputs: StepInputs, env_idx: torch.Tensor, slot_idx: torch.Tensor, test_mode: bool,
            generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        core = inputs.env.core
        envs, slots = env_idx.cpu().numpy(), slot_idx.cpu().numpy()
        root = self.root_posterior(inputs, env_idx, slot_idx)
        sample = not (test_mode and self.args.test_greedy)
        subgoal = reparameterise(root.mu.cpu(), root.log_var.cpu(), generator) if sample else root.mu.cpu()
        actions = np.full(len(envs), STAY, dtype=np.int64)
        policy = np.zeros((len(envs), core.n_actions), dtype=np.float32)
        rows = np.flatnonzero(core.alive[envs, slots] & ~core.done[envs])
        if rows.size:
            if self.planner is None:
                self.planner = BatchedMCTS(core, self.models, self.settings)
            index = torch.from_numpy(rows)
            planned = RootPosterior(root.x[index], root.cond[index], root.mu[index], root.log_var[index])
            self.last_goals = make_subgoal_goals(self.args.goal_update, self.omg, self.coplayer, planned, sample)
            result = self.planner.search(core, envs[rows], slots[rows], self.last_goals, generator,
                                         explore=not test_mode)
            actions[rows], policy[rows] = act_on_search(result, self.args, not sample, generator,
                                                        None if test_mode else self.diagnostics)
        return torch.from_numpy(actions), {"mcts_policy": torch.from_numpy(policy), "subgoal": subgoal,
                                           "infer_mu": root.mu.cpu(), "infer_log_var": root.log_var.cpu()}
