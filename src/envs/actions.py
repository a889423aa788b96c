"""Checking the actions given to an env: integers in range, with one message naming the env,
agent, step and value of the first bad one."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def is_action_int(value: Any) -> bool:
    """A Python or numpy integer (not a bool, not a float even when whole)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def show_action(value: Any) -> str:
    """``3.7``, ``True``, ``'1'``: numpy scalars shown as the Python value."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def check_action_array(actions: Any, shape: tuple[int, int], n_actions: int, steps: Sequence[int] | np.ndarray,
                       where: str, agent_names: Sequence[str] | None = None) -> np.ndarray:
    """``actions`` as an int64 array of ``shape`` (envs x agents); ValueError if the shape is wrong or
    an entry is not an integer in ``0..n_actions-1``, naming env, agent, step ``steps[env]`` and value."""
    array = np.asarray(actions, dtype=object if not hasattr(actions, "dtype") else None)
    if array.shape != tuple(shape):
        raise ValueError(f"{where}: actions need shape {tuple(shape)} (envs x agents), got {array.shape}")
    names = agent_names or [f"agent_{i}" for i in range(shape[1])]
    if array.dtype.kind in "iu":
        bad = np.argwhere((array < 0) | (array >= n_actions))
    else:
        bad = [idx for idx in np.ndindex(*shape)
               if not is_action_int(array[idx]) or not 0 <= int(array[idx]) < n_actions]
    if len(bad):
        b, i = (int(x) for x in bad[0])
        value = array[b, i]
        kind = "not an integer" if not is_action_int(value) else "out of range"
        raise ValueError(f"{where}: env {b}, {names[i]} at step t={int(steps[b])}: action {show_action(value)} is {kind}; "
                         f"allowed: integers 0..{n_actions - 1}")
    return array.astype(np.int64, copy=False)
