"""Check a merged config against the key table (``utils/config_schema.py``) before a run is recorded.

Every key's type, range and choices are checked, registry names against the registries (resolved
here, above ``utils``), then the constraints between keys. The first problem raises ConfigError
with one message: the key, the value given and what is allowed.
"""
from __future__ import annotations

import difflib
import functools
import importlib
from typing import Any, Callable, Mapping

from utils.config_schema import CONSTRAINTS, ConfigKey, key_table
from utils.errors import ConfigError


# Registry name in the key table -> (module, attribute) holding its names (a dict or a tuple), plus
# names allowed besides them. Imported when a key is checked, since the modules sit above ``utils``.
_REGISTRY_SOURCES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "run_mode": ("modes", "REGISTRY", ()),
    "env": ("envs", "REGISTRY", ()),
    "runner": ("runners", "REGISTRY", ()),
    "learner": ("learners", "REGISTRY", ()),
    "learner_slot": ("learners", "REGISTRY", ("policy",)),
    "agent": ("modules.agents", "REGISTRY", ()),
    "actor": ("controllers", "REGISTRY", ()),
    "coplayer_goals": ("planners.goals", "GOALS", ()),
    "goal_update": ("planners.subgoal_goals", "GOAL_UPDATES", ()),
    "mcts_policy_target": ("controllers.search_acting", "POLICY_TARGETS", ()),
    "selector": ("modules.opponent_models.selector", "SELECTORS", ()),
    "recon_loss": ("modules.opponent_models.recon", "RECON_LOSSES", ()),
    "policy_input": ("controllers.subgoal_inputs", "POLICY_INPUTS", ()),
    "wm_loss": ("learners.world_model_learner", "WM_LOSSES", ()),
    "wm_latent": ("modules.world_model", "REGISTRY", ()),
    "wm_spatial_fusion": ("modules.world_model.spatial", "FUSIONS", ()),
    "wm_reward_loss": ("learners.world_model_learner", "REWARD_LOSSES", ()),
    "wm_planner": ("planners.wm_planner", "PLANNERS", ()),
    "wm_expectation": ("planners.wm_planner", "EXPECTATIONS", ()),
    "wm_explore": ("controllers.wm_actor", "EXPLORATION", ()),
}


def _registry_names(registry: str) -> tuple[str, ...]:
    """The names registry ``registry`` holds (see ``_REGISTRY_SOURCES``)."""
    module, attribute, extra = _REGISTRY_SOURCES[registry]
    return (*extra, *getattr(importlib.import_module(module), attribute))


# Registry name in the key table -> the names it holds.
REGISTRIES: dict[str, Callable[[], tuple[str, ...]]] = {
    name: functools.partial(_registry_names, name) for name in _REGISTRY_SOURCES}


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def _is_type(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def _check_number(key: ConfigKey, value: Any, where: str) -> None:
    low_ok = key.low is None or (value > key.low if key.low_open else value >= key.low)
    high_ok = key.high is None or (value < key.high if key.high_open else value <= key.high)
    if not (low_ok and high_ok):       # NaN fails both
        raise ConfigError(f"{where} = {value!r} is out of range; allowed: {key.allowed()}")


def _check_choice(key: ConfigKey, value: Any, where: str) -> None:
    if key.choices is not None and value not in key.choices:
        raise ConfigError(f"{where} = {value!r} is not allowed; allowed: {', '.join(map(str, key.choices))}")
    if key.registry is not None:
        names = REGISTRIES[key.registry]()
        if value not in names:
            close = difflib.get_close_matches(str(value), [str(n) for n in names], n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown {where} '{value}'. Available: {', '.join(sorted(map(str, names)))}.{hint}")


def _check_scalar(key: ConfigKey, value: Any, where: str) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(key, value, where)
    elif isinstance(value, str) and key.nonempty and not value:
        raise ConfigError(f"{where} is empty; give a value")
    _check_choice(key, value, where)


def check_key(key: ConfigKey, value: Any) -> None:
    """Raise ConfigError if ``value`` is not allowed for ``key``."""
    where = key.name
    if not _is_type(value, key.types):
        raise ConfigError(f"{where} must be {_type_names(key.types)}, got {value!r} ({type(value).__name__})")
    if value is None or isinstance(value, dict):
        return
    if not isinstance(value, list):
        _check_scalar(key, value, where)
        return
    if key.min_len is not None and len(value) < key.min_len or key.max_len is not None and len(value) > key.max_len:
        raise ConfigError(f"{where} = {value!r} has {len(value)} entries; allowed: {key.allowed()}")
    if key.nonempty and not value:
        raise ConfigError(f"{where} is empty; give at least one entry")
    for i, item in enumerate(value):
        item_where = f"{where}[{i}]"
        if key.item_types is not None and not _is_type(item, key.item_types):
            raise ConfigError(f"{item_where} must be {_type_names(key.item_types)}, got {item!r} "
                              f"({type(item).__name__}) in {where} = {value!r}")
        if not isinstance(item, list):
            _check_scalar(key, item, item_where)
    if key.unique:
        repeated = sorted({str(v) for v in value if value.count(v) > 1})
        if repeated:
            raise ConfigError(f"{where} = {value!r} repeats {', '.join(repeated)}; each entry may appear once")


def _get(config: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _flat_keys(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k, v in config.items():
        keys.append(f"{prefix}{k}")
        if isinstance(v, Mapping):
            keys += _flat_keys(v, f"{prefix}{k}.")
    return keys


DERIVED = ("env_config", "alg_config")   # set by build_config, not by users


def contributed_keys() -> tuple[dict[str, ConfigKey], set[str]]:
    """What learners and actors add: their ``config_keys`` (``ConfigKey`` entries with ranges) and
    the names of the keys they declare with ``config_defaults``."""
    import controllers
    import learners
    entries: dict[str, ConfigKey] = {}
    declared: set[str] = set()
    for registry in (learners.REGISTRY, controllers.REGISTRY):
        for cls in registry.values():
            for key in getattr(cls, "config_keys", ()):
                entries.setdefault(key.name, key)
            declared |= set(getattr(cls, "config_defaults", {}))
    return entries, declared


def validate_config(config: Mapping[str, Any]) -> None:
    """Check every key of a merged config against the key table (plus the entries learners and
    actors contribute with ``config_keys``), then the constraints between keys.

    A key of ``default.yaml`` that the table does not cover is an error (a key added there without
    a range cannot slip through); a key a learner or actor declares in ``config_defaults`` without
    a ``config_keys`` entry is only type-checked (by its default, when the config is merged)."""
    entries, declared = contributed_keys()
    table = {**entries, **key_table()}
    for dotted in _flat_keys(config):
        if dotted in DERIVED:
            continue
        if dotted not in table:
            if dotted in declared:
                continue
            raise ConfigError(f"config key '{dotted}' has no entry in the key table (utils/config_schema.py)")
        check_key(table[dotted], _get(config, dotted)[1])
    for constraint in CONSTRAINTS:
        if all(_get(config, k)[0] for k in constraint.keys):
            message = constraint.check(config)
            if message:
                raise ConfigError(message)
