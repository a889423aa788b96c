"""Action selection from masked logits: ``REGISTRY[name](logits, avail) -> actions``."""
from __future__ import annotations

import torch


def masked_logits(logits: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
    """Logits with unavailable actions set to the most negative float (softmax gives them 0)."""
    return logits.masked_fill(~avail.bool(), torch.finfo(logits.dtype).min)


def sample_actions(logits: torch.Tensor, avail: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample from the masked softmax (only available actions can be drawn)."""
    probs = torch.softmax(masked_logits(logits, avail), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def greedy_actions(logits: torch.Tensor, avail: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Most probable available action."""
    return masked_logits(logits, avail).argmax(dim=-1)


REGISTRY = {
    "multinomial": sample_actions,
    "greedy": greedy_actions,
}
