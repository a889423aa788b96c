"""Opponent models (SPEC §6.2, §6.3): MOA, the OMG_AM posterior, the state VAE prior."""
from modules.opponent_models.moa import MOA
from modules.opponent_models.omg_am import OMGPosterior
from modules.opponent_models.vae import StateVAE

REGISTRY = {
    "moa": MOA,
    "omg_am": OMGPosterior,
    "vae": StateVAE,
}
