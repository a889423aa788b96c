"""Seeding of every global random number generator, in one place."""

import random

import numpy as np
import torch

# The one table of seed offsets: every random stream other than the global ones is seeded with
# ``seed + SEED_OFFSETS[stream]``, so no two streams draw the same numbers.
SEED_OFFSETS: dict[str, int] = {
    # each learner's own stream (``Learner.seed_generator``), by learner name
    "omg_am": 1,                    # OMG_AM's subgoal sampling noise
    "moa": 2,                       # MOA's minibatch order
    "mbrl_ppo": 3,                  # MBRL's imagined rollouts
    "vae": 4,                       # the online VAE's reparameterisation noise
    # initial weights of the actor's models, drawn from torch's global generator reseeded
    "opponent_models": 7_919,       # OMG_AM, VAE, MOA (HOP+ actors)
    "world_model": 104_729,         # the world model (world-model actors)
    # env seeds: training episode k of run ``seed`` uses seed * EPISODE_SEED_STRIDE + k, test
    # episodes the same plus this offset
    "test_episodes": 1_000_000_000,
}
EPISODE_SEED_STRIDE = 1_000_003


def seed_everything(seed: int) -> None:
    """Seed python `random`, numpy's global RNG and torch (CPU and all CUDA devices) with `seed`."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
