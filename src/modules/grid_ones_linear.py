"""A first FC layer over 0/1 grids given by where their ones are (``envs.grid_core.GridOnes``).

The MLP prior/value and co-player networks of HOP's search read flattened 0/1 grids of which a
few percent of the entries are 1 (agents, prey, walls), then the time and possibly a one-hot
slot. Their first layer is linear in that concatenation, so it is computed without building it:
the weight columns of the ones and of the slot are summed (an embedding bag) and the time meets
its column. Equal to ``layer(cat(...))`` up to float rounding.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class GridOnesLinear:
    """``layer(cat([grid.flatten(1), time, one_hot(slot)], -1))`` (the one-hot part optional) for
    grids of ``size`` = C*H*W entries given as ``GridOnes.cells``. Reads ``layer``'s current
    weights: their transposed copy is rebuilt whenever the weight tensor's version changes
    (optimiser steps, ``load_state_dict``, moves; writes through ``weight.data`` are not seen)."""

    def __init__(self, layer: nn.Linear, size: int) -> None:
        if layer.in_features < size + 1:
            raise ValueError(f"GridOnesLinear: a layer with {layer.in_features} inputs cannot read a grid of "
                             f"{size} entries and the time")
        self.layer, self.size = layer, size
        self._key: tuple[int, int] | None = None
        self._rows = torch.empty(0)

    def _weight_rows(self) -> torch.Tensor:
        """``[in_features + 1, out]``: row i the weights of input i, with a zero row inserted at ``size``
        (the padding of ``cells``) and the later inputs one row down."""
        weight = self.layer.weight
        key = (weight.data_ptr(), weight._version)
        if key != self._key:
            with torch.no_grad():
                rows = weight.new_zeros(weight.shape[1] + 1, weight.shape[0])
                rows[:self.size] = weight[:, :self.size].t()
                rows[self.size + 1:] = weight[:, self.size:].t()
            self._key, self._rows = key, rows
        return self._rows

    def __call__(self, cells: torch.Tensor, time: torch.Tensor, slot: torch.Tensor | None = None) -> torch.Tensor:
        """``cells [E,P]`` (flat positions of the ones, ``size`` for none), ``time [E,1]``, ``slot [E]``
        -> pre-activations ``[E,out]``."""
        rows = self._weight_rows()
        bag = cells if slot is None else torch.cat([cells, (self.size + 2 + slot)[:, None]], dim=1)
        out = F.embedding_bag(bag, rows, mode="sum")
        out.addmm_(time, rows[self.size + 1:self.size + 2])
        return out.add_(self.layer.bias)
