"""Configuration: yaml loading, validated merging, command-line parsing.

Merge order (docs/design.md: Configuration and runs): ``default.yaml`` < env yaml < alg yaml < command line. Every key
must exist in ``default.yaml`` and a value must have the type of its default there.
"""
from __future__ import annotations

import copy
import difflib
import os
from typing import Any, Iterable

import re

import yaml

from utils.errors import ConfigError


class _Loader(yaml.SafeLoader):
    """Safe yaml loader that also reads ``1e-3`` (YAML 1.1 would keep it a string) as a float."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def parse_yaml(text: str) -> Any:
    """Parse yaml text with the project's loader."""
    return yaml.load(text, Loader=_Loader)


def parse_yaml_value(text: str, where: str) -> Any:
    """Parse a yaml value given by a user; invalid yaml is a ConfigError naming ``where``."""
    try:
        return parse_yaml(text)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: '{text}' is not valid yaml ({problem})") from None


def parse_overrides(items: list[str], what: str) -> dict[str, Any]:
    """``["key=<yaml value>", ...]`` (a script's ``--set``) -> ``{key: value}``; ConfigError naming ``what``
    for an item without ``=`` or with invalid yaml."""
    overrides = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"{what} {item!r}: expected key=value")
        overrides[key] = parse_yaml_value(text, f"{what} {key}")
    return overrides


def check_config_name(name: str, what: str, folder: str) -> None:
    """A --config / --env-config name is a plain file name of ``folder`` (no path, no '..')."""
    if not name or name != os.path.basename(name) or name.startswith(".") or name.endswith(".yaml"):
        names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml")) if os.path.isdir(folder) else []
        raise ConfigError(f"{what} '{name}' must be the name of a file in {folder} (no path, no .yaml). "
                          f"Available: {', '.join(names) or 'none'}")

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "config")
DEFAULT_ALG = "ppo"
DEFAULT_ENV = "stag_hunt_small"

# Keys whose default (often null) does not tell their type: the allowed types.
EXTRA_TYPES: dict[str, tuple[type, ...]] = {
    "env_args.grid_size": (int, list),
    "env_args.obs_radius": (int, type(None)),
    "env_args.layout": (list, type(None)),
    "env_args.seed": (int, type(None)),
}


def saved_settings_differ(saved: dict, needed: dict, names: dict[str, str] | None = None) -> str:
    """What a saved artefact's settings ``saved`` get wrong for this run, which needs ``needed``:
    ``"NAME=saved (this run needs value), ..."`` over the keys of ``needed`` (a key ``saved`` lacks
    reads None; ``names`` maps keys to the option names a user sets), or ``""`` when none differ."""
    names = names or {}
    return ", ".join(f"{names.get(key, key)}={saved.get(key)!r} (this run needs {value!r})"
                     for key, value in needed.items() if saved.get(key) != value)


def load_yaml(path: str, what: str) -> dict:
    """Read one yaml mapping; a missing file or a non-mapping is a ConfigError."""
    if not os.path.isfile(path):
        folder = os.path.dirname(path)
        names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml")) if os.path.isdir(folder) else []
        raise ConfigError(f"{what} file not found: {path}. Available: {', '.join(names) or 'none'}")
    with open(path) as f:
        try:
            data = parse_yaml(f.read())
        except yaml.YAMLError as e:
            raise ConfigError(f"{what} file {path} is not valid yaml: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} file {path} must hold a mapping of keys, got {type(data).__name__}")
    return data


def _type_name(types: Iterable[type]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def _allowed_types(default: Any, dotted: str) -> tuple[type, ...] | None:
    if dotted in EXTRA_TYPES:
        return EXTRA_TYPES[dotted]
    if default is None:
        return None
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, float):
        return (float, int)
    if isinstance(default, int):
        return (int,)
    return (type(default),)


