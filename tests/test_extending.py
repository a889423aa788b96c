"""docs/extending.md, followed literally in a copy of the repository: its code blocks are written
into the files they name, its command is run, and the run must use what was added."""
from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from utils.config import build_config
from utils.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(REPO, "docs", "extending.md")
BLOCK = re.compile(r"^```(\w+) (file|append)=(\S+)\n(.*?)^```$|^```bash run\n(.*?)^```$", re.M | re.S)
FAST = ["batch_size_run=4", "buffer_size=4", "batch_size=4", "test_nepisode=4", "t_max=300", "test_interval=300",
        "log_interval=300", "save_model_interval=300", "env_args.episode_limit=15"]


def page_steps(text: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(kind, path, code) of every file block, and the commands of the ``bash run`` blocks."""
    files, commands = [], []
    for match in BLOCK.finditer(text):
        if match.group(5) is not None:
            commands += [line for line in match.group(5).splitlines() if line.strip()]
        else:
            files.append((match.group(2), match.group(3), match.group(4)))
    return files, commands


def test_page_has_the_steps():
    files, commands = page_steps(open(PAGE).read())
    assert {kind for kind, _, _ in files} == {"file", "append"} and len(commands) == 1
    assert any(path.startswith("src/learners/") for _, path, _ in files)


def test_toy_learner_and_rule_from_the_page(tmp_path):
    copy = tmp_path / "repo"
    for folder in ("src", "config"):
        shutil.copytree(os.path.join(REPO, folder), copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    files, commands = page_steps(open(PAGE).read())
    for kind, path, code in files:
        target = copy / path
        assert (kind == "append") == target.exists(), f"{path}: the page says {kind}"
        with open(target, "a" if kind == "append" else "w") as f:
            f.write(code)
    argv = shlex.split(commands[0])
    assert argv[:2] == ["python", "src/main.py"]
    proc = subprocess.run([sys.executable, *argv[1:], *FAST], cwd=copy, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = glob.glob(str(copy / "results" / "sacred" / "*" / "config.json"))
    config = json.load(open(run_dir))
    assert config["learners"] == ["policy", "return_baseline"] and config["baseline_lr"] == 0.005
    assert config["baseline_epochs"] == 2 and config["roles"] == ["ppo", "STILL", "STILL", "ppo"]
    metrics = json.load(open(os.path.join(os.path.dirname(run_dir), "metrics.json")))
    assert metrics["return_baseline_loss"]["values"] and metrics["ppo_policy_loss"]["values"]
    (step_dir,) = glob.glob(str(copy / "results" / "models" / "*" / "300"))
    assert any("return_baseline.baseline" in name for name in os.listdir(step_dir))


def test_declared_keys_have_one_home_and_a_type():
    """A declared key also in default.yaml is an error; a declared key is typed by its default."""
    with pytest.raises(ConfigError, match="'lr' is declared by a learner or actor and also in default.yaml"):
        build_config("ppo", "stag_hunt_small", {}, declared={"lr": 0.1})
    config = build_config("ppo", "stag_hunt_small", {"fresh_key": 3}, declared={"fresh_key": 1})
    assert config["fresh_key"] == 3
    with pytest.raises(ConfigError, match="'fresh_key' must be int"):
        build_config("ppo", "stag_hunt_small", {"fresh_key": "x"}, declared={"fresh_key": 1})
