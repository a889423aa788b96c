"""The world model's module config, built from the run arguments in one place."""
from __future__ import annotations

from munch import Munch


# the run option behind each config entry (named in errors about a saved model's settings)
CONFIG_ARG_NAMES = {"kind": "wm_latent", "hidden_dim": "wm_hidden_dim", "spatial_channels": "wm_spatial_channels",
                    "spatial_blocks": "wm_spatial_blocks", "fusion": "wm_spatial_fusion", "reward_gate": "wm_reward_gate",
                    "latent_dim": "wm_latent_dim", "decoder": "wm_decoder"}


# settings that change what a model computes but not its parameters, as run checkpoints saved
# before they recorded the model's config hold them (utils.checkpoint: checkpoint_config_defaults)
CHECKPOINT_CONFIG_DEFAULTS = {"reward_gate": False}


def world_model_config(args: Munch) -> dict:
    """Config of the ``wm_latent`` world model (also identifies a saved one)."""
    config = {"kind": args.wm_latent, "env": args.env, "obs_shape": list(args.obs_shape), "n_agents": args.n_agents,
              "n_actions": args.n_actions, "hidden_dim": args.wm_hidden_dim}
    if args.wm_latent == "spatial":
        return {**config, "spatial_channels": args.wm_spatial_channels, "spatial_blocks": args.wm_spatial_blocks,
                "fusion": args.wm_spatial_fusion, "reward_gate": bool(args.wm_reward_gate)}
    return {**config, "latent_dim": args.wm_latent_dim, "conv_channels": list(args.conv_channels),
            "decoder": bool(args.wm_decoder)}
