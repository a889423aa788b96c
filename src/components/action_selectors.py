"""Action selection from masked logits: ``REGISTRY[name](logits, avail) -> actions``."""
from __future__ import annotations

import torch

from utils.draws import uniform_like


def masked_logits(logits: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """Logits with unavailable actions set to the most negative float (softmax gives them 0)."""
    return logits.masked_fill(~avail.bool(), torch.finfo(logits.dtype).min)


def sample_actions(logits: torch.Tensor, avail: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample from the masked softmax (only available actions can be drawn).

    Gumbel-max: ``argmax(logits + Gumbel noise)`` is distributed as ``softmax(logits)`` and,
    unlike ``torch.multinomial``, costs a few element-wise ops for a whole batch.
    """
    uniform = uniform_like(logits, generator)
    gumbel = -torch.log(-torch.log(uniform.clamp_min(torch.finfo(logits.dtype).tiny)))
    return (masked_logits(logits, avail) + gumbel).argmax(dim=-1)


def greedy_actions(logits: torch.Tensor, avail: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Most probable available action."""
    return masked_logits(logits, avail).argmax(dim=-1)


REGISTRY = {
    "multinomial": sample_actions,
    "greedy": greedy_actions,
}
