"""A first FC layer over 0/1 grids given by where their ones are (``envs.grid_core.GridOnes``).

The MLP prior/value and co-player networks of HOP's search read flattened 0/1 grids of which a
few percent of the entries are 1 (agents, prey, walls), followed by a few small inputs (time,
a one-hot slot). Their first layer is linear in that concatenation, so it is computed part by
part without building it: the weight columns of the agents' and prey's cells are summed (an
embedding bag), the walls plane meets its weight slice, each small input its own slice, and a
one-hot input selects its weight columns. Equal to ``layer(cat(...))`` up to float rounding.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def grid_ones_linear(layer: nn.Linear, walls: torch.Tensor, cells: torch.Tensor, wall_channel: int, size: int,
                     dense: tuple[torch.Tensor, ...] = (), onehot: torch.Tensor | None = None) -> torch.Tensor:
    """``layer(cat([grid.flatten(1), *dense, one_hot(onehot)], -1))`` for grids given as ``walls [E,H*W]``
    (the plane of channel ``wall_channel``) and ``cells [E,P]`` (flat positions of the other ones,
    ``size`` = C*H*W for none); ``dense`` parts ``[E,d]`` and the one-hot index ``onehot [E]`` follow
    the grid's ``size`` inputs in that order."""
    weight = layer.weight
    plane = walls.shape[1]
    table = torch.cat([weight[:, :size].t(), weight.new_zeros(1, weight.shape[0])])  # row ``size``: no cell
    out = F.embedding_bag(cells, table, mode="sum")
    start = wall_channel * plane
    out.addmm_(walls, weight[:, start:start + plane].t())
    out += layer.bias
    column = size
    for part in dense:
        out.addmm_(part, weight[:, column:column + part.shape[1]].t())
        column += part.shape[1]
    if onehot is not None:
        out += weight[:, column:].t()[onehot]
    return out
