"""Resource guesses made before allocating: does the replay buffer fit in the memory available?"""
from __future__ import annotations

from utils.errors import ConfigError

MEMORY_HEADROOM = 0.9      # the buffer may take at most this fraction of the available memory


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else None (unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_buffer_memory(bytes_per_episode: int, buffer_size: int, available: int | None = None) -> None:
    """ConfigError, before allocating, if ``buffer_size`` episodes need more than the memory available."""
    available = available_memory_bytes() if available is None else available
    if available is None:
        return
    needed = bytes_per_episode * buffer_size
    if needed > MEMORY_HEADROOM * available:
        fit = int(MEMORY_HEADROOM * available // max(bytes_per_episode, 1))
        raise ConfigError(f"buffer_size={buffer_size} needs {_size(needed)} for the replay buffer "
                          f"({_size(bytes_per_episode)} per episode) but {_size(available)} of memory is available; "
                          f"allowed here: buffer_size <= {fit}")
