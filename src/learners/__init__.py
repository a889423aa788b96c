"""Learner registry: ``REGISTRY[name](mac, scheme, logger, args)``; ``policy`` in ``learners`` means ``args.learner``."""
from learners.moa_learner import MOALearner
from learners.omg_am_learner import OMGAMLearner
from learners.ppo_learner import PPOLearner
from learners.alphazero_learner import AlphaZeroLearner
from learners.goal_model_learner import GoalModelLearner
from learners.subgoal_model_learner import SubgoalModelLearner
from learners.vae_learner import VAELearner
from learners.world_model_learner import WorldModelLearner
from learners.mbrl_learner import MBRLPPOLearner

REGISTRY = {
    "ppo": PPOLearner,
    "moa": MOALearner,
    "omg_am": OMGAMLearner,
    "vae": VAELearner,
    "alphazero": AlphaZeroLearner,
    "goal_model": GoalModelLearner,
    "subgoal_model": SubgoalModelLearner,
    "world_model": WorldModelLearner,
    "mbrl_ppo": MBRLPPOLearner,
}
