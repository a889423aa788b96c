"""Latent world model for planning and imagination (SPEC §6.5): ``REGISTRY[name](config)``."""
from modules.world_model.model import WorldModel

REGISTRY = {
    "latent": WorldModel,
}
