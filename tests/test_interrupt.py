"""A run stopped by a signal is recorded as INTERRUPTED with the metrics it had so far."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_marks_run_interrupted_and_keeps_metrics(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, MAIN, "with", "t_max=100000000", "batch_size_run=8", "buffer_size=8",
                             "log_interval=1", "test_interval=100000000", "save_model=False"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    metrics_path = tmp_path / "results" / "sacred" / "1" / "metrics.json"
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
