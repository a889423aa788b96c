"""End-to-end runs through src/main.py: Sacred records, TensorBoard, checkpoints, determinism, resume."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")
TINY = ["t_max=480", "batch_size_run=8", "buffer_size=8", "batch_size=8", "test_interval=240",
        "test_nepisode=8", "log_interval=1", "save_model_interval=240", "ppo_epochs=1", "ppo_minibatches=2",
        "env_args.episode_limit=30"]


def run_main(cwd, *overrides, check=True):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, MAIN, "with", *TINY, *overrides], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def sacred_dir(cwd, run_id=1):
    return os.path.join(cwd, "results", "sacred", str(run_id))


def metrics(cwd, run_id=1):
    with open(os.path.join(sacred_dir(cwd, run_id), "metrics.json")) as f:
        return json.load(f)


def test_run_records_sacred_tensorboard_and_checkpoints(tmp_path):
    run_main(tmp_path, "use_tensorboard=True")
    run_dir = sacred_dir(tmp_path)
    for name in ("config.json", "run.json", "metrics.json", "cout.txt"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "run.json")) as f:
        assert json.load(f)["status"] == "COMPLETED"
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    assert config["n_agents"] == 4 and config["unique_token"].startswith("ppo__stag_hunt_small__ppox4__seed0__")
    recorded = metrics(tmp_path)
    for key in ("return_mean", "test_return_mean", "ppo_policy_loss", "ppo_entropy", "return_slot3_mean"):
        assert key in recorded and recorded[key]["values"], key
    assert "t_env" in open(os.path.join(run_dir, "cout.txt")).read()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tb_root = os.path.join(tmp_path, "results", "tb_logs")
    (token,) = os.listdir(tb_root)
    events = EventAccumulator(os.path.join(tb_root, token))
    events.Reload()
    scalars = events.Scalars("return_mean")
    assert [s.value for s in scalars] == pytest.approx(recorded["return_mean"]["values"])
    assert [s.step for s in scalars] == recorded["return_mean"]["steps"]

    models = os.path.join(tmp_path, "results", "models", token)
    steps = sorted(int(s) for s in os.listdir(models))
    assert steps[-1] >= 480 and len(steps) >= 2
    assert os.path.isfile(os.path.join(models, str(steps[-1]), "policy_config.json"))


def test_same_seed_same_metrics(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    run_main(a, "seed=3")
    run_main(b, "seed=3")
    ma, mb = metrics(a), metrics(b)
    for key in ("return_mean", "ppo_policy_loss", "ppo_value_loss", "test_return_mean"):
        assert ma[key]["values"] == mb[key]["values"], key
        assert ma[key]["steps"] == mb[key]["steps"], key


def test_resume_from_checkpoint_continues_exactly(tmp_path):
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    full.mkdir(), resumed.mkdir()
    run_main(full, "t_max=960")
    models = os.path.join(full, "results", "models")
    (token,) = os.listdir(models)
    steps = sorted(int(s) for s in os.listdir(os.path.join(models, token)))
    middle = steps[len(steps) // 2 - 1]
    run_main(resumed, "t_max=960", f"checkpoint_path={os.path.join(models, token)}", f"load_step={middle}")
    assert_same_after(metrics(full), metrics(resumed), middle)


def assert_same_after(expected: dict, got: dict, step: int) -> None:
    """Every logged (t_env, value) after ``step`` of a resumed run equals the uninterrupted run's."""
    for key in ("return_mean", "ppo_policy_loss", "test_return_mean"):
        tail = [(s, v) for s, v in zip(expected[key]["steps"], expected[key]["values"]) if s > step]
        after = [(s, v) for s, v in zip(got[key]["steps"], got[key]["values"]) if s > step]
        assert tail and after == tail, key


def test_evaluate_only_runs_tests(tmp_path):
    run_main(tmp_path)
    models = os.path.join(tmp_path, "results", "models")
    (token,) = os.listdir(models)
    run_main(tmp_path, "evaluate=True", f"checkpoint_path={os.path.join(models, token)}")
    second = metrics(tmp_path, 2)
    assert "test_return_mean" in second and "return_mean" not in second and "ppo_policy_loss" not in second
    with open(os.path.join(sacred_dir(tmp_path, 2), "info.json")) as f:
        assert "test_return_mean" in json.load(f)["test"]


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    proc = run_main(tmp_path, "checkpoint_path=nowhere/at/all", check=False)
    assert proc.returncode == 2
    assert "nowhere/at/all" in proc.stderr and "Traceback" not in proc.stderr


def test_evaluate_with_save_replay_writes_gifs_and_traces(tmp_path):
    proc = run_main(tmp_path, "roles=[NS,NH,NS,RAND]", "evaluate=True", "save_replay=True", "replay_episodes=2")
    replays = os.path.join(tmp_path, "results", "replays")
    (token,) = os.listdir(replays)
    files = sorted(os.listdir(os.path.join(replays, token)))
    assert files == ["episode_0.gif", "episode_0.json", "episode_1.gif", "episode_1.json"]
    with open(os.path.join(replays, token, "episode_0.json")) as f:
        trace = json.load(f)
    assert trace["roles"] == {"agent_0": "NS", "agent_1": "NH", "agent_2": "NS", "agent_3": "RAND"}
    assert len(trace["steps"]) == trace["length"] > 0
    assert set(trace["steps"][0]["actions"]) == {"agent_0", "agent_1", "agent_2", "agent_3"}
    total = {a: sum(s["rewards"][a] for s in trace["steps"]) for a in trace["returns"]}
    assert total == pytest.approx(trace["returns"])
    import imageio.v3 as iio
    assert iio.imread(os.path.join(replays, token, "episode_0.gif"), index=None).ndim == 4
    assert proc.returncode == 0
