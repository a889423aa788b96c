"""Runner registry: ``REGISTRY[name](args, logger)``."""
from runners.parallel_runner import EpisodeRunner, ParallelRunner
from runners.stream_runner import StreamRunner

REGISTRY = {
    "parallel": ParallelRunner,
    "episode": EpisodeRunner,
    "stream": StreamRunner,
}
