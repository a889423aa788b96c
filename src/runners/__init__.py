"""Runner registry: ``REGISTRY[name](args, logger)``."""
from runners.parallel_runner import EpisodeRunner, ParallelRunner

REGISTRY = {
    "parallel": ParallelRunner,
    "episode": EpisodeRunner,
}
