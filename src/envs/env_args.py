"""Validation of ``env_args`` for the grid environments (docs/design.md: Environments), with clear errors."""
from __future__ import annotations

import difflib
import math
from numbers import Integral, Real
from typing import Any, Mapping

from utils.errors import ConfigError

# Every env_args key (docs/design.md: Environments). Both environments accept all of them (the shared env
# config keeps one key set); keys that do not apply to an environment are validated and
# otherwise unused (n_stags/n_hares/stag_reward/hare_reward in snowdrift, n_drifts/
# drift_reward/drift_cost in stag hunt).
ENV_ARG_KEYS = (
    "n_agents", "grid_size", "n_stags", "n_hares", "n_drifts", "n_walls", "episode_limit",
    "stag_reward", "hare_reward", "drift_reward", "drift_cost", "obs_radius", "layout", "seed",
)
_POSITIVE_INTS = ("n_agents", "episode_limit")
_COUNTS = ("n_stags", "n_hares", "n_drifts", "n_walls")
_REALS = ("stag_reward", "hare_reward", "drift_reward", "drift_cost")


class EnvArgsError(ConfigError, ValueError):
    """A bad ``env_args`` value or key; the message says what, where and what is allowed.
    A ``ConfigError`` (main.py prints one line) and a ``ValueError`` (for direct callers)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _fail(env_name: str, key: str, value: Any, expected: str) -> None:
    raise EnvArgsError(f"{env_name}: env_args.{key} = {value!r} is invalid: expected {expected}")


def _grid_size(env_name: str, value: Any) -> tuple[int, int]:
    if _is_int(value) and value >= 1:
        return int(value), int(value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) and v >= 1 for v in value):
        return int(value[0]), int(value[1])
    _fail(env_name, "grid_size", value, "an int >= 1 or [height, width] of ints >= 1")
    raise AssertionError  # unreachable


def validate_env_args(env_name: str, env_args: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``env_args`` over ``defaults`` and check every key and value.

    Returns a plain dict with every key of ``ENV_ARG_KEYS``; ``grid_size`` becomes a
    ``(height, width)`` tuple and ``layout`` a tuple of strings (or None).
    """
    for key in env_args:
        if key not in ENV_ARG_KEYS:
            close = difflib.get_close_matches(str(key), ENV_ARG_KEYS, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise EnvArgsError(
                f"{env_name}: unknown env_args key {key!r}{hint} (known keys: {', '.join(ENV_ARG_KEYS)})")
    args = {**defaults, **env_args}
    for key in _POSITIVE_INTS:
        if not (_is_int(args[key]) and args[key] >= 1):
            _fail(env_name, key, args[key], "an int >= 1")
        args[key] = int(args[key])
    for key in _COUNTS:
        if not (_is_int(args[key]) and args[key] >= 0):
            _fail(env_name, key, args[key], "an int >= 0")
        args[key] = int(args[key])
    for key in _REALS:
        value = args[key]
        if not (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)):
            _fail(env_name, key, value, "a finite number")
        args[key] = float(value)
    args["grid_size"] = _grid_size(env_name, args["grid_size"])
    radius = args["obs_radius"]
    if radius is not None and not (_is_int(radius) and radius >= 0):
        _fail(env_name, "obs_radius", radius, "null (full view) or an int >= 0")
    args["obs_radius"] = None if radius is None else int(radius)
    seed = args["seed"]
    if seed is not None and not (_is_int(seed) and seed >= 0):
        _fail(env_name, "seed", seed, "null or an int >= 0")
    args["seed"] = None if seed is None else int(seed)
    layout = args["layout"]
    if layout is not None:
        if isinstance(layout, str) or not isinstance(layout, (list, tuple)) or not layout \
                or not all(isinstance(row, str) and row for row in layout):
            _fail(env_name, "layout", layout, "null or a non-empty list of non-empty strings (one per grid row)")
        args["layout"] = tuple(layout)
    return args