def _check_type(value: Any, default: Any, dotted: str, source: str) -> Any:
    allowed = _allowed_types(default, dotted)
    if allowed is None:
        return value
    ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
    if not ok:
        raise ConfigError(
            f"{source}: '{dotted}' must be {_type_name(allowed)}, got {value!r} ({type(value).__name__})")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def merge_checked(base: dict, update: dict, source: str, prefix: str = "") -> dict:
    """Return ``base`` updated with ``update``; unknown keys and wrong types raise ConfigError."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            close = difflib.get_close_matches(str(key), [str(k) for k in base], n=3, cutoff=0.5)
            hint = f" Closest known keys: {', '.join(prefix + c for c in close)}." if close else ""
            raise ConfigError(f"{source}: unknown key '{dotted}'.{hint}")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{dotted}' must be a mapping, got {value!r}")
            merged[key] = merge_checked(default, value, source, prefix=f"{dotted}.")
        else:
            merged[key] = _check_type(value, default, dotted, source)
    return merged


def parse_cli(argv: list[str]) -> tuple[str, str, dict]:
    """Split ``[--config=X] [--env-config=Y] [with k=v ...]`` into (alg, env, nested overrides)."""
    alg, env, overrides = DEFAULT_ALG, DEFAULT_ENV, {}
    args = list(argv)
    i = 0
    in_with = False
    while i < len(args):
        arg = args[i]
        if arg == "with":
            in_with = True
        elif not in_with and arg.startswith("--"):
            flag, eq, value = arg.partition("=")
            if flag not in ("--config", "--env-config", "--env_config"):
                raise ConfigError(f"command line: unknown option {flag}. Allowed: --config, --env-config, --debug, "
                                  "with key=value ...")
            if not eq:
                if i + 1 >= len(args):
                    raise ConfigError(f"command line: {flag} needs a value")
                i += 1
                value = args[i]
            if flag == "--config":
                alg = value
            elif flag in ("--env-config", "--env_config"):
                env = value
            else:
                raise ConfigError(f"command line: unknown option {flag}. Allowed: --config, --env-config, with key=value ...")
        elif in_with:
            key, eq, text = arg.partition("=")
            if not eq or not key:
                raise ConfigError(f"command line: expected key=value after 'with', got '{arg}'")
            try:
                value = parse_yaml(text)
            except yaml.YAMLError:
                value = text
            _set_dotted(overrides, key, value)
        else:
            raise ConfigError(f"command line: unexpected argument '{arg}'. Usage: "
                              "python src/main.py --config=<alg> --env-config=<env> with key=value ...")
        i += 1
    return alg, env, overrides


def _set_dotted(target: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"command line: '{dotted}' sets a key below a value that is not a mapping")
    target[parts[-1]] = value


def build_config(alg: str = DEFAULT_ALG, env: str = DEFAULT_ENV, overrides: dict | None = None,
                 config_dir: str = CONFIG_DIR, declared: dict | None = None) -> dict:
    """Merge default < env < alg < overrides into one plain dict, validating every key.
    ``declared``: keys with defaults that learners and actors declare, added to default.yaml's."""
    check_config_name(alg, "--config", os.path.join(config_dir, "algs"))
    check_config_name(env, "--env-config", os.path.join(config_dir, "envs"))
    config = load_yaml(os.path.join(config_dir, "default.yaml"), "default config")
    for key, value in (declared or {}).items():
        if key in config:
            raise ConfigError(f"config key '{key}' is declared by a learner or actor and also in default.yaml")
        config[key] = copy.deepcopy(value)
    env_cfg = load_yaml(os.path.join(config_dir, "envs", f"{env}.yaml"), "env config (--env-config)")
    config = merge_checked(config, env_cfg, f"config/envs/{env}.yaml")
    alg_cfg = load_yaml(os.path.join(config_dir, "algs", f"{alg}.yaml"), "algorithm config (--config)")
    config = merge_checked(config, alg_cfg, f"config/algs/{alg}.yaml")
    config = merge_checked(config, overrides or {}, "command line")
    config["env_config"] = env
    config["alg_config"] = alg
    return config
