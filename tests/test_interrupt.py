"""A run stopped by a signal is recorded as INTERRUPTED with the metrics it had so far."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import reaped

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_marks_run_interrupted_and_keeps_metrics(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, MAIN, "with", "t_max=100000000", "batch_size_run=8", "buffer_size=8",
                             "log_interval=1", "test_interval=100000000", "save_model=False"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    metrics_path = tmp_path / "results" / "sacred" / "1" / "metrics.json"
    with reaped(proc):
        deadline = time.time() + 120
        while time.time() < deadline:
            if metrics_path.exists() and "return_mean" in json.loads(metrics_path.read_text() or "{}"):
                break
            time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    run = json.loads((tmp_path / "results" / "sacred" / "1" / "run.json").read_text())
    assert run["status"] == "INTERRUPTED"
    assert json.loads(metrics_path.read_text())["return_mean"]["values"]


def test_killed_run_resumes_from_its_checkpoint_to_the_uninterrupted_result(tmp_path):
    """SIGTERM mid-way: the run is INTERRUPTED with its metrics and checkpoints kept, and
    ``checkpoint_path`` continues it to exactly the metrics of a run that was never stopped."""
    from test_run import TINY, assert_same_after, metrics, run_main
    full, killed, resumed = tmp_path / "full", tmp_path / "killed", tmp_path / "resumed"
    for folder in (full, killed, resumed):
        folder.mkdir()
    run_main(full, "t_max=960")
    proc = subprocess.Popen([sys.executable, MAIN, "with", *TINY, "t_max=100000000"], cwd=killed,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    models = killed / "results" / "models"
    with reaped(proc):
        deadline = time.time() + 180
        steps: list[int] = []
        while time.time() < deadline and len(steps) < 2:
            time.sleep(0.2)
            if models.exists() and os.listdir(models):
                (token,) = os.listdir(models)
                steps = sorted(int(s) for s in os.listdir(models / token) if s.isdigit())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and len(steps) >= 2, err
    run = json.loads((killed / "results" / "sacred" / "1" / "run.json").read_text())
    assert run["status"] == "INTERRUPTED"
    assert metrics(killed)["return_mean"]["values"]
    checkpoint = steps[1]                              # complete: checkpoints appear by atomic rename
    assert checkpoint < 960
    run_main(resumed, "t_max=960", f"checkpoint_path={models / token}", f"load_step={checkpoint}")
    assert_same_after(metrics(full), metrics(resumed), checkpoint)
