"""Adaptation protocol: focal checkpoint loading, per-episode focal returns by role, clear errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from modes.adapt import carry_inter_om, check_adapt_args, focal_returns, load_focal, resolve_checkpoint
from helpers import make_args, make_experiment
from utils.checkpoint import CheckpointError
from utils.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, "src", "main.py")
TINY = dict(batch_size_run=4, buffer_size=4, batch_size=4, ppo_epochs=1, ppo_minibatches=1,
            test_nepisode=4, env_args__episode_limit=20)


@pytest.fixture(scope="module")
def self_play(tmp_path_factory):
    """A tiny ppo self-play run trained a few batches and checkpointed: (results folder, step folder)."""
    results = tmp_path_factory.mktemp("selfplay")
    experiment = make_experiment(t_max=160, test_interval=10**6, log_interval=10**6, local_results_path=str(results),
                                 **TINY)
    experiment.train()
    return results, experiment.save()


def test_focal_starts_from_the_checkpoint_and_nothing_else(self_play):
    results, step_dir = self_play
    experiment = make_experiment(roles=["ppo", "NS", "NS", "NS"], seed=5, **TINY)
    load_focal(experiment, resolve_checkpoint(str(results)))
    saved = torch.load(os.path.join(step_dir, "policy.th"))
    loaded = experiment.mac.policy.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[k], loaded[k]) for k in saved)
    saved_opt = torch.load(os.path.join(step_dir, "ppo.policy_opt.th"))
    assert experiment.learners[0].optimisers["policy"].state_dict()["state"][0]["step"] == saved_opt["state"][0]["step"]
    assert experiment.runner.t_env == 0 and experiment.buffer.episodes_in_buffer == 0 and experiment.episode == 0


def test_adapt_run_records_one_focal_return_per_episode(self_play, tmp_path):
    results, _ = self_play
    overrides = ["run_mode=adapt", f"adapt_checkpoint={results}", "roles=[NS,ppo,NS,NS]", "shuffle_slots=True",
                 "adapt_episodes=12", "adapt_first_k=8", "batch_size_run=4", "buffer_size=4", "batch_size=4",
                 "ppo_epochs=1", "env_args.episode_limit=20", "save_model=False", f"local_results_path={tmp_path}"]
    proc = subprocess.run([sys.executable, MAIN, "with", *overrides], capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(tmp_path / "sacred" / "1" / "metrics.json") as f:
        metrics = json.load(f)
    per_episode = metrics["adapt_focal_return"]
    assert per_episode["steps"] == list(range(12)) and len(per_episode["values"]) == 12
    assert metrics["adapt_focal_return_first_k"]["steps"] == [8]
    assert metrics["adapt_focal_return_first_k"]["values"][0] == pytest.approx(np.mean(per_episode["values"][:8]))
    assert metrics["adapt_focal_return_mean"]["values"][0] == pytest.approx(np.mean(per_episode["values"]))
    # the focal role's own return: the per-role training stat averages the same episodes
    assert np.mean(per_episode["values"]) == pytest.approx(np.mean(metrics["return_role_ppo_mean"]["values"]))


def test_focal_return_is_taken_by_role_not_slot():
    returns = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    role_of_slot = np.array([[1, 0, 1, 1], [1, 1, 0, 0]])      # focal role 0 moves between slots
    assert focal_returns(returns, role_of_slot, 0).tolist() == [2.0, 7.5]


def test_clear_errors(self_play, tmp_path):
    results, step_dir = self_play
    with pytest.raises(ConfigError, match="adapt_checkpoint is empty"):
        resolve_checkpoint("")
    with pytest.raises(ConfigError, match="'nowhere' is not a directory"):
        resolve_checkpoint("nowhere")
    with pytest.raises(CheckpointError, match="no checkpoints in"):
        resolve_checkpoint(str(tmp_path))
    other_env = make_experiment(roles=["ppo", "NS", "NS", "NS"], env_args__grid_size=5, **TINY)
    with pytest.raises(CheckpointError, match=r"obs_shape=\[.*\] \(this run: \[.*\]\)"):
        load_focal(other_env, step_dir)
    snowdrift = make_experiment(env="snowdrift_small", roles=["ppo", "ND", "ND", "ND"], **TINY)
    with pytest.raises(CheckpointError, match="env='stag_hunt' \\(this run: 'snowdrift'\\)"):
        load_focal(snowdrift, step_dir)
    with pytest.raises(ConfigError, match="must include the focal"):
        check_adapt_args(make_args(roles=["NS", "NS", "NS", "NH"]))
    with pytest.raises(ConfigError, match="multiple of batch_size_run"):
        check_adapt_args(make_args(adapt_episodes=10, batch_size_run=4, buffer_size=4))
    proc = subprocess.run([sys.executable, MAIN, "with", "run_mode=adapt", "adapt_checkpoint=missing/dir",
                           f"local_results_path={tmp_path}"], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 2 and "adapt_checkpoint 'missing/dir' is not a directory" in proc.stderr


def test_inter_om_counts_follow_roles_by_name(tmp_path):
    token = "hop__stag_hunt_small__hopx4__seed0__x"
    step = tmp_path / "models" / token / "100"
    step.mkdir(parents=True)
    (tmp_path / "sacred" / "1").mkdir(parents=True)
    (tmp_path / "sacred" / "1" / "config.json").write_text(json.dumps({"unique_token": token, "roles": ["hop"] * 4}))
    saved = {"beliefs": {"counts": np.array([[3.0, 1.0]]), "focal": np.ones((2, 4), bool),
                         "role_of_slot": np.zeros((2, 4), np.int64), "training": True, "reached": np.ones((2, 4, 2))}}
    carried = carry_inter_om(saved, str(step), ["NS", "hop"])["beliefs"]
    assert carried["counts"].tolist() == [[0.0, 0.0], [3.0, 1.0]]      # unseen NS starts empty
    assert carried["focal"].shape == (0, 4) and not carried["training"]
    with pytest.raises(CheckpointError, match="cannot tell which roles"):
        carry_inter_om(saved, str(tmp_path / "elsewhere" / "models" / "t" / "1"), ["NS", "hop"])


def test_a_planner_without_policy_network_adapts_from_its_checkpoint(tmp_path):
    """hop_plus_wm's learned role has no policy network: its checkpoint still says what it was
    trained on (role_config.json), so adaptation loads its world model and MOA."""
    tiny = dict(batch_size_run=4, buffer_size=8, batch_size=4, test_nepisode=4, env_args__episode_limit=12,
                wm_epochs=1)
    trained = make_experiment("hop_plus_wm", t_max=80, test_interval=10**6, log_interval=10**6,
                              local_results_path=str(tmp_path), **tiny)
    trained.train()
    step_dir = trained.save()
    assert json.load(open(os.path.join(step_dir, "role_config.json")))["actor"] == "wm_planner"
    adapting = make_experiment("hop_plus_wm", roles=["hop_plus_wm", "NS", "NH", "RAND"], seed=3, **tiny)
    load_focal(adapting, resolve_checkpoint(str(tmp_path)))
    saved = trained.mac.modules()["world_model"].state_dict()
    loaded = adapting.mac.modules()["world_model"].state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


def test_checkpoints_without_role_config_fall_back_to_the_policy_config(self_play, tmp_path):
    import shutil
    _, step_dir = self_play
    old = tmp_path / "old_step"
    shutil.copytree(step_dir, old)
    os.remove(old / "role_config.json")
    load_focal(make_experiment(roles=["ppo", "NS", "NS", "NS"], **TINY), str(old))     # no error
    os.remove(old / "policy_config.json")
    with pytest.raises(CheckpointError, match="has no role_config.json"):
        load_focal(make_experiment(roles=["ppo", "NS", "NS", "NS"], **TINY), str(old))
