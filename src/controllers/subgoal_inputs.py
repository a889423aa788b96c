"""What the HOP+ policy is conditioned on (``policy_inputs``) and the per-step fields it needs.

The policy's extra input is, for each co-player in ego-first order, the concatenation of the
active parts (``subgoal``: ``subgoal_dim`` floats; ``moa``: ``n_actions`` predicted action
probabilities), flattened: ``[M, (N-1) * width]``.
"""
from __future__ import annotations

import torch
from munch import Munch

from utils.errors import ConfigError

# policy input name -> width per co-player
POLICY_INPUTS = {
    "subgoal": lambda args: args.subgoal_dim,
    "moa": lambda args: args.n_actions,
}


def active_policy_inputs(args: Munch) -> list[str]:
    """``policy_inputs`` in canonical order, without ``subgoal`` when ``use_subgoal`` is False."""
    unknown = [name for name in args.policy_inputs if name not in POLICY_INPUTS]
    if unknown:
        raise ConfigError(f"policy_inputs: unknown {unknown}; allowed: a subset of {list(POLICY_INPUTS)}")
    return [name for name in POLICY_INPUTS
            if name in args.policy_inputs and (name != "subgoal" or args.use_subgoal)]


def policy_extra_dim(args: Munch) -> int:
    """Width of the policy's extra input (0 = the plain PPO network)."""
    return (args.n_agents - 1) * sum(POLICY_INPUTS[name](args) for name in active_policy_inputs(args))


def uses_moa(args: Munch) -> bool:
    """Whether the actor owns a MOA (trained by the ``moa`` learner, or feeding the policy)."""
    return "moa" in args.learners or "moa" in active_policy_inputs(args)


def compose_extra(parts: dict[str, torch.Tensor], names: list[str]) -> torch.Tensor | None:
    """``parts[name] [..., K, width]`` -> ``[..., K * sum(widths)]`` in the order of ``names`` (None if empty)."""
    if not names:
        return None
    return torch.cat([parts[name] for name in names], dim=-1).flatten(-2)


def subgoal_fields(args: Munch) -> dict:
    """Per-step fields (grouped by agent) written for the learned role's rows at every step."""
    coplayers = args.n_agents - 1
    fields: dict = {}
    if args.use_subgoal:
        for key in ("subgoal", "infer_mu", "infer_log_var"):
            fields[key] = {"vshape": (coplayers, args.subgoal_dim), "group": "agents"}
    if "moa" in active_policy_inputs(args):
        fields["moa_probs"] = {"vshape": (coplayers, args.n_actions), "group": "agents"}
    extra = policy_extra_dim(args)
    if extra:
        fields["policy_extra"] = {"vshape": (extra,), "group": "agents"}
    return fields
