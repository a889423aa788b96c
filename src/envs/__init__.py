"""Environment registry: ``REGISTRY[name](batch_size=B, **env_args) -> BatchedMultiAgentEnv``."""
from __future__ import annotations

from functools import partial

from envs.multiagentenv import CoreEnv
from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore

REGISTRY = {
    "stag_hunt": partial(CoreEnv, StagHuntCore),
    "snowdrift": partial(CoreEnv, SnowdriftCore),
}
