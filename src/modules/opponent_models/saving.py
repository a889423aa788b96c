"""Standalone saving of opponent-model modules (pretrained priors, MOA) with compatibility checks."""
from __future__ import annotations

import json
import os

import torch
import torch.nn as nn

from utils.config import saved_settings_differ
from utils.errors import ConfigError
from utils.safe_load import read_json, read_torch


def save_module(module: nn.Module, directory: str, name: str) -> None:
    """Write ``<name>.th`` (weights) and ``<name>_config.json`` (``module.config``) into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    torch.save(module.state_dict(), os.path.join(directory, f"{name}.th"))
    with open(os.path.join(directory, f"{name}_config.json"), "w") as f:
        json.dump(module.config, f, indent=1)


def check_saved(config: dict, directory: str, name: str, key: str) -> None:
    """Raise ConfigError unless ``directory`` holds a saved ``name`` whose config equals ``config``.

    ``key`` is the config key that gave ``directory`` (named in errors). A missing directory or
    file, or a different env / obs shape / subgoal_dim / ... is refused. ``prepare_args`` calls
    this before a run starts, so a bad path is a config error, not a failed run.
    """
    config_path = os.path.join(directory, f"{name}_config.json")
    if not os.path.isdir(directory):
        raise ConfigError(f"{key}: '{directory}' is not a directory")
    if not os.path.isfile(config_path) or not os.path.isfile(os.path.join(directory, f"{name}.th")):
        raise ConfigError(f"{key}: no saved {name} in '{directory}' (needs {name}.th and {name}_config.json)")
    saved = read_json(config_path, key)
    if not isinstance(saved, dict):
        raise ConfigError(f"{key}: {config_path} does not hold a mapping")
    differ = saved_settings_differ(saved, config)
    if differ:
        raise ConfigError(f"{key}: the {name} saved in '{directory}' is incompatible with this run: {differ}")


def load_into(module: nn.Module, directory: str, name: str, key: str) -> None:
    """Load ``directory``'s saved ``name`` into ``module`` after ``check_saved`` against ``module.config``."""
    check_saved(module.config, directory, name, key)
    weights = read_torch(os.path.join(directory, f"{name}.th"), key)
    try:
        module.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ConfigError(f"{key}: {name}.th in '{directory}' does not fit its config: {str(e).splitlines()[0]}") from None
