"""Reading saved files (json configs, torch weights) with one clear error when a file is bad."""
from __future__ import annotations

import json
from typing import Any

from utils.errors import ConfigError


def read_json(path: str, what: str) -> Any:
    """The json in ``path``; an empty, truncated or unreadable file is a ConfigError naming ``what``."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{what}: cannot read {path}: {type(e).__name__}: {e}") from None


def read_torch(path: str, what: str, weights_only: bool = True) -> Any:
    """``torch.load(path)`` onto the CPU; a truncated or unreadable file is a ConfigError naming ``what``."""
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as e:      # torch raises RuntimeError, EOFError, UnpicklingError, ... for bad files
        raise ConfigError(f"{what}: cannot read {path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
