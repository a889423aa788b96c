"""The optimiser every learner and pretraining stage builds."""
from __future__ import annotations

from typing import Iterable

import torch


def adam(parameters: Iterable[torch.nn.Parameter], lr: float, eps: float) -> torch.optim.Adam:
    """Adam over ``parameters`` with all tensors updated in one ``foreach`` call: the same numbers
    as torch's per-tensor default on CPU (tests/test_optimisers.py checks it bit for bit), in
    fewer Python-level steps."""
    return torch.optim.Adam(parameters, lr=lr, eps=eps, foreach=True)
