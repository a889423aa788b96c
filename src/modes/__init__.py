"""Run-mode registry: what a run does (``run_mode``). Each entry is ``fn(_run, args, logger)``."""
from modes.adapt import adapt
from modes.probe import probe_subgoals
from modes.train import train_or_evaluate
from pretraining.collect import collect
from pretraining.pretrain_vae import pretrain_vae

REGISTRY = {
    "train": train_or_evaluate,
    "collect": collect,
    "pretrain_vae": pretrain_vae,
    "adapt": adapt,
    "probe_subgoals": probe_subgoals,
}
