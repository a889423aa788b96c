"""The one place training masks are derived from buffer fields.

Runner convention these masks assume: an episode of length L writes its transitions at
t = 0..L-1 (obs, actions, reward, terminated, alive, ...) and its final observation at
t = L, with `filled` = 1 at t = 0..L (so `max_seq_length` = episode_limit + 1).
`terminated[t]` = 1 iff the environment truly terminated after the step taken at t; a
time-limit cut leaves it 0. `alive[t, i]` = 1 iff agent i is in the episode and acts at t.

All functions return float32 tensors on the batch's device, cover transitions
t = 0..T-2 (dimension T-1) and are vectorised (no Python loops over time or agents).
"""

from __future__ import annotations

import torch

from components.episode_buffer import EpisodeBatch


def _field(batch: EpisodeBatch, key: str, ndim: int, caller: str) -> torch.Tensor:
    """`batch[key]` as a float32 0/1 tensor, checked to be `[B, T, 1]` (ndim 3) or `[B, T, N, 1]`."""
    if key not in batch:
        raise KeyError(f"{caller} needs the field '{key}', which the batch's scheme lacks; "
                       f"known keys: {sorted(batch.scheme)}")
    value = batch[key]
    if value.dim() != ndim or value.shape[-1] != 1:
        expected = "[B, T, 1]" if ndim == 3 else "[B, T, N, 1]"
        raise ValueError(f"{caller}: '{key}' must have shape {expected}, got {list(value.shape)}")
    return (value != 0).to(torch.float32)


def step_mask(batch: EpisodeBatch) -> torch.Tensor:
    """`[B, T-1, 1]`: 1 for steps t that were filled and come no later than the first terminal.

    The step at which `terminated` is 1 is kept (its reward counts); every later step is
    removed. A time-limit cut is not terminal, and padding has `filled` = 0.
    """
    filled = _field(batch, "filled", 3, "step_mask")[:, :-1]
    terminated = _field(batch, "terminated", 3, "step_mask")[:, :-1]
    terminal_before = torch.zeros_like(terminated)
    terminal_before[:, 1:] = terminated[:, :-1].cumsum(dim=1)
    return filled * (terminal_before == 0).to(torch.float32)


def agent_mask(batch: EpisodeBatch) -> torch.Tensor:
    """`[B, T-1, N, 1]`: `step_mask` × `alive[:, :-1]` — the steps at which each agent acts.

    Data of an agent at steps after it left is masked out, so it is never used as a target.
    """
    alive = _field(batch, "alive", 4, "agent_mask")[:, :-1]
    return step_mask(batch).unsqueeze(2) * alive


def agent_terminal(batch: EpisodeBatch) -> torch.Tensor:
    """`[B, T-1, N, 1]`: 1 where agent i's participation really ends after its step t.

    Convention: 1 at (t, i) iff agent i acts at t (`agent_mask` = 1) and either the env
    terminated at t (`terminated[t]` = 1), or the env continued to a written step t+1
    (`filled[t+1]` = 1) in which the agent is no longer alive (`alive[t+1, i]` = 0). A
    time-limit cut (no terminal, agent still alive at the final observation) gives 0, so
    learners bootstrap from V(s_{t+1}) there; with 1 they must not bootstrap.
    """
    mask = agent_mask(batch)
    terminated = _field(batch, "terminated", 3, "agent_terminal")[:, :-1].unsqueeze(2)
    filled_next = _field(batch, "filled", 3, "agent_terminal")[:, 1:].unsqueeze(2)
    alive_next = _field(batch, "alive", 4, "agent_terminal")[:, 1:]
    left = filled_next * (1.0 - alive_next)
    return mask * torch.clamp(terminated + left, max=1.0)
