"""Tests for utils.logging (console table, TensorBoard, Sacred metrics) and utils.timing."""

import io
import json
import logging
import math
import re

import numpy as np
import pytest
import torch

from utils.logging import Logger, get_logger
from utils.timing import Throughput, format_duration


def _console():
    stream = io.StringIO()
    console = logging.getLogger("hopplus.test_console")
    console.handlers[:] = [logging.StreamHandler(stream)]
    console.setLevel(logging.INFO)
    console.propagate = False
    return console, stream


def test_format_duration():
    assert format_duration(45) == "45s"
    assert format_duration(185) == "3m05s"
    assert format_duration(3720) == "1h02m"
    assert format_duration(2 * 86400 + 3 * 3600 + 59) == "2d03h"
    assert format_duration(0) == "0s"
    assert format_duration(math.inf) == "?"


def test_throughput():
    meter = Throughput(window=2)
    assert math.isnan(meter.update(0, now=10.0))
    assert meter.update(100, now=12.0) == 50.0
    assert meter.update(400, now=13.0) == pytest.approx(400 / 3)
    assert meter.update(500, now=14.0) == pytest.approx(200.0)  # window drops the first sample


def test_console_table(monkeypatch):
    console, stream = _console()
    logger = Logger(console)
    clock = iter([100.0, 110.0, 120.0])
    monkeypatch.setattr("utils.timing.time.monotonic", lambda: next(clock))

    logger.log_stat("return_mean", 1.0, 0)  # starts the throughput meter at t=100s
    logger.log_stat("return_mean", np.float32(2.0), 500)
    logger.log_stat("loss", torch.tensor(0.25), 500)
    logger.print_recent_stats(t_env=1000, episode=40, t_max=37000)
    text = stream.getvalue()
    assert "Recent stats" in text
    assert re.search(r"t_env\s+1000\b", text)
    assert re.search(r"episodes\s+40\b", text)
    assert re.search(r"steps/s\s+100\b", text)  # 1000 steps in 10 s
    assert re.search(r"time left\s+6m00s", text)  # 36000 steps at 100/s
    assert re.search(r"return_mean\s+1\.5\b", text)
    assert re.search(r"loss\s+0\.25\b", text)
    rows = text.strip().splitlines()[1:]
    assert len(rows) == 2
    assert rows[0].index("|") == rows[1].index("|")  # fixed-width columns

    stream.truncate(0)
    stream.seek(0)
    logger.log_stat("loss", 50000, 1500)
    logger.print_recent_stats(t_env=3000, episode=80, t_max=37000)
    text = stream.getvalue()
    assert re.search(r"steps/s\s+200\b", text)  # since the last print
    assert re.search(r"loss\s+50\.0k", text)
    assert "return_mean" not in text  # only stats logged since the last print


def test_nonfinite_and_bad_values():
    console, stream = _console()
    logger = Logger(console)
    logger.log_stat("loss", float("nan"), 3)
    logger.log_stat("loss", 1.0, 4)
    assert "loss" in logger.nonfinite and logger.nonfinite["loss"][1] == 3
    assert "'loss' is nan at t=3" in stream.getvalue()
    with pytest.raises(ValueError, match="'v'.*scalar"):
        logger.log_stat("v", torch.ones(3), 0)


def test_tensorboard_events(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = Logger(_console()[0])
    logger.setup_tb(str(tmp_path / "tb"))
    for t, value in [(0, 1.0), (10, np.float64(2.5)), (20, torch.tensor(-3.0))]:
        logger.log_stat("return_mean", value, t)
    logger.log_stat("loss", 0.5, 20)
    logger.close()

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"return_mean", "loss"}
    scalars = events.Scalars("return_mean")
    assert [s.step for s in scalars] == [0, 10, 20]
    assert [s.value for s in scalars] == [1.0, 2.5, -3.0]
    assert [(s.step, s.value) for s in events.Scalars("loss")] == [(20, 0.5)]


def test_sacred_metrics(tmp_path):
    from sacred import Experiment

    from utils.run_records import AtomicFileStorageObserver

    ex = Experiment("logging_test", save_git_info=False)
    ex.observers.append(AtomicFileStorageObserver(str(tmp_path / "sacred")))

    @ex.main
    def run(_run):
        logger = Logger(get_logger())
        logger.setup_sacred(_run)
        logger.log_stat("return_mean", np.float32(1.5), 10)
        logger.log_stat("return_mean", torch.tensor(2.0), 20)
        logger.log_stat("tb_only", 9.0, 20, to_sacred=False)
        logger.print_recent_stats(20, 2, 100)

    ex.run(options={"--capture": "sys"})
    metrics = json.loads((tmp_path / "sacred" / "1" / "metrics.json").read_text())
    assert set(metrics) == {"return_mean"}
    assert metrics["return_mean"]["steps"] == [10, 20]
    assert metrics["return_mean"]["values"] == [1.5, 2.0]
    # The console logger writes to the current sys.stdout, so Sacred captures the table.
    assert "Recent stats" in (tmp_path / "sacred" / "1" / "cout.txt").read_text()


def test_get_logger_format(capsys):
    logger = get_logger()
    ours = [h for h in get_logger().handlers if type(h).__name__ == "_StdoutHandler"]
    assert logger is get_logger() and len(ours) == 1
    logger.info("hello")
    assert re.fullmatch(r"\[INFO \d\d:\d\d:\d\d\] hopplus hello\n", capsys.readouterr().out)
