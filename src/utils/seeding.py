"""Seeding of every global random number generator, in one place."""

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python `random`, numpy's global RNG and torch (CPU and all CUDA devices) with `seed`."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
