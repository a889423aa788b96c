"""Offline pretraining stages (SPEC §6.3): ``collect`` rule-based episodes, then ``pretrain_vae``."""
