"""Role names per agent slot (docs/design.md: Roles and data flow): learned, rule-based co-player, or frozen checkpoint."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from munch import Munch

from utils.errors import ConfigError

CKPT_PREFIX = "ckpt:"


@dataclass(frozen=True)
class RoleSpec:
    """One distinct role: its name, its kind (learned | rule | ckpt) and, for ckpt, the path."""

    name: str
    kind: str
    path: str = ""


def _rule_roles(env: str) -> dict:
    from envs import rule_based
    return rule_based.REGISTRY.get(env, {})


# Ordered classification: the first rule that matches a role name gives its kind.
ROLE_KINDS: list[tuple[str, Callable[[str, Munch], bool]]] = [
    ("ckpt", lambda role, args: role.startswith(CKPT_PREFIX)),
    ("learned", lambda role, args: role == args.name),
    ("rule", lambda role, args: role in _rule_roles(args.env)),
]


def classify_role(role: str, args: Munch) -> RoleSpec:
    """Return the RoleSpec of a role name, or raise ConfigError listing the allowed names."""
    for kind, matches in ROLE_KINDS:
        if matches(role, args):
            path = role[len(CKPT_PREFIX):] if kind == "ckpt" else ""
            if kind == "ckpt" and not path:
                raise ConfigError(f"roles: '{role}' needs a model directory after '{CKPT_PREFIX}'")
            return RoleSpec(role, kind, path)
    allowed = [args.name] + sorted(_rule_roles(args.env)) + [f"{CKPT_PREFIX}<model dir>"]
    raise ConfigError(f"roles: unknown role '{role}' for env '{args.env}'. Allowed: {', '.join(allowed)}")


def validate_roles(args: Munch) -> list[RoleSpec]:
    """Check ``args.roles`` (one per slot) and return the distinct roles in first-seen order."""
    roles = list(args.roles)
    if len(roles) != args.n_agents:
        raise ConfigError(f"roles: {len(roles)} roles given ({roles}) but the env has n_agents={args.n_agents}; "
                          "give exactly one role per slot")
    distinct: dict[str, RoleSpec] = {}
    for role in roles:
        if not isinstance(role, str):
            raise ConfigError(f"roles: each role must be a string, got {role!r}")
        if role not in distinct:
            distinct[role] = classify_role(role, args)
    return list(distinct.values())
