"""Module configs of the opponent models, built from the run arguments in one place.

A config also identifies a saved module: loading one whose config differs (env, obs shape,
subgoal_dim, ...) is refused with a ConfigError (``modules.opponent_models.saving``).
"""
from __future__ import annotations

from munch import Munch


def _common(args: Munch) -> dict:
    return {"env": args.env, "obs_shape": list(args.obs_shape), "hidden_dim": args.om_hidden_dim,
            "conv_channels": list(args.om_conv_channels)}


def vae_config(args: Munch) -> dict:
    """The state VAE prior (a MOA head over ``n_actions`` when ``vae_moa_head``)."""
    return {**_common(args), "subgoal_dim": args.subgoal_dim,
            "n_actions": args.n_actions if args.vae_moa_head else 0}


def omg_config(args: Munch) -> dict:
    """The OMG_AM posterior."""
    return {**_common(args), "subgoal_dim": args.subgoal_dim, "n_agents": args.n_agents, "n_actions": args.n_actions}


def moa_config(args: Munch) -> dict:
    """MOA, conditioned on subgoals when ``use_subgoal`` and ``moa_subgoal``."""
    conditioned = args.use_subgoal and args.moa_subgoal
    return {**_common(args), "subgoal_dim": args.subgoal_dim if conditioned else 0,
            "n_agents": args.n_agents, "n_actions": args.n_actions}
