"""World models for planning and imagination (SPEC §6.5): ``REGISTRY[wm_latent](config)``.

``spatial`` (the grid itself as latent, convolutional dynamics) or ``flat`` (a vector latent).
"""
from modules.world_model.model import WorldModel
from modules.world_model.spatial import SpatialWorldModel

REGISTRY = {
    "spatial": SpatialWorldModel,
    "flat": WorldModel,
}
