"""Config merging, CLI parsing and the errors users get for bad input."""
import os
import subprocess
import sys

import pytest
import yaml

from utils.config import build_config, merge_checked, parse_cli, parse_overrides, saved_settings_differ
from utils.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")


def make_config_dir(tmp_path, env_cfg, alg_cfg):
    (tmp_path / "envs").mkdir()
    (tmp_path / "algs").mkdir()
    (tmp_path / "default.yaml").write_text(yaml.safe_dump(
        {"seed": 0, "lr": 0.1, "flag": False, "name": "x", "env_args": {"n_agents": 4, "grid_size": 4, "layout": None}}))
    (tmp_path / "envs" / "e.yaml").write_text(yaml.safe_dump(env_cfg))
    (tmp_path / "algs" / "a.yaml").write_text(yaml.safe_dump(alg_cfg))
    return str(tmp_path)


def test_merge_order_default_env_alg_cli(tmp_path):
    d = make_config_dir(tmp_path, {"seed": 1, "lr": 0.2, "env_args": {"n_agents": 2}}, {"seed": 2})
    cfg = build_config("a", "e", {"seed": 3}, config_dir=d)
    assert cfg["seed"] == 3            # cli beats alg
    assert cfg["lr"] == 0.2            # env beats default
    assert cfg["env_args"]["n_agents"] == 2
    assert cfg["env_args"]["grid_size"] == 4   # nested default kept
    cfg = build_config("a", "e", {}, config_dir=d)
    assert cfg["seed"] == 2            # alg beats env


def test_cli_parsing_dotted_and_yaml_values():
    alg, env, over = parse_cli(["--config=hop", "--env-config", "snowdrift", "with", "seed=5",
                                "env_args.grid_size=[3,5]", "use_cuda=False", "lr=1e-3"])
    assert (alg, env) == ("hop", "snowdrift")
    assert over == {"seed": 5, "env_args": {"grid_size": [3, 5]}, "use_cuda": False, "lr": 1e-3}


def test_cli_defaults():
    assert parse_cli([])[:2] == ("ppo", "stag_hunt_small")


def test_int_accepted_for_float_and_converted():
    out = merge_checked({"lr": 0.1}, {"lr": 1}, "t")
    assert out["lr"] == 1.0 and isinstance(out["lr"], float)


@pytest.mark.parametrize("update, message", [
    ({"sede": 1}, "unknown key 'sede'. Closest known keys: seed"),
    ({"env_args": {"n_agent": 3}}, "unknown key 'env_args.n_agent'. Closest known keys: env_args.n_agents"),
    ({"seed": "abc"}, "'seed' must be int"),
    ({"seed": 1.5}, "'seed' must be int"),
    ({"flag": 1}, "'flag' must be bool"),
    ({"lr": True}, "'lr' must be float or int"),
    ({"env_args": {"grid_size": "big"}}, "'env_args.grid_size' must be int or list"),
    ({"env_args": 3}, "'env_args' must be a mapping"),
])
def test_merge_errors(update, message):
    base = {"seed": 0, "lr": 0.1, "flag": False, "env_args": {"n_agents": 4, "grid_size": 4}}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        merge_checked(base, update, "command line")


def test_missing_yaml_lists_available(tmp_path):
    d = make_config_dir(tmp_path, {}, {})
    with pytest.raises(ConfigError, match=r"algorithm config \(--config\) file not found.*Available: a"):
        build_config("nope", "e", {}, config_dir=d)
    with pytest.raises(ConfigError, match=r"env config \(--env-config\) file not found.*Available: e"):
        build_config("a", "nope", {}, config_dir=d)


def test_every_shipped_yaml_merges():
    for alg in os.listdir(os.path.join(REPO, "config", "algs")):
        for env in os.listdir(os.path.join(REPO, "config", "envs")):
            build_config(alg[:-5], env[:-5], {})


def run_main(*argv, cwd):
    return subprocess.run([sys.executable, MAIN, *argv], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("argv, message", [
    (["with", "sedd=1"], "unknown key 'sedd'"),
    (["with", "t_max=fast"], "'t_max' must be int"),
    (["--config=nonexistent"], "file not found"),
    (["with", "runner=turbo"], "unknown runner 'turbo'. Available: episode, parallel"),
    (["with", "learner=dqn"], "unknown learner 'dqn'. Available:"),
    (["with", "roles=[ppo,XX,NS,NS]"], "unknown role 'XX'"),
    (["with", "roles=[ppo,NS]"], "2 roles given"),
    (["with", "env_args.layout=['..Z.']"], "env_args for env 'stag_hunt'"),
    (["--config=hop_plus", "with", "vae_load_path=nowhere"], "vae_load_path: 'nowhere' is not a directory"),
    (["--config=hop_plus", "with", "policy_inputs=[subgoal,moa]", "moa_load_path=."], "no saved moa in '.'"),
])
def test_main_reports_one_clear_error(tmp_path, argv, message):
    proc = run_main(*argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert not (tmp_path / "results").exists()   # nothing recorded for a rejected config


def test_help_prints_usage_and_exits_zero(tmp_path):
    proc = run_main("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "usage: python src/main.py" in proc.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("key", ["ppo_epochs", "ppo_minibatches", "moa_epochs", "moa_minibatches", "omg_epochs"])
def test_update_counts_must_be_positive(key):
    from helpers import make_args
    with pytest.raises(ConfigError, match=f"{key} must be >= 1 \\(updates per rollout\\), got 0"):
        make_args("hop_plus", **{key: 0})


def test_script_overrides_are_yaml_values_and_bad_items_are_one_error():
    """A script's ``--set KEY=VALUE`` items (``parse_overrides``): yaml values by key; an item
    without ``=`` or with invalid yaml is a ConfigError naming the option and the item."""
    assert parse_overrides(["roles=[hop,NS]", "t_max=20", "name=x=y"], "--set") == {
        "roles": ["hop", "NS"], "t_max": 20, "name": "x=y"}
    with pytest.raises(ConfigError, match=r"--set 'roles': expected key=value"):
        parse_overrides(["roles"], "--set")
    with pytest.raises(ConfigError, match=r"--set roles: '\[hop,' is not valid yaml"):
        parse_overrides(["roles=[hop,"], "--set")


def test_saved_settings_differ_names_each_mismatch_and_what_a_saved_file_lacks():
    saved = {"env": "stag_hunt", "width": 8, "extra": 1}
    assert saved_settings_differ(saved, {"env": "stag_hunt", "width": 8}) == ""
    text = saved_settings_differ(saved, {"env": "snowdrift", "width": 8, "gate": True}, {"gate": "wm_reward_gate"})
    assert text == "env='stag_hunt' (this run needs 'snowdrift'), wm_reward_gate=None (this run needs True)"
