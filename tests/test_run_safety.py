"""No run loses or mixes data: unique run tokens, metrics flushed before every checkpoint, resuming in
place, dead runs shown as DEAD, run-time faults recorded as FAILED with one line."""
import datetime
import json
import os
import re
import resource
import subprocess
import sys

import pytest

import main as main_module
from helpers import make_args
from preflight import token_to_continue
from utils.errors import ConfigError
from tools.results_table import HEARTBEAT_TIMEOUT_S, run_status
from tools.sweep import RunSpec, resume_overrides

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["batch_size_run=4", "buffer_size=4", "batch_size=4", "test_nepisode=4", "test_interval=100000",
        "log_interval=1", "save_model_interval=1"]


def test_identical_runs_started_together_get_different_tokens():
    tokens = {make_args().unique_token for _ in range(20)}
    assert len(tokens) == 20
    assert all(re.fullmatch(r"ppo__stag_hunt_small__ppox4__seed0__\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-[0-9a-f]{8}", t)
               for t in tokens)


def test_checkpoint_first_writes_the_metrics_to_the_sacred_record(tmp_path):
    """Inside a live Sacred run (heartbeat every 10 s), the metrics logged before a checkpoint are
    on disk as soon as the checkpoint is written: a kill right after it loses none."""
    from sacred import Experiment as SacredExperiment

    from utils.run_records import AtomicFileStorageObserver

    from helpers import make_experiment
    seen = {}
    ex = SacredExperiment("flush_test", save_git_info=False, interactive=True)
    ex.observers.append(AtomicFileStorageObserver(str(tmp_path / "sacred")))

    @ex.main
    def body(_run):
        experiment = make_experiment(local_results_path=str(tmp_path), batch_size_run=4, buffer_size=4, batch_size=4)
        experiment.logger.setup_sacred(_run)
        experiment.logger.log_stat("probe_value", 1.5, 7)
        experiment.save()
        with open(tmp_path / "sacred" / str(_run._id) / "metrics.json") as f:
            seen.update(json.load(f))

    ex.run()
    assert seen["probe_value"]["values"] == [1.5] and seen["probe_value"]["steps"] == [7]


def test_resume_in_place_continues_the_same_model_folder(tmp_path, monkeypatch, restore_signals):
    monkeypatch.chdir(tmp_path)
    assert main_module.main(["with", "t_max=100", *TINY]) == 0
    (token,) = os.listdir(tmp_path / "results" / "models")
    first_steps = sorted(int(s) for s in os.listdir(tmp_path / "results" / "models" / token))
    assert main_module.main(["with", f"t_max={first_steps[-1] + 100}", *TINY,
                             "checkpoint_path=results", "resume_in_place=True"]) == 0
    assert os.listdir(tmp_path / "results" / "models") == [token]
    steps = sorted(int(s) for s in os.listdir(tmp_path / "results" / "models" / token))
    assert steps[-1] > first_steps[-1]
    with open(tmp_path / "results" / "sacred" / "2" / "config.json") as f:
        resumed = json.load(f)
    assert resumed["unique_token"] == token
    with open(tmp_path / "results" / "sacred" / "2" / "metrics.json") as f:
        episodes = json.load(f)["episode"]["steps"]
    assert min(episodes) > first_steps[-1]      # the resumed run continues after the checkpoint


def test_resume_in_place_refuses_a_folder_of_another_results_path(tmp_path):
    assert token_to_continue(str(tmp_path / "models" / "tok"), str(tmp_path)) == "tok"
    with pytest.raises(ConfigError, match="must be a model folder .*models/<token> of this run's local_results_path"):
        token_to_continue(str(tmp_path / "elsewhere" / "tok"), str(tmp_path))


def test_sweep_resumes_a_run_that_wrote_a_checkpoint(tmp_path):
    spec = RunSpec(0, "ppo", "stag_hunt_small", str(tmp_path / "run"), {"t_max": 1000})
    assert resume_overrides(spec) == []                         # nothing saved yet: a fresh start
    step = tmp_path / "run" / "models" / "tok" / "400"
    step.mkdir(parents=True)
    (step / "state.pt").write_bytes(b"")
    assert resume_overrides(spec) == [f"checkpoint_path={spec.folder}", "resume_in_place=True"]
    probe = RunSpec(0, "ppo", "stag_hunt_small", str(tmp_path / "run"), {"checkpoint_path": "x"})
    assert resume_overrides(probe) == []                        # the grid gives its own checkpoint


def test_running_run_with_a_stopped_heartbeat_is_dead():
    now = datetime.datetime(2026, 1, 1, 12, 0, 0)
    beat = lambda seconds: (now - datetime.timedelta(seconds=seconds)).isoformat()   # noqa: E731
    assert run_status({"status": "RUNNING", "heartbeat": beat(5)}, now) == "RUNNING"
    assert run_status({"status": "RUNNING", "heartbeat": beat(HEARTBEAT_TIMEOUT_S + 1)}, now) == "DEAD"
    assert run_status({"status": "COMPLETED", "heartbeat": beat(10**6)}, now) == "COMPLETED"


def test_compare_and_table_show_a_dead_run(tmp_path):
    run = tmp_path / "sacred" / "1"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"seed": 0, "name": "ppo", "roles": ["ppo"]}))
    (run / "run.json").write_text(json.dumps({"status": "RUNNING", "heartbeat": "2020-01-01T00:00:00"}))
    (run / "metrics.json").write_text(json.dumps({"x": {"steps": [1], "values": [1.0], "timestamps": ["t"]}}))
    proc = subprocess.run([sys.executable, "-m", "scripts.compare_runs", str(run), str(run)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert "(DEAD)" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "scripts.table", str(tmp_path), "--metric", "x"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert "status DEAD" in proc.stderr


def test_fault_at_run_time_is_one_line_exit_1_and_a_failed_run(tmp_path):
    """A file-size limit makes the first checkpoint fail as a full disk would."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
    proc = subprocess.run([sys.executable, os.path.join(REPO, "src", "main.py"), "with", "t_max=100", *TINY],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"hopplus: run failed: OSError: .*File too large.*recorded as FAILED", lines[0])
    with open(tmp_path / "results" / "sacred" / "1" / "run.json") as f:
        assert json.load(f)["status"] == "FAILED"
    with open(tmp_path / "results" / "sacred" / "1" / "metrics.json") as f:
        assert "episode" in json.load(f)               # its metrics so far are kept
