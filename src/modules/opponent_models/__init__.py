"""Opponent models (docs/methods.md, "HOP+"): MOA, the OMG_AM posterior, the state VAE prior.
The HOP+ actors build them (``controllers.subgoal_actor.build_opponent_models``)."""
from modules.opponent_models.moa import MOA
from modules.opponent_models.omg_am import OMGPosterior
from modules.opponent_models.vae import StateVAE

__all__ = ["MOA", "OMGPosterior", "StateVAE"]
