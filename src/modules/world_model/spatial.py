"""Spatial world model: the latent is the grid itself, the dynamics a small fully convolutional net.

The state is a logit map over the observation grid ``[M,C,H,W]`` (decoding is the identity); a
step binarises it (a cell is set above logit 0), appends the joint action as per-agent one-hot
planes drawn at each agent's own cell (``N*A`` channels: agent k's plane times one-hot(a_k)), and
predicts the next grid's logits as a learned per-channel skip of the current grid plus a
convolutional correction — the game's dynamics are local (an agent moves one cell, prey stay
put, a capture removes prey and capturers). Done is read from what the predicted next grid holds
per channel (the agent gone, no prey left). The reward comes from learned per-cell rules read
where agents stand (``_reward``): what a cell pays depends only on what lies on it, the agent's
own action and how many agents there play it, and which actions are played there.

Speed (the planner steps thousands of branches per decision): the convolutions of 0/1 inputs
(the stem over the grid and the action planes, the value's trunk) are sums of looked-up kernel
responses of the set cells, and the feature maps are channels-last; both give the same function.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from modules.opponent_models.conv import mlp

LOGIT = 8.0          # |logit| of an observed (encoded) cell
SKIP_INIT = 4.0      # initial weight of the current grid in the next grid's logits


def _pooled(features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """Cell features ``[M,cells,F]`` -> ``[M,3F]``: at the agent's own cell (``own [M,cells]``, zero
    when absent), mean, max."""
    at_own = torch.bmm(own[:, None, :], features)[:, 0]
    return torch.cat([at_own, features.mean(1), features.amax(1)], dim=-1)


def _per_distinct_row(rule: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``rule(inputs)`` for ``inputs [R,F]``, evaluated once per distinct row. The reward rules' inputs
    are small non-negative integers (0/1 cells and actions, agent counts), so a row packs into one
    int64 key; a handful of distinct rows stand for the thousands a planner steps. Inputs that are
    not such integers go through ``rule`` as they are."""
    if inputs.numel() == 0:
        return rule(inputs)
    ints = inputs.long()
    base = max(int(ints.max()) + 1, 2)
    if int(ints.min()) < 0 or base ** inputs.shape[1] >= 2 ** 62 or not torch.equal(ints.to(inputs.dtype), inputs):
        return rule(inputs)
    key = (ints * base ** torch.arange(inputs.shape[1], device=inputs.device)).sum(-1)
    distinct, inverse = torch.unique(key, return_inverse=True)
    first = torch.zeros(len(distinct), dtype=torch.long, device=inputs.device).scatter_(
        0, inverse, torch.arange(len(key), device=inputs.device))                    # one row of each
    return rule(inputs[first])[inverse]


def _one_hot_responses(weight: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Kernels ``[F,P,k,k]`` -> ``[P*cells, H*W*F]``: row ``p*cells + cell`` is the zero-padded
    convolution of a one-hot plane at ``cell`` on input plane ``p``, cell-major and channel-minor
    (the channels-last order); differentiable in ``weight``."""
    out_planes, in_planes = weight.shape[:2]
    cells = height * width
    one_hot = torch.eye(cells, dtype=weight.dtype, device=weight.device).view(cells, 1, height, width)
    kernels = weight.transpose(0, 1).reshape(in_planes * out_planes, 1, *weight.shape[2:])
    table = F.conv2d(one_hot, kernels, padding=weight.shape[-1] // 2)             # [cells, P*F, H, W]
    table = table.view(cells, in_planes, out_planes, cells).permute(1, 0, 3, 2)     # [P, cells, H*W, F]
    return table.reshape(in_planes * cells, cells * out_planes)


def _set_cells(bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The set cells of the 0/1 grid ``bits [M,P,H,W]`` as (row, plane, cell) in row-major order,
    and each row's offset into them (the bags of ``embedding_bag``)."""
    row, plane, cell = torch.nonzero(bits.flatten(2) > 0, as_tuple=True)
    counts = torch.bincount(row, minlength=bits.shape[0])
    return row, plane, cell, counts.cumsum(0) - counts


def _conv_of_set_cells(table: torch.Tensor, index: torch.Tensor, offsets: torch.Tensor,
                       bias: torch.Tensor) -> torch.Tensor:
    """``[M,cells,F]``: per row, the bias plus the sum of the ``table`` rows (``_one_hot_responses``)
    at ``index`` (one bag per row, starting at ``offsets``): the convolution of a 0/1 input, cell
    by cell, at the cost of a handful of lookups per row."""
    summed = F.embedding_bag(index, table, offsets, mode="sum")                       # [M, cells*F]
    return summed.view(len(offsets), -1, len(bias)) + bias


def _cell_rule(inputs: int, hidden: int) -> nn.Sequential:
    """A rule applied to each cell's feature vector ``[..., inputs]`` -> ``[..., 1]``."""
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1))


