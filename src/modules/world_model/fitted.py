"""Starting a run's world model from one fitted offline (``wm_load_path``: a ``model.pt`` written by
``scripts/fit_world_model.py``), refused before the run starts when it does not fit the run."""
from __future__ import annotations

import os

import torch

from utils.config import saved_settings_differ
from utils.errors import ConfigError
from utils.safe_load import read_torch

KEY = "wm_load_path"
# config entries that fits saved before they existed hold implicitly (the spatial model's joint
# action entered the stem; its reward rules were not gated)
SAVED_BEFORE = {"fusion": "stem", "reward_gate": False}


def save_fitted(model: torch.nn.Module, path: str) -> None:
    """Write ``model`` (its ``config`` and weights) to ``path``, the file ``wm_load_path`` reads."""
    torch.save({"config": model.config, "state_dict": model.state_dict()}, path)


def saved_config(saved: dict) -> dict:
    """The config a saved fit was built with, the entries it predates filled in (``SAVED_BEFORE``)."""
    return {**SAVED_BEFORE, **saved["config"]}


def read_fitted(path: str, config: dict) -> dict:
    """The state dict saved in ``path``; ConfigError unless it is a fitted world model whose config
    (kind, env, shapes, widths) equals ``config``, the one this run builds."""
    if not os.path.isfile(path):
        raise ConfigError(f"{KEY}: '{path}' is not a file (expected a model.pt written by scripts/fit_world_model.py)")
    saved = read_torch(path, KEY)
    if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict) or "state_dict" not in saved:
        raise ConfigError(f"{KEY}: '{path}' does not hold a fitted world model ({{'config', 'state_dict'}})")
    differ = saved_settings_differ(saved_config(saved), config)
    if differ:
        raise ConfigError(f"{KEY}: the world model in '{path}' is incompatible with this run: {differ}")
    return saved["state_dict"]


def load_fitted(model: torch.nn.Module, path: str) -> None:
    """Load the fitted world model in ``path`` into ``model`` (its ``config`` must match)."""
    model.load_state_dict(read_fitted(path, model.config))
