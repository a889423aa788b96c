"""The world model's module config, built from the run arguments in one place."""
from __future__ import annotations

from munch import Munch


def world_model_config(args: Munch) -> dict:
    """Config of ``WorldModel`` (also identifies a saved one)."""
    return {"env": args.env, "obs_shape": list(args.obs_shape), "n_agents": args.n_agents,
            "n_actions": args.n_actions, "latent_dim": args.wm_latent_dim, "hidden_dim": args.wm_hidden_dim,
            "conv_channels": list(args.conv_channels), "decoder": bool(args.wm_decoder)}