class SpatialWorldModel(nn.Module):
    """``encode``/``step``/``value``/``decode`` as ``WorldModel`` (ego-first joint action), over grid latents."""

    exact_encoding = True     # encode is the observation itself: no reconstruction to learn
    decodes = True

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)
        self.obs_shape = tuple(config["obs_shape"])
        self.n_agents, self.n_actions = config["n_agents"], config["n_actions"]
        channels, width, hidden = self.obs_shape[0], config["spatial_channels"], config["hidden_dim"]
        self.stem = nn.Conv2d(channels + self.n_agents * self.n_actions, width, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(config["spatial_blocks"]))
        self.grid_head = nn.Conv2d(width, channels, 1)
        self.skip = nn.Parameter(torch.full((channels,), SKIP_INIT))
        # per-cell reward rules: the pot at the agent's own cell from [what lies there,
        # own action, agents there playing it]; what pays everyone from [what lies on a cell, actions played there]
        self.reward_pot = _cell_rule(channels + self.n_actions + 1, hidden)
        self.reward_anywhere = _cell_rule(channels + self.n_actions, hidden)
        self.done_head = mlp(channels, hidden, 1)
        self.value_trunk = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU())
        self.value_head = mlp(3 * width, hidden, 1)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs [M,C,H,W]`` (0/1) -> its logit map."""
        return LOGIT * (2 * (obs > 0.5).float() - 1)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return latent

    def _stem(self, grid: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """``self.stem`` applied to ``[grid, action planes]`` (agent k's own-cell plane times
        one-hot(a_k), ``N*A`` planes), without convolving anything: both inputs are 0/1, so the
        convolution is the sum of the kernels of their set cells, looked up per (plane, cell)
        (``_sum_of_set_cells``). The same function, several times faster than the convolution."""
        rows, channels, height, width = grid.shape
        n, cells = self.n_agents, height * width
        table = _one_hot_responses(self.stem.weight, height, width)                # [(C+N*A)*cells, H*W*F]
        row, plane, cell, _ = _set_cells(grid)
        acting = plane < n                                                             # agent k's cell: plane (k, a_k)
        action_plane = channels + plane[acting] * self.n_actions + joint[row[acting], plane[acting]]
        index = torch.cat([plane * cells + cell, action_plane * cells + cell[acting]])
        order = torch.sort(torch.cat([row, row[acting]]), stable=True).indices        # one bag per row, in order
        counts = torch.bincount(row, minlength=rows) + torch.bincount(row[acting], minlength=rows)
        out = _conv_of_set_cells(table, index[order], counts.cumsum(0) - counts, self.stem.bias)
        return out.view(rows, height, width, -1).permute(0, 3, 1, 2)                 # channels-last [M,F,H,W]

    def _features(self, grid: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        x = F.relu(self._stem(grid, joint))
        for block in self.blocks:
            x = x + F.relu(block(x))
        return x

    def step(self, latent: torch.Tensor, joint: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``latent [M,C,H,W]``, ego-first ``joint [M,N]`` int -> next logits, reward ``[M]``, done logit ``[M]``."""
        if joint.shape[-1] != self.n_agents or joint.dtype != torch.long:
            raise ValueError(f"SpatialWorldModel.step: joint must be int64 [M,{self.n_agents}], got {joint.dtype} "
                             f"{list(joint.shape)}")
        grid = (latent > 0).to(latent.dtype)
        features = self._features(grid, joint)
        following = self.grid_head(features) + self.skip[:, None, None] * (2 * grid - 1)
        return following, self._reward(grid, joint), self._done(following)

    def _done(self, following: torch.Tensor) -> torch.Tensor:
        """Done logit from what the predicted next grid holds per channel (the agent gone, no prey
        left): a function of the outcome, not of how the step got there."""
        return self.done_head(torch.sigmoid(following.detach()).sum((2, 3)))[..., 0]

    def _reward(self, grid: torch.Tensor, joint: torch.Tensor) -> torch.Tensor:
        """Two learned per-cell rules, read where agents stand (nothing happens where nobody acts).
        The pot at the agent's own cell sees what lies there, the agent's action and how many agents
        there play it, and is divided among them (a stag's or hare's value, a removal's cost: the games
        share them so). What pays every agent (snowdrift's removals) sees what lies on each occupied
        cell and which actions are played there. Neither sees which co-player plays what, nor the
        actions beside the agent's own in the pot: configurations rare in the data (four agents on
        one stag) then follow the same rule. (Outputs are linear: ReLU-gated sparse outputs died on
        the rare rewards of real data.)"""
        n = self.n_agents
        cells = grid.flatten(2)                                                         # [M,C,HW]
        agents = cells[:, :n]
        present, where = agents.amax(-1), agents.argmax(-1)                             # [M,N] each
        # agents there playing each action: sum over agents l set on agent k's cell of one-hot(a_l)
        sharing = agents.gather(2, where[:, None].expand(-1, n, -1))                     # [M,N(l),N(k)]
        per_action = torch.einsum("mla,mlk->mak", F.one_hot(joint, self.n_actions).to(grid.dtype), sharing)
        on_cell = cells.gather(2, where[:, None].expand(-1, cells.shape[1], -1))       # [M,C,N]
        own_action = F.one_hot(joint[:, 0], self.n_actions).to(grid.dtype)            # [M,A]
        sharers = (per_action[..., 0] * own_action).sum(1, keepdim=True).clamp(min=1.0)  # [M,1], the agent included
        pot = _per_distinct_row(self.reward_pot, torch.cat([on_cell[..., 0], own_action, sharers], dim=1))[:, 0]
        played = per_action.clamp(max=1.0)                                              # [M,A,N] action played there
        occupants = per_action.sum(1).clamp(min=1.0)                                    # [M,N] agents on agent k's cell
        anywhere = _per_distinct_row(self.reward_anywhere, torch.cat([on_cell, played], dim=1).transpose(1, 2)
                                     .reshape(-1, on_cell.shape[1] + self.n_actions)).view(present.shape)
        return pot * present[:, 0] / sharers[:, 0] + (anywhere * present / occupants).sum(1)

    def value(self, latent: torch.Tensor) -> torch.Tensor:
        """V ``[M]`` of the (binarised) grid."""
        grid = (latent > 0).to(latent.dtype)
        return self.value_head(_pooled(self._value_features(grid), grid[:, 0].flatten(1)))[..., 0]

    def _value_features(self, grid: torch.Tensor) -> torch.Tensor:
        """``self.value_trunk(grid)`` of the 0/1 ``grid`` as ``[M,cells,F]``, its convolution summed
        from looked-up kernels."""
        conv = self.value_trunk[0]
        height, width = grid.shape[2:]
        _, plane, cell, offsets = _set_cells(grid)
        table = _one_hot_responses(conv.weight, height, width)
        return F.relu(_conv_of_set_cells(table, plane * height * width + cell, offsets, conv.bias))
