"""World models for planning and imagination (docs/methods.md, "World-model planning"):
``REGISTRY[wm_latent](config)``, ``spatial`` (the grid itself as latent, convolutional dynamics) or
``flat`` (a vector latent, MLP dynamics)."""
from modules.world_model.model import WorldModel
from modules.world_model.spatial import SpatialWorldModel

REGISTRY = {
    "spatial": SpatialWorldModel,
    "flat": WorldModel,
}

__all__ = ["REGISTRY", "SpatialWorldModel", "WorldModel"]
