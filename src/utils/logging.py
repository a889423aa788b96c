"""Statistics logging to the console, Sacred metrics and (optionally) TensorBoard.

TensorBoard events are written with `torch.utils.tensorboard.SummaryWriter` (package
`tensorboard`); the unmaintained `tensorboard-logger` package crashes with protobuf >= 4.
"""

import logging
import math
import sys
from collections import defaultdict
from typing import Any

from utils.timing import Throughput, format_duration

_CELLS_PER_ROW = 4
_MAX_KEY_WIDTH = 28
_MIN_VALUE_WIDTH = 9


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is when a record is emitted, so that Sacred's
    `sys` capture (which swaps `sys.stdout` during a run) records the log in cout.txt."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def get_logger() -> logging.Logger:
    """Return the "hopplus" logger, configured once with the format `[LEVEL HH:MM:SS] name message`."""
    logger = logging.getLogger("hopplus")
    # Check for our own handler: test runners (pytest >= 9.2) may attach capture handlers first.
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(
            logging.Formatter("[%(levelname)s %(asctime)s] %(name)s %(message)s", "%H:%M:%S")
        )
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _format_number(value: float) -> str:
    """Short human-readable number: 12, 0.1235, 45.6k, 1.23M, nan."""
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.2f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.1f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.4g}"


class Logger:
    """Sends scalar stats to the console table, Sacred metrics and TensorBoard (when set up)."""

    def __init__(self, console: logging.Logger | None = None) -> None:
        self.console = console if console is not None else get_logger()
        self.use_tb = False
        self.use_sacred = False
        self._tb_writer = None
        self._sacred_run = None
        # values logged since the last print, per key
        self._window: dict[str, list[float]] = defaultdict(list)
        self._throughput = Throughput(window=1)
        # key -> (value, t) of the latest NaN/inf value logged under that key
        self.nonfinite: dict[str, tuple[float, int]] = {}

    def setup_tb(self, directory: str) -> None:
        """Write every stat as a TensorBoard scalar to event files in `directory`."""
        # Imported here so runs without TensorBoard do not pay for importing it.
        from torch.utils.tensorboard import SummaryWriter

        self._tb_writer = SummaryWriter(log_dir=directory)
        self.use_tb = True

    def setup_sacred(self, run: Any) -> None:
        """Record stats as metrics of the Sacred `run` (they end up in metrics.json)."""
        self._sacred_run = run
        self.use_sacred = True

    def log_stat(self, key: str, value: Any, t: int, to_sacred: bool = True) -> None:
        """Log scalar `value` (python, numpy or torch scalar) under `key` at step `t`.

        NaN/inf values are logged like any other and also kept in `self.nonfinite`.
        """
        try:
            value = float(value)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"log_stat({key!r}): value must be a scalar, got {type(value).__name__}"
            ) from exc
        t = int(t)
        if not self._throughput.started:
            self._throughput.update(t)
        if not math.isfinite(value):
            if key not in self.nonfinite:
                self.console.warning(f"stat {key!r} is {value} at t={t}")
            self.nonfinite[key] = (value, t)
        self._window[key].append(value)
        if self.use_tb:
            self._tb_writer.add_scalar(key, value, t)
        if self.use_sacred and to_sacred:
            self._sacred_run.log_scalar(key, value, t)

    def print_recent_stats(self, t_env: int, episode: int, t_max: int) -> None:
        """Print a fixed-width table of each stat's mean since the last print, with t_env,
        episodes, env steps/s since the last print and the estimated time left to `t_max`."""
        rate = self._throughput.update(t_env)
        if t_env >= t_max:
            time_left = 0.0
        elif rate > 0:
            time_left = (t_max - t_env) / rate
        else:
            time_left = math.nan
        cells = [
            ("t_env", str(int(t_env))),
            ("episodes", str(int(episode))),
            ("steps/s", _format_number(rate) if math.isfinite(rate) else "-"),
            ("time left", format_duration(time_left) if math.isfinite(time_left) else "-"),
        ]
        for key in sorted(self._window):
            values = self._window[key]
            cells.append((key, _format_number(math.fsum(values) / len(values))))
        self._window.clear()

        key_width = min(max(len(k) for k, _ in cells), _MAX_KEY_WIDTH)
        value_width = max(_MIN_VALUE_WIDTH, max(len(v) for _, v in cells))
        formatted = [f"{k:<{key_width}} {v:>{value_width}}" for k, v in cells]
        rows = [
            " | ".join(formatted[i : i + _CELLS_PER_ROW])
            for i in range(0, len(formatted), _CELLS_PER_ROW)
        ]
        self.console.info("Recent stats\n" + "\n".join(rows))
        if self.use_tb:
            self._tb_writer.flush()

    def flush(self) -> None:
        """Write the metrics logged so far to the Sacred record now, not at the next 10 s heartbeat
        (called before every checkpoint, so a run killed after it has lost no logged value)."""
        if self._sacred_run is not None:
            self._sacred_run._emit_heartbeat()

    def close(self) -> None:
        """Flush and close the TensorBoard writer, if any."""
        if self._tb_writer is not None:
            self._tb_writer.close()
            self._tb_writer = None
            self.use_tb = False
