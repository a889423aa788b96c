"""Bad input to ``src/main.py`` and the scripts: each case gives the input, the expected exit code
and the pattern of the one line on stderr, and checks that nothing was written anywhere.

The case list is written here by hand (not derived from the key table the validator reads), so a
check missing from the validator makes its case fail. Most cases call the entry functions
in-process (the same code path as the command line, without paying a Python start per case);
``test_command_line_subset`` runs a representative few as real processes.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

import pytest

import main as main_module

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")


def _script(name: str):
    """The module ``scripts/<name>.py``, loaded from its file (pytest already has src/ on the path)."""
    spec = importlib.util.spec_from_file_location(f"script_{name}", os.path.join(REPO, "scripts", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Case:
    """One bad input: ``argv`` (``{tmp}``, ``{ckpt}``, ... filled from ``setup(tmp)``), the exit code
    and a regex the single stderr line must match."""

    id: str
    argv: list[str]
    code: int
    pattern: str
    setup: Callable | None = None
    tool: str = "main"
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- file fixtures built per case
SAVED: dict[str, str] = {}


def _saved_run(root) -> str:
    """A real checkpoint (``<root>/models/<token>/<t_env>``) and frozen policy of a small ppo run."""
    if "run" not in SAVED:
        from helpers import make_experiment
        folder = str(root)
        experiment = make_experiment(local_results_path=folder, batch_size_run=4, buffer_size=4, batch_size=4)
        experiment.save()
        SAVED["run"] = folder
    return SAVED["run"]


def _copy_run(tmp, saved_root) -> tuple[str, str]:
    """Copy of the saved run into ``tmp/saved``: (model dir, step dir)."""
    target = os.path.join(tmp, "saved")
    shutil.copytree(saved_root, target)
    model_dir = os.path.join(target, "models", os.listdir(os.path.join(target, "models"))[0])
    step_dir = os.path.join(model_dir, sorted(os.listdir(model_dir))[-1])
    return model_dir, step_dir


def truncated_policy(tmp, saved):
    model_dir, step_dir = _copy_run(tmp, saved)
    path = os.path.join(step_dir, "policy.th")
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 3])
    return {"ckpt": step_dir}


def empty_policy_config(tmp, saved):
    model_dir, step_dir = _copy_run(tmp, saved)
    open(os.path.join(step_dir, "policy_config.json"), "w").close()
    return {"ckpt": step_dir}


def model_dir_copy(tmp, saved):
    model_dir, _ = _copy_run(tmp, saved)
    return {"model": model_dir}


def two_model_dirs(tmp, saved):
    model_dir, _ = _copy_run(tmp, saved)
    shutil.copytree(model_dir, model_dir + "-twin")
    return {"run": os.path.join(tmp, "saved")}


def empty_folder(tmp, saved):
    os.makedirs(os.path.join(tmp, "empty"))
    return {"empty": os.path.join(tmp, "empty")}


def models_is_a_file(tmp, saved):
    os.makedirs(os.path.join(tmp, "res"))
    open(os.path.join(tmp, "res", "models"), "w").close()
    return {}


def results_below_a_file(tmp, saved):
    open(os.path.join(tmp, "plainfile"), "w").close()
    return {}


def a_folder(tmp, saved):
    os.makedirs(os.path.join(tmp, "outdir"))
    return {}


def recorded_run(tmp, saved):
    import json
    run = os.path.join(tmp, "runs", "sacred", "1")
    os.makedirs(run)
    for name, content in (("config.json", {"seed": 0, "name": "ppo", "env_config": "e", "roles": ["ppo"]}),
                          ("run.json", {"status": "COMPLETED"}),
                          ("metrics.json", {"test_return_mean": {"steps": [0, 1], "values": [1.0, 2.0],
                                                                 "timestamps": ["t", "t"]}})):
        with open(os.path.join(run, name), "w") as f:
            json.dump(content, f)
    return {"runs": os.path.join(tmp, "runs")}


NEEDS_SAVED_RUN = (truncated_policy, empty_policy_config, model_dir_copy, two_model_dirs)
SMALL = ["batch_size_run=4", "buffer_size=4", "batch_size=4"]

CASES = [
    # ---- user mistakes that used to end in a traceback
    Case("negative lr", ["with", "lr=-1"], 2, r"lr = -1\.0 is out of range; allowed: \(0, 1\]"),
    Case("no test episodes", ["with", "test_nepisode=0"], 2, r"test_nepisode = 0 is out of range"),
    Case("seed over 2**32", ["with", "seed=4294967296"], 2, r"seed = 4294967296 is out of range; allowed: \[0, 4294967295\]"),
    Case("buffer larger than memory", ["with", "buffer_size=100000000"], 2,
         r"buffer_size=100000000 needs [\d.]+ [KMGTP]iB for the replay buffer .* available; allowed here: buffer_size <= \d+"),
    Case("unknown recon_loss", ["--config=hop_plus", "with", "recon_loss=foo"], 2, r"unknown recon_loss 'foo'\. Available: bce, mse"),
    Case("ckpt role with truncated policy.th", ["with", "roles=[ppo,ckpt:{ckpt},NS,NS]"], 2,
         r"saved policy in '.*': cannot read .*policy\.th", setup=truncated_policy),
    Case("ckpt role with empty policy_config.json", ["with", "roles=[ppo,ckpt:{ckpt},NS,NS]"], 2,
         r"saved policy in '.*': cannot read .*policy_config\.json", setup=empty_policy_config),
    Case("results folder not writable", ["with", "local_results_path=/proc/hopplus_results"], 2,
         r"local_results_path.*not writable"),
    Case("results/models is a file", ["with", "local_results_path={tmp}/res"], 2,
         r"'.*res/models' is a file; the run writes its models folder there", setup=models_is_a_file),
    Case("results below a file", ["with", "local_results_path={tmp}/plainfile/results"], 2,
         r"'.*plainfile' is a file, not a folder", setup=results_below_a_file),
    Case("unknown option", ["--fast"], 2, r"unknown option --fast"),
    Case("float where int", ["with", "t_max=1.5"], 2, r"'t_max' must be int"),
    Case("nan learning rate", ["with", "lr=.nan"], 2, r"lr = nan is out of range"),
    Case("infinite clip", ["with", "grad_norm_clip=.inf"], 2, r"grad_norm_clip = inf is out of range"),
    Case("gamma above 1", ["with", "gamma=1.5"], 2, r"gamma = 1\.5 is out of range; allowed: \[0, 1\]"),
    Case("negative channel", ["with", "conv_channels=[16,-1]"], 2, r"conv_channels\[1\] = -1 is out of range"),
    Case("bool item in an int list", ["with", "conv_channels=[16,true]"], 2, r"conv_channels\[1\] must be int"),
    Case("empty name", ["with", "name=''"], 2, r"name is empty"),
    # ---- values that used to be accepted silently
    Case("learner listed twice", ["with", "learners=[policy,policy]"], 2, r"learners = \['policy', 'policy'\] repeats policy"),
    Case("negative load_step", ["with", "load_step=-5"], 2, r"load_step = -5 is out of range"),
    Case("load_step without checkpoint", ["with", "load_step=5"], 2, r"load_step=5 selects a checkpoint but neither"),
    Case("more replays than one batch", ["with", "evaluate=True", "save_replay=True", "replay_episodes=100",
                                         "roles=[NS,NS,NS,NS]", *SMALL], 2,
         r"replay_episodes \(100\) must be <= batch_size_run \(4\)"),
    Case("save_replay without evaluate", ["with", "save_replay=True"], 2, r"save_replay=True is only used with evaluate=True"),
    Case("batch larger than buffer (hop_plus_wm)", ["--config=hop_plus_wm", "with", "batch_size=512"], 2,
         r"batch_size \(512\) must be <= buffer_size \(256\)"),
    Case("rollout larger than buffer", ["with", "batch_size_run=128"], 2, r"batch_size_run \(128\) must be <= buffer_size \(64\)"),
    Case("config outside config/algs", ["--config=../default"], 2, r"--config '\.\./default' must be the name of a file in .*algs"),
    Case("env config with .yaml", ["--env-config=stag_hunt.yaml"], 2, r"--env-config 'stag_hunt\.yaml' must be the name"),
    Case("imagined episodes longer than the limit", ["--config=hop_plus_mbrl", "with", "imagine_horizon=99"], 2,
         r"imagine_horizon \(99\) must be <= env_args\.episode_limit \(35\)"),
    Case("resume_in_place without checkpoint", ["with", "resume_in_place=True"], 2, r"resume_in_place=True continues a training run"),
    # ---- mistakes that used to be found after the Sacred run had started
    Case("checkpoint folder without checkpoints", ["with", "checkpoint_path={empty}"], 2, r"no checkpoints in .*empty",
         setup=empty_folder),
    Case("checkpoint of other shapes", ["with", "checkpoint_path={model}", "hidden_dim=32", *SMALL], 2,
         r"does not match module", setup=model_dir_copy),
    Case("ambiguous resume folder", ["with", "checkpoint_path={run}"], 2,
         r"holds 2 model folders in models/ \(ppo__.*, ppo__.*-twin\); give one of them", setup=two_model_dirs),
    Case("unknown policy input", ["--config=hop_plus", "with", "policy_inputs=[subgoal,foo]"], 2,
         r"unknown policy_inputs\[1\] 'foo'\. Available: moa, subgoal"),
    Case("unknown wm_planner", ["--config=hop_plus_wm", "with", "wm_planner=three_step"], 2, r"unknown wm_planner 'three_step'"),
    Case("unknown goal_update", ["--config=hop_plus_mcts", "with", "goal_update=sometimes"], 2, r"unknown goal_update 'sometimes'"),
    Case("no learner", ["with", "learners=[]"], 2, r"learners is empty: run_mode=train would train nothing"),
    Case("no learned role", ["with", "roles=[NS,NS,NS,NS]"], 2, r"hold no slot of the learned role 'ppo'"),
    Case("planner without moa (found when building)", ["--config=hop_plus_wm", "with", "learners=[world_model]"], 2,
         r"actor wm_planner predicts co-players with MOA: learners must include moa"),
    Case("adapt without checkpoint", ["with", "run_mode=adapt", "roles=[ppo,NS,NS,NS]"], 2, r"adapt_checkpoint is empty"),
    # ---- scripts
    Case("table --out is a folder", ["{tmp}", "--out", "{tmp}/outdir"], 2, r"--out '.*outdir' is a folder", a_folder, "table"),
    Case("table --last 0", ["{tmp}", "--last", "0"], 2, r"--last must be >= 1, got 0", tool="table"),
    Case("plot --out is a folder", ["{tmp}", "--out", "{tmp}/outdir"], 2, r"--out '.*outdir' is a folder", a_folder, "plot"),
    Case("plot --out without image suffix", ["{tmp}", "--out", "{tmp}/curve"], 2, r"--out '.*curve' must end in \.png", tool="plot"),
    Case("plot --group-by a key the runs lack", ["{runs}", "--group-by", "nope", "--out", "{tmp}/c.png"], 2,
         r"--group-by: no config key 'nope' in the runs", recorded_run, "plot"),
    Case("table --rows a key the runs lack", ["{runs}", "--rows", "nope"], 2, r"has no config key 'nope'",
         recorded_run, "table"),
    Case("plot --smooth 0", ["{tmp}", "--smooth", "0"], 2, r"--smooth must be >= 1", tool="plot"),
    Case("sweep grid that is not yaml", ["--grid", "roles=[ppo", "--results", "{tmp}/sw"], 2,
         r"--grid roles: '\[ppo' is not valid yaml", tool="sweep"),
    Case("sweep --set that is not yaml", ["--set", "lr=[1", "--results", "{tmp}/sw"], 2,
         r"--set lr: '\[1' is not valid yaml", tool="sweep"),
    Case("sweep run out of range", ["--set", "lr=-1", "--seeds", "0", "1", "--results", "{tmp}/sw"], 2,
         r"run seed0: lr = -1\.0 is out of range", tool="sweep"),
    Case("compare --until negative", ["{tmp}", "{tmp}", "--until", "-1"], 2, r"--until must be >= 0", tool="compare_runs"),
]


def _tree(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, dirs, files in os.walk(root) for f in files + dirs}


def _fill(argv: list[str], values: dict) -> list[str]:
    return [a.format(**values) for a in argv]


def _run_tool(case: Case, argv: list[str]) -> int:
    if case.tool == "main":
        return main_module.main(argv)
    module = _script(case.tool)
    return module.main(argv)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_records_nothing(case, tmp_path, tmp_path_factory, monkeypatch, capsys,
                                                   restore_signals):
    values = {"tmp": str(tmp_path)}
    if case.setup is not None:
        saved = _saved_run(tmp_path_factory.mktemp("saved")) if case.setup in NEEDS_SAVED_RUN else None
        values.update(case.setup(str(tmp_path), saved) or {})
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    capsys.readouterr()
    code = _run_tool(case, _fill(case.argv, values))
    err = capsys.readouterr().err
    assert code == case.code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert re.search(case.pattern, lines[0]), lines[0]
    assert "Traceback" not in err
    assert _tree(tmp_path) == before, "something was written"


SUBSET = ["negative lr", "ckpt role with truncated policy.th", "results/models is a file", "no learned role",
          "sweep grid that is not yaml"]


@pytest.mark.parametrize("name", SUBSET)
def test_command_line_subset(name, tmp_path, tmp_path_factory):
    """The same cases as real processes: exit code, one stderr line, no traceback, nothing written."""
    case = next(c for c in CASES if c.id == name)
    values = {"tmp": str(tmp_path)}
    if case.setup is not None:
        values.update(case.setup(str(tmp_path), _saved_run(tmp_path_factory.mktemp("saved"))) or {})
    before = _tree(tmp_path)
    command = [MAIN] if case.tool == "main" else ["-m", f"scripts.{case.tool}"]
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, *command, *_fill(case.argv, values)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == case.code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(case.pattern, lines[0]), proc.stderr
    assert _tree(tmp_path) == before


def test_debug_switch_shows_the_traceback(tmp_path, restore_signals, monkeypatch):
    from utils.errors import ConfigError
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="lr = -1.0 is out of range"):
        main_module.main(["--debug", "with", "lr=-1"])


def test_one_slot_stag_hunt_warns(capsys):
    from helpers import make_args
    from preflight import warnings_for
    args = make_args(env_args__n_agents=1, roles=["ppo"])
    assert any("no stag can ever be caught" in w for w in warnings_for(args))
    assert warnings_for(make_args()) == []
