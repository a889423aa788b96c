"""Spatial world model: the latent is the grid itself, the dynamics a small fully convolutional net.

The state is a logit map over the observation grid ``[M,C,H,W]`` (decoding is the identity); a
step binarises it (a cell is set above logit 0), appends the joint action as per-agent one-hot
planes drawn at each agent's own cell (``N*A`` channels: agent k's plane times one-hot(a_k)), and
predicts the next grid's logits as a learned per-channel skip of the current grid plus a
convolutional correction — the game's dynamics are local (an agent moves one cell, prey stay
put, a capture removes prey and capturers).

Where the joint action enters (``fusion``, ``wm_spatial_fusion``):

- ``stem``: with the grid, in the 3×3 stem; the residual 3×3 blocks then run once per joint action.
- ``late``: after the stem and the residual blocks, which then see the grid alone and run once per
  state; the action planes' 3×3 kernels are added to their features and two residual 1×1 layers
  finish the step per joint action. A planner steps one state with up to 7 × 7³ joint actions, so
  the 3×3 blocks then run once instead of thousands of times.

Either way ``state_features(grid)`` is the part of a step that reads the grid alone, and
``step(latent, joint, features, feature_rows)`` accepts it precomputed, one entry per state (the same
function; under ``late`` the per-cell layers then run once per distinct cell input). Done is read from what the predicted next grid holds
per channel (the agent gone, no prey left). The reward comes from learned per-cell rules read
where agents stand (``_reward``): what a cell pays depends only on what lies on it, the agent's
own action and how many agents there play it, and which actions are played there.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from envs.grid_core import STAY
from modules.opponent_models.conv import mlp
from modules.world_model.config import CHECKPOINT_CONFIG_DEFAULTS, CONFIG_ARG_NAMES

FUSIONS = ("stem", "late")

LOGIT = 8.0          # |logit| of an observed (encoded) cell
SKIP_INIT = 4.0      # initial weight of the current grid in the next grid's logits


def _pooled(cells: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """``cells [M,HW,F]`` -> ``[M,3F]``: at the agent's own cell (``own [M,HW]``, zero when absent), mean, max.
    Cells first and channels last: the reductions then run over contiguous rows (about 3x faster on
    4x4 maps than over the last two dims of a feature map)."""
    return torch.cat([torch.bmm(own[:, None], cells)[:, 0], cells.mean(1), cells.amax(1)], dim=-1)


def _rule_per_key(rule: nn.Module, keys: torch.Tensor, key_space: int,
                  inputs_at: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``rule(inputs)`` for rows whose inputs are a function of their integer ``keys [R]`` (in
    ``[0, key_space)``), evaluated once per distinct key: ``inputs_at(positions)`` builds the inputs
    of the rows at ``positions``. A planner's thousands of branches hold a handful of distinct
    reward inputs."""
    inverse, first = _distinct(keys, key_space)
    return rule(inputs_at(first))[inverse]


DENSE_KEYS = 1 << 20   # key spaces up to this size are marked in an array instead of sorted
PACKED_KEYS = 1 << 62  # key spaces up to this size are packed into one int64 per row
EXACT_FLOAT64 = 1 << 53


def _distinct(keys: torch.Tensor, key_space: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``keys [K]`` (or ``[K,W]``: rows of W integers) -> ``inverse [K]``, each key's index among the
    distinct keys (in increasing key order), and ``first [D]``, the position of one occurrence of each
    of the D distinct keys. Keys known to lie in a small ``[0, key_space)`` are marked in an array (linear time)
    instead of sorted."""
    if keys.dim() == 1 and key_space is not None and key_space <= DENSE_KEYS:
        seen = torch.zeros(key_space, dtype=torch.long, device=keys.device)
        seen[keys] = 1
        index = seen.cumsum_(0) - 1
        inverse, distinct = index[keys], int(index[-1]) + 1 if key_space else 0
    else:                                                   # rows of integers are compared whole
        distinct_keys, inverse = torch.unique(keys, dim=0 if keys.dim() == 2 else None, return_inverse=True)
        distinct = len(distinct_keys)
    first = torch.zeros(distinct, dtype=torch.long, device=keys.device).scatter_(
        0, inverse, torch.arange(len(keys), device=keys.device))
    return inverse, first


def _cell_rule(inputs: int, hidden: int) -> nn.Sequential:
    """A rule applied to each cell's feature vector ``[..., inputs]`` -> ``[..., 1]``."""
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1))


