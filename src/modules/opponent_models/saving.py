"""Standalone saving of opponent-model modules (pretrained priors, MOA) with compatibility checks."""
from __future__ import annotations

import json
import os

import torch
import torch.nn as nn

from utils.errors import ConfigError


def save_module(module: nn.Module, directory: str, name: str) -> None:
    """Write ``<name>.th`` (weights) and ``<name>_config.json`` (``module.config``) into ``directory``."""
    os.makedirs(directory, exist_ok=True)
    torch.save(module.state_dict(), os.path.join(directory, f"{name}.th"))
    with open(os.path.join(directory, f"{name}_config.json"), "w") as f:
        json.dump(module.config, f, indent=1)


def load_into(module: nn.Module, directory: str, name: str, key: str) -> None:
    """Load ``directory``'s saved ``name`` into ``module`` after checking that every config entry matches.

    ``key`` is the config key that gave ``directory`` (named in errors). A missing directory or
    file, or a different env / obs shape / subgoal_dim / ... is a ConfigError.
    """
    config_path = os.path.join(directory, f"{name}_config.json")
    if not os.path.isdir(directory):
        raise ConfigError(f"{key}: '{directory}' is not a directory")
    if not os.path.isfile(config_path):
        raise ConfigError(f"{key}: no saved {name} in '{directory}' (missing {name}_config.json)")
    with open(config_path) as f:
        saved = json.load(f)
    differ = {k: (saved.get(k), v) for k, v in module.config.items() if saved.get(k) != v}
    if differ:
        text = ", ".join(f"{k}={old!r} (this run needs {new!r})" for k, (old, new) in differ.items())
        raise ConfigError(f"{key}: the {name} saved in '{directory}' is incompatible with this run: {text}")
    module.load_state_dict(torch.load(os.path.join(directory, f"{name}.th"), map_location="cpu"))
