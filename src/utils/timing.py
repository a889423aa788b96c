"""Wall-time helpers: compact duration strings and a steps-per-second meter."""

import math
import time
from collections import deque


def format_duration(seconds: float) -> str:
    """Format a duration compactly: "45s", "3m05s", "1h02m", "2d03h" ("?" when unknown or infinite)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


class Throughput:
    """Steps per second over the last `window` intervals between `update` calls."""

    def __init__(self, window: int = 1) -> None:
        if window < 1:
            raise ValueError(f"Throughput window must be >= 1, got {window}")
        self._samples: deque[tuple[float, int]] = deque(maxlen=window + 1)

    @property
    def started(self) -> bool:
        """True once at least one sample has been recorded."""
        return bool(self._samples)

    def update(self, steps: int, now: float | None = None) -> float:
        """Record the cumulative step count `steps` at wall time `now` (default: now) and return
        the rate over the window in steps/s, or NaN while it is not yet measurable."""
        self._samples.append((time.monotonic() if now is None else now, int(steps)))
        (t0, s0), (t1, s1) = self._samples[0], self._samples[-1]
        if t1 <= t0:
            return math.nan
        return (s1 - s0) / (t1 - t0)