class SpatialWorldModel(nn.Module):
    """``encode``/``step``/``value``/``decode`` as ``WorldModel`` (ego-first joint action), over grid latents."""

    checkpoint_config_defaults = CHECKPOINT_CONFIG_DEFAULTS   # run checkpoints record and check the config
    config_arg_names = CONFIG_ARG_NAMES

    exact_encoding = True     # encode is the observation itself: no reconstruction to learn
    decodes = True

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        self.obs_shape = tuple(config["obs_shape"])
        self.n_agents, self.n_actions = config["n_agents"], config["n_actions"]
        channels, width, hidden = self.obs_shape[0], config["spatial_channels"], config["hidden_dim"]
        self.fusion = config["fusion"]
        self.reward_gate = bool(config["reward_gate"])
        if self.fusion not in FUSIONS:
            raise ValueError(f"SpatialWorldModel: fusion '{self.fusion}' is unknown; allowed: {', '.join(FUSIONS)}")
        key_bits = channels + self.n_actions + (self.n_agents + 1).bit_length()   # _reward's integer input keys
        if key_bits > 62:
            raise ValueError(f"SpatialWorldModel: the reward rules' input keys need {key_bits} bits ({channels} "
                             f"channels, {self.n_actions} actions, {self.n_agents} agents); at most 62 fit in int64")
        if self.fusion == "late" and self.n_actions ** self.n_agents > EXACT_FLOAT64:
            raise ValueError(f"SpatialWorldModel: late fusion codes the actions around a cell as {self.n_agents} "
                             f"base-{self.n_actions} digits, and {self.n_actions}^{self.n_agents} exceeds 2^53 "
                             f"(float64's exact integers); use fusion 'stem'")
        planes = self.n_agents * self.n_actions
        late = self.fusion == "late"
        self.stem = nn.Conv2d(channels + (0 if late else planes), width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(config["spatial_blocks"]))
        # late fusion: the action planes' kernels, then the 1x1 layers that run per joint action
        self.action_conv = nn.Conv2d(planes, width, 3, padding=1, bias=False) if late else None
        self.joint_layers = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(2 if late else 0))
        self.grid_head = nn.Conv2d(width, channels, 1)
        self.skip = nn.Parameter(torch.full((channels,), SKIP_INIT))
        self._table_cache: dict[tuple, torch.Tensor] = {}   # _action_table's tables of the current kernels, planning only
        # per-cell reward rules: the pot at the agent's own cell from [what lies there,
        # own action, agents there playing it]; what pays everyone from [what lies on a cell, actions played there]
        self.reward_pot = _cell_rule(channels + self.n_actions + 1, hidden)
        self.reward_anywhere = _cell_rule(channels + self.n_actions, hidden)
        self.done_head = mlp(channels, hidden, 1)
        # V's 3x3 layer (ReLU applied in ``value``); a Sequential for the checkpoints' parameter names
        self.value_trunk = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1))
        self.value_head = mlp(3 * width, hidden, 1)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs [M,C,H,W]`` (0/1) -> its logit map."""
        return LOGIT * (2 * (obs > 0.5).float() - 1)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return latent

    def _action_kernels(self) -> torch.Tensor:
        """``[F, N*A, 3, 3]``: the convolution kernels of the action planes."""
        if self.action_conv is not None:
            return self.action_conv.weight
        return self.stem.weight[:, self.obs_shape[0]:]

    def _looked_up_actions(self, grid: torch.Tensor, joint: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        """``[M,F,H,W]`` (``[M,H,W,F]`` when ``channels_last``): the convolution of the action planes
        without convolving them. Each plane holds one kernel per occupied agent cell, so for every
        cell agent k occupies the convolution of a one-hot plane at that cell on channel (k, a_k) is
        looked up in a table of all (agent, action, cell) and summed per row (``embedding_bag``);
        about 2.5x faster."""
        rows, _, height, width = grid.shape
        n, cells = self.n_agents, height * width
        features = self._action_kernels().shape[0]
        table = self._action_table(height, width, channels_last, grid.dtype)
        row, agent, cell = torch.nonzero(grid[:, :n].flatten(2) > 0, as_tuple=True)    # row-major: bags in order
        index = (agent * self.n_actions + joint[row, agent]) * cells + cell
        counts = torch.bincount(row, minlength=rows)
        planes = F.embedding_bag(index, table, counts.cumsum(0) - counts, mode="sum")  # [M, F*H*W]
        return planes.view(rows, height, width, features) if channels_last else planes.view(rows, features, height, width)

    def _action_table(self, height: int, width: int, channels_last: bool, dtype: torch.dtype,
                      by_occupied_cell: bool = False) -> torch.Tensor:
        """``[N*A*cells, F*H*W]``: the convolution of a one-hot action plane of every (agent, action,
        cell), in the layout of ``_looked_up_actions``; with ``by_occupied_cell`` (channels last) the
        same values as ``[N, cells, A*H*W*F]``, agent and occupied cell first, for late fusion's
        per-state kernels. Without gradients (planning) each layout is kept until the kernels change
        (an optimiser step or a load bumps their version): a planner steps the model hundreds of
        times between two updates."""
        weight = self._action_kernels()
        version = (weight.data_ptr(), weight._version, weight.device)
        key = (*version, height, width, channels_last, by_occupied_cell, dtype)
        planning = not torch.is_grad_enabled()
        if planning and key in self._table_cache:
            return self._table_cache[key]
        n, features, cells = self.n_agents, weight.shape[0], height * width
        kernels = weight.transpose(0, 1).reshape(n * self.n_actions * features, 1, 3, 3).to(dtype)
        one_hot = torch.eye(cells, dtype=dtype, device=weight.device).view(cells, 1, height, width)
        table = F.conv2d(one_hot, kernels, padding=1)                                  # [cells, N*A*F, H, W]
        table = table.view(cells, n * self.n_actions, features, height, width).transpose(0, 1)
        if channels_last:
            table = table.permute(0, 1, 3, 4, 2)
        table = table.reshape(n * self.n_actions * cells, -1)
        if by_occupied_cell:
            table = table.view(n, self.n_actions, cells, -1).transpose(1, 2).reshape(n, cells, -1)
        if planning:     # the tables of older kernels are stale
            self._table_cache = {k: v for k, v in self._table_cache.items() if k[:3] == version}
            self._table_cache[key] = table
        return table

    def state_features(self, latent: torch.Tensor) -> torch.Tensor:
        """The part of a step that reads the (binarised) grid alone, shared by every joint action from
        that grid: the grid's share of the stem's pre-activation ``[M,F,H,W]`` (``stem``), or the stem
        and the residual blocks, channels last ``[M,H,W,F]`` (``late``)."""
        return self._grid_features((latent > 0).to(latent.dtype))

    def _grid_features(self, grid: torch.Tensor) -> torch.Tensor:
        """``state_features`` of an already binarised grid."""
        if self.fusion == "stem":
            return F.conv2d(grid, self.stem.weight[:, :self.obs_shape[0]], self.stem.bias, padding=1)
        x = F.relu(self.stem(grid))
        for block in self.blocks:
            x = x + F.relu(block(x))
        return x.permute(0, 2, 3, 1).contiguous()

    def _correction(self, grid: torch.Tensor, joint: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The convolutional correction ``[M,C,H,W]`` of the next grid's logits, from ``state_features``."""
        if self.fusion == "stem":
            x = F.relu(state + self._looked_up_actions(grid, joint))
            for block in self.blocks:
                x = x + F.relu(block(x))
            return self.grid_head(x)
        # late: channels last, where a 1x1 convolution is one linear map of each cell's features
        # (several times faster than conv2d on 4x4 maps)
        return self._late_cell_layers(state + self._looked_up_actions(grid, joint, channels_last=True)).permute(0, 3, 1, 2)

    def _late_cell_layers(self, x: torch.Tensor) -> torch.Tensor:
        """Late fusion's per-cell layers, channels last: ``[..., F]`` pre-activation -> ``[..., C]`` logits."""
        x = x.relu_()                                                                   # in place: fresh tensors
        for layer in self.joint_layers:
            x = x + F.linear(x, layer.weight.flatten(1), layer.bias).relu_()
        return F.linear(x, self.grid_head.weight.flatten(1), self.grid_head.bias)

    def _late_correction_per_distinct_cell(self, states: torch.Tensor, slot: torch.Tensor, joint: torch.Tensor,
                                           features: torch.Tensor, state_features: torch.Tensor) -> torch.Tensor:
        """Late fusion's correction ``[M,C,H,W]`` of rows whose grids are ``states [S,C,H,W]``
        (``slot [M]``: each row's state; ``state_features [S]``: each state's entry in ``features``),
        with the per-cell layers run once per distinct input. After the shared state features only the
        3×3 action kernels and 1×1 layers act, so cell c of a row depends on its state and on the
        actions of the agents on the 3×3 cells around c alone. A planner's branches of one state
        differ only in their joint actions, and most cells see one or two agents: a cell's (state,
        nearby actions) repeats across many branches and is computed once (about 6× fewer cells on
        stag_hunt_small). The same function as ``_correction``."""
        rows = len(slot)
        n_states, channels, height, width = states.shape
        n, cells, width_f = self.n_agents, height * width, features.shape[-1]
        occupied = states[:, :n]                                                        # [S,N,H,W]
        near = F.max_pool2d(occupied, 3, stride=1, padding=1).flatten(2) > 0           # [S,N,HW] an agent around the cell
        digits = self.n_actions ** torch.arange(n, device=states.device)
        # [M,HW]: the actions of the agents around each cell as base-A digits (agents not near count 0;
        # which agents are near is the state's, so within a (state, cell) the code is one-to-one);
        # one weighted bag per row over its state's (agent, cell) digits (float64: exact integers)
        digit_planes = (near * digits[:, None]).to(torch.float64).reshape(n_states * n, cells)
        nearby_actions = F.embedding_bag(slot[:, None] * n + torch.arange(n, device=states.device), digit_planes,
                                         per_sample_weights=joint.to(torch.float64), mode="sum").long()
        cell = torch.arange(cells, device=states.device)
        codes = self.n_actions ** n
        state_cell = (slot[:, None] * cells + cell).flatten()
        if n_states * cells * codes <= PACKED_KEYS:                                    # one (row, cell) of each
            inverse, first = _distinct(state_cell * codes + nearby_actions.flatten(), n_states * cells * codes)
        else:                                                                          # many agents: pairs
            inverse, first = _distinct(torch.stack([state_cell, nearby_actions.flatten()], dim=1))
        row, at = first // cells, first % cells
        # each state's action kernels: agent k playing a, summed over the cells k occupies, at every cell
        table = self._action_table(height, width, True, states.dtype, by_occupied_cell=True)  # [N,cells,A*HW*F]
        kernels = torch.bmm(occupied.flatten(2).transpose(0, 1), table).view(-1, width_f)   # [N,S,A*HW*F]
        agent = torch.arange(n, device=states.device)
        index = ((agent * n_states + slot[row, None]) * self.n_actions + joint[row]) * cells + at[:, None]  # [E,N]
        actions = F.embedding_bag(index, kernels, mode="sum")                          # [E,F]
        state = features.view(features.shape[0], cells, width_f)[state_features[slot[row]], at]  # [E,F]
        out = self._late_cell_layers(state + actions)                                   # [E,C]
        return out[inverse].view(rows, height, width, channels).permute(0, 3, 1, 2)

    def step(self, latent: torch.Tensor, joint: torch.Tensor, features: torch.Tensor | None = None,
             feature_rows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``latent [M,C,H,W]``, ego-first ``joint [M,N]`` int -> next logits, reward ``[M]``, done logit
        ``[M]``. ``features``: ``state_features`` of these rows' grids, when already computed; with
        ``feature_rows [M]`` it holds one entry per state and row m reads ``features[feature_rows[m]]``
        (rows that share an entry must share their grid, as a planner's branches of one state do, and
        what only the grid decides is then computed once per state)."""
        if joint.shape[-1] != self.n_agents or joint.dtype != torch.long:
            raise ValueError(f"SpatialWorldModel.step: joint must be int64 [M,{self.n_agents}], got {joint.dtype} "
                             f"{list(joint.shape)}")
        grid = (latent > 0).to(latent.dtype)
        if features is None:
            features, feature_rows = self._grid_features(grid), None
        if feature_rows is None:      # every row its own state
            states, slot = grid, torch.arange(len(grid), device=grid.device)
        else:
            slot, first_row = _distinct(feature_rows, len(features))
            states = grid[first_row]
        if self.fusion == "late" and feature_rows is not None:
            correction = self._late_correction_per_distinct_cell(states, slot, joint, features, feature_rows[first_row])
        else:
            correction = self._correction(grid, joint, features if feature_rows is None else features[feature_rows])
        following = correction + self.skip[:, None, None] * (2 * grid - 1)
        return following, self._reward(states, slot, joint), self._done(following)

    def _done(self, following: torch.Tensor) -> torch.Tensor:
        """Done logit from what the predicted next grid holds per channel (the agent gone, no prey
        left): a function of the outcome, not of how the step got there."""
        return self.done_head(torch.sigmoid(following.detach()).sum((2, 3)))[..., 0]

    def _reward(self, states: torch.Tensor, slot: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """Reward ``[M]`` of rows with joint actions ``joint [M,N]`` on grids ``states [S,C,H,W]`` (``slot
        [M]``: each row's state). Two learned per-cell rules, read where agents stand (nothing happens where nobody acts).
        The pot at the agent's own cell sees what lies there, the agent's action and how many agents
        there play it, and is divided among them (a stag's or hare's value, a removal's cost: the games
        share them so). What pays every agent (snowdrift's removals) sees what lies on each occupied
        cell and which actions are played there. Neither sees which co-player plays what, nor the
        actions beside the agent's own in the pot: configurations rare in the data (four agents on
        one stag) then follow the same rule. (Outputs are linear: ReLU-gated sparse outputs died on
        the rare rewards of real data.) With ``reward_gate`` the pot pays only when the agent's own
        action is an interaction (after STAY), and what pays everyone only on cells where one is
        played: both games reward nothing else, so action combinations the data never shows cannot
        make a reward up there."""
        n, n_actions = self.n_agents, self.n_actions
        cells = states.flatten(2)                                                       # [S,C,HW]
        channels = cells.shape[1]
        agents = cells[:, :n]
        present, where = agents.amax(-1), agents.argmax(-1)                             # [S,N] each
        on_cell = cells.gather(2, where[:, None].expand(-1, channels, -1))              # [S,C,N] what lies on k's cell
        contents = (on_cell.long() << torch.arange(channels, device=states.device)[:, None]).sum(1)  # [S,N] as C bits
        actions = F.one_hot(joint, n_actions).to(states.dtype)                         # [M,N,A]
        per_action = torch.bmm(actions.transpose(1, 2), on_cell[slot, :n])             # [M,A,N] agents on k's cell playing a
        own = joint[:, 0]
        sharers = per_action[torch.arange(len(joint), device=joint.device), own, 0].clamp(min=1.0)  # [M], the agent included
        pot = _rule_per_key(self.reward_pot, (contents[slot, 0] * n_actions + own) * (n + 1) + sharers.long(),
                            (1 << channels) * n_actions * (n + 1),
                            lambda at: torch.cat([on_cell[slot[at], :, 0], actions[at, 0], sharers[at, None]], dim=1))
        pot = pot[:, 0]
        played = per_action.clamp(max=1.0)                                              # [M,A,N] action played there
        occupants = per_action.sum(1).clamp(min=1.0)                                    # [M,N] agents on agent k's cell
        played_bits = (played.long() << torch.arange(n_actions, device=joint.device)[:, None]).sum(1)  # [M,N]
        anywhere = _rule_per_key(self.reward_anywhere, ((contents[slot] << n_actions) + played_bits).flatten(),
                                 1 << (channels + n_actions),
                                 lambda at: torch.cat([on_cell[slot[at // n], :, at % n], played[at // n, :, at % n]],
                                                      dim=1)).view(len(joint), n)
        if self.reward_gate:    # rewards come from interactions only: the rules read nothing else
            pot = pot * (own > STAY).to(pot.dtype)
            anywhere = anywhere * played[:, STAY + 1:].amax(1)
        return pot * present[slot, 0] / sharers + (anywhere * present[slot] / occupants).sum(1)

    def value(self, latent: torch.Tensor) -> torch.Tensor:
        """V ``[M]`` of the (binarised) grid."""
        grid = (latent > 0).to(latent.dtype)
        conv = self.value_trunk[0]
        trunk = conv(grid.contiguous(memory_format=torch.channels_last)).relu_()   # ~2.5x faster on 4x4 maps
        cells = trunk.permute(0, 2, 3, 1).reshape(len(grid), -1, conv.out_channels)  # a view of channels-last maps
        own = grid[:, 0].flatten(1).contiguous()        # a strided view of channels-last grids makes bmm ~15x slower
        return self.value_head(_pooled(cells, own))[..., 0]
