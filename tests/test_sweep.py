"""Sweeps: grid expansion, local pool (resumable, failures reported), Ray tasks, SLURM arrays."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import reaped
from utils.errors import ConfigError
from tools.sweep import Sweep, folder_name, format_value, is_completed, parse_grid_item

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWEEP = ["-m", "scripts.sweep"]
TINY = ["t_max=100", "batch_size_run=4", "buffer_size=4", "batch_size=4", "test_nepisode=4", "test_interval=100",
        "log_interval=100", "ppo_epochs=1", "ppo_minibatches=1", "env_args.episode_limit=25"]
ROLES_GRID = "roles=[[ppo,ppo,ppo,ppo],[ppo,NS,NS,NS]]"


def sweep(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *SWEEP, *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd=REPO)


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """A finished 2 roles x 2 seeds sweep of tiny ppo runs (shared with the table tests)."""
    results = tmp_path_factory.mktemp("sweep") / "roles"
    proc = sweep("--grid", ROLES_GRID, "--seeds", "0", "1", "--set", *TINY, "--workers", "2", "--results", str(results))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results, proc


def test_grid_runs_folders_and_commands(tmp_path):
    key, values = parse_grid_item(ROLES_GRID)
    fixed = {"t_max": 100, "checkpoint_path": "sp/seed{seed}"}
    runs = Sweep("ppo", "stag_hunt_small", {key: values, "lr": [0.001, 0.0005]}, [0, 3], fixed, str(tmp_path)).runs()
    assert [os.path.basename(r.folder) for r in runs[:3]] == [
        "roles=ppox4__lr=0.001__seed0", "roles=ppox4__lr=0.001__seed3", "roles=ppox4__lr=0.0005__seed0"]
    assert len(runs) == 8 and len({r.folder for r in runs}) == 8
    assert runs[1].overrides == {"roles": ["ppo"] * 4, "lr": 0.001, "t_max": 100, "checkpoint_path": "sp/seed3",
                                 "seed": 3}
    command = runs[-1].command()
    assert command[2:5] == ["--config=ppo", "--env-config=stag_hunt_small", "with"]
    assert "roles=[ppo,NS,NS,NS]" in command and f"local_results_path={runs[-1].folder}" in command
    assert folder_name({"env_args.layout": ["S..", "1#2"]}, 1) == "env_args.layout=S..-1_2__seed1"


@pytest.mark.parametrize("value", [["ppo", "NS"], 0.001, 5, True, "a b", "1", "x,y", [["a", "b"], []], None, "ckpt:a/b"])
def test_format_value_reads_back(value):
    from utils.config import parse_yaml
    assert parse_yaml(format_value(value)) == value


def test_bad_grid_is_a_config_error_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'lrr'"):
        Sweep("ppo", "stag_hunt_small", {"lrr": [1]}, [0], {}, str(tmp_path)).runs()
    with pytest.raises(ConfigError, match="non-empty list"):
        parse_grid_item("lr=0.1")
    with pytest.raises(ConfigError, match="set by the sweep"):
        parse_grid_item("seed=[1,2]")
    proc = sweep("--grid", "lr=[oops]", "--results", str(tmp_path / "bad"))
    assert proc.returncode == 2 and "'lr' must be float" in proc.stderr
    assert not (tmp_path / "bad").exists()


def test_local_sweep_runs_every_run_then_resumes(tiny_sweep):
    results, proc = tiny_sweep
    folders = sorted(os.listdir(results))
    assert folders == ["roles=ppo-NSx3__seed0", "roles=ppo-NSx3__seed1", "roles=ppox4__seed0", "roles=ppox4__seed1"]
    assert all(is_completed(results / f) for f in folders)
    assert "4/4 |" in proc.stdout and "4/4 runs complete, 0 failed" in proc.stdout
    with open(results / folders[0] / "sacred" / "1" / "config.json") as f:
        config = json.load(f)
    assert (config["roles"], config["seed"], config["t_max"]) == (["ppo", "NS", "NS", "NS"], 0, 100)
    again = sweep("--grid", ROLES_GRID, "--seeds", "0", "1", "--set", *TINY, "--results", str(results))
    assert again.returncode == 0 and "ok 0 skipped 4 failed 0" in again.stdout
    assert sorted(os.listdir(results / folders[0] / "sacred")) == ["1", "_sources"]   # nothing re-run
    one = sweep("--grid", ROLES_GRID, "--seeds", "0", "1", "--set", *TINY, "--results", str(results), "--index", "3")
    assert one.returncode == 0 and "roles=ppo-NSx3__seed1 skipped" in one.stdout
    changed = sweep("--grid", ROLES_GRID, "--seeds", "0", "--set", *TINY, "lr=0.01", "--results", str(results))
    assert changed.returncode == 1 and "records other settings" in changed.stdout


def test_failed_run_is_reported_with_its_log(tmp_path):
    proc = sweep("--grid", "roles=[[ppo,ppo,ppo]]", "--set", *TINY, "--results", str(tmp_path))
    assert proc.returncode == 1
    log = tmp_path / "roles=ppox3__seed0" / "log.txt"
    assert f"FAILED {log.parent}: exit code 2, log: {log}" in proc.stdout
    assert "3 roles given" in log.read_text()


def test_ray_backend_runs_the_grid(tmp_path):
    pytest.importorskip("ray")
    proc = sweep("--backend", "ray", "--seeds", "0", "--set", *TINY, "--workers", "1", "--results", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1/1 runs complete, 0 failed" in proc.stdout and is_completed(tmp_path / "seed0")


def test_slurm_backend_writes_one_command_per_array_index(tmp_path):
    proc = sweep("--backend", "slurm", "--grid", ROLES_GRID, "lr=[0.001,0.0005,0.0001]", "--seeds", "0", "1",
                 "--set", "t_max=100", "--results", str(tmp_path), "--slurm-arg=--time=04:00:00")
    assert proc.returncode == 0, proc.stderr
    commands = (tmp_path / "slurm" / "commands.txt").read_text().splitlines()
    assert len(commands) == 12 and all("src/main.py --config=ppo" in c for c in commands)
    script = (tmp_path / "slurm" / "sweep.sbatch").read_text()
    assert "#SBATCH --array=0-11" in script and "#SBATCH --time=04:00:00" in script
    assert script.rstrip().endswith("--index $SLURM_ARRAY_TASK_ID") and "'lr=[0.001,0.0005,0.0001]'" in script
    assert not any(p.name != "slurm" for p in tmp_path.iterdir())     # nothing ran


def test_terminated_sweep_interrupts_its_run_and_starts_no_more(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, *SWEEP, "--seeds", "0", "1", "--set", "t_max=100000000", "batch_size_run=4",
                             "buffer_size=4", "batch_size=4", "test_interval=100000000", "log_interval=100000000",
                             "--results", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = tmp_path / "seed0" / "log.txt"
    with reaped(proc):
        while proc.poll() is None and not (log.exists() and "training ppo" in log.read_text()):
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted after 0/2 runs" in err
    with open(tmp_path / "seed0" / "sacred" / "1" / "run.json") as f:
        assert json.load(f)["status"] == "INTERRUPTED"
    assert not (tmp_path / "seed1").exists()


def test_grid_file(tmp_path):
    from tools.sweep import load_grid_file
    path = tmp_path / "grid.yaml"
    path.write_text("roles: [[ppo, ppo, ppo, ppo], [ppo, NS, NS, NS]]\nenv_args.grid_size: [4, 5]\n")
    assert load_grid_file(str(path)) == {"roles": [["ppo"] * 4, ["ppo", "NS", "NS", "NS"]],
                                         "env_args.grid_size": [4, 5]}
    path.write_text("seed: [1, 2]\n")
    with pytest.raises(ConfigError, match="set by the sweep"):
        load_grid_file(str(path))
    proc = sweep("--backend", "slurm", "--grid-file", str(tmp_path / "missing.yaml"), "--results", str(tmp_path))
    assert proc.returncode == 2 and "missing.yaml not found" in proc.stderr
