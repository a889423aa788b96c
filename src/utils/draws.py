"""Random draws from a seeded ``torch.Generator`` for tensors on any device.

Every generator of a run (the controller's, each learner's) lives on the CPU, so checkpoints
hold one kind of state and a run draws the same numbers with ``use_cuda`` on or off. These
helpers draw on the generator's device and return the numbers on the device of the data.
"""
from __future__ import annotations

import torch


def _device(generator: torch.Generator | None, like: torch.Tensor) -> torch.device:
    return generator.device if generator is not None else like.device


def uniform_like(like: torch.Tensor, generator: torch.Generator | None = None,
                 shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """U[0, 1) of ``shape`` (default ``like.shape``) with ``like``'s dtype and device."""
    size = like.shape if shape is None else shape
    return torch.rand(size, generator=generator, dtype=like.dtype, device=_device(generator, like)).to(like.device)


def normal_like(like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standard normal numbers of ``like``'s shape, dtype and device."""
    return torch.randn(like.shape, generator=generator, dtype=like.dtype,
                       device=_device(generator, like)).to(like.device)


def categorical(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One index per row of ``probs [M,K]`` (unnormalised weights), on ``probs``' device."""
    return torch.multinomial(probs.to(_device(generator, probs)), 1, generator=generator)[:, 0].to(probs.device)
