"""Offline pretraining stages (docs/methods.md: OMG_AM): ``collect`` rule-based episodes, then ``pretrain_vae``."""
