"""Learner registry: ``REGISTRY[name](mac, scheme, logger, args)``; ``policy`` in ``learners`` means ``args.learner``."""
from learners.ppo_learner import PPOLearner

REGISTRY = {
    "ppo": PPOLearner,
}
