"""The world model's module config, built from the run arguments in one place."""
from __future__ import annotations

from munch import Munch


def world_model_config(args: Munch) -> dict:
    """Config of the ``wm_latent`` world model (also identifies a saved one)."""
    config = {"kind": args.wm_latent, "env": args.env, "obs_shape": list(args.obs_shape), "n_agents": args.n_agents,
              "n_actions": args.n_actions, "hidden_dim": args.wm_hidden_dim}
    if args.wm_latent == "spatial":
        return {**config, "spatial_channels": args.wm_spatial_channels, "spatial_blocks": args.wm_spatial_blocks,
                "fusion": args.wm_spatial_fusion, "reward_gate": bool(args.wm_reward_gate)}
    return {**config, "latent_dim": args.wm_latent_dim, "conv_channels": list(args.conv_channels),
            "decoder": bool(args.wm_decoder)}
