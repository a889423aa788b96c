"""Latent world model for planning and imagination (docs/methods.md, "World-model planning")."""
from modules.world_model.model import WorldModel

__all__ = ["WorldModel"]
