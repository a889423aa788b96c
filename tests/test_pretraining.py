"""Pretraining pipeline: collect -> pretrain_vae -> hop_plus with vae_load_path / moa_load_path."""
import os
from types import SimpleNamespace

import pytest
import torch

from helpers import make_args, make_experiment
from pretraining.dataset import load_dataset
from modes import REGISTRY as MODES
from utils.errors import ConfigError
from utils.logging import Logger, get_logger

TINY = dict(env_args__episode_limit=8, batch_size_run=8, buffer_size=8)


def run_mode(alg, env="stag_hunt_small", **overrides):
    run = SimpleNamespace(info={})
    args = make_args(alg, env, **overrides)
    MODES[args.run_mode](run, args, Logger(get_logger()))
    return run.info


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    dataset = str(root / "ds.pt")
    run_mode("collect", collect_episodes=40, dataset_path=dataset, **TINY)
    info = run_mode("pretrain_vae", dataset_path=dataset, pretrain_epochs=3, pretrain_batch_size=128,
                    subgoal_dim=4, pretrain_moa=True, pretrain_save_path=str(root / "prior"), **TINY)
    return dataset, info


def test_collect_writes_the_ns_nh_ladder(pretrained):
    dataset, _ = pretrained
    batch, saved = load_dataset(dataset, make_args("collect", **TINY))
    assert batch.batch_size == 40 and saved["role_vocab"] == ["NH", "NS"]
    n_ns = (saved["slot_roles"] == 1).sum(1)
    assert sorted(set(n_ns.tolist())) == [0, 1, 2, 3, 4]          # 0..4 NS, NH filling the rest
    assert batch["obs"].dtype == torch.float32 and int(batch["filled"].sum()) > 40


def test_pretrain_reduces_the_loss_and_hop_plus_loads_the_prior(pretrained):
    _, info = pretrained
    assert info["vae_loss_last"] < info["vae_loss_first"]
    path = info["pretrained_path"]
    assert sorted(os.listdir(path)) == ["moa.th", "moa_config.json", "vae.th", "vae_config.json"]
    exp = make_experiment("hop_plus", subgoal_dim=4, vae_load_path=path, moa_load_path=path, moa_subgoal=False,
                          batch_size=8, ppo_epochs=1, **TINY)
    saved = torch.load(os.path.join(path, "vae.th"))
    for key, value in exp.mac.modules()["vae"].state_dict().items():
        assert torch.equal(value, saved[key]), key
    exp.train_step()
    assert "omg_loss" in exp.learner_stats


@pytest.mark.parametrize("overrides,message", [
    (dict(subgoal_dim=8), r"subgoal_dim=4 \(this run needs 8\)"),
    (dict(subgoal_dim=4, env_args__grid_size=5), r"obs_shape=\[7, 4, 4\] \(this run needs \[7, 5, 5\]\)"),
    (dict(subgoal_dim=4, moa_subgoal=True), r"the moa saved .* subgoal_dim=0 \(this run needs 4\)"),
])
def test_incompatible_checkpoints_are_config_errors(pretrained, overrides, message):
    path = pretrained[1]["pretrained_path"]
    with pytest.raises(ConfigError, match=message):
        make_experiment("hop_plus", vae_load_path=path, moa_load_path=path, **{**TINY, **overrides})


def test_other_env_and_missing_paths_are_config_errors(pretrained, tmp_path):
    dataset, info = pretrained
    with pytest.raises(ConfigError, match=r"env='stag_hunt' \(this run needs 'snowdrift'\)"):
        make_experiment("hop_plus", "snowdrift_small", subgoal_dim=4, vae_load_path=info["pretrained_path"], **TINY)
    with pytest.raises(ConfigError, match="vae_load_path: '.*nowhere' is not a directory"):
        make_experiment("hop_plus", vae_load_path=str(tmp_path / "nowhere"), **TINY)
    with pytest.raises(ConfigError, match="no saved vae"):
        make_experiment("hop_plus", vae_load_path=str(tmp_path), **TINY)
    with pytest.raises(ConfigError, match="dataset_path: no dataset file"):
        run_mode("pretrain_vae", dataset_path=str(tmp_path / "none.pt"), **TINY)
    with pytest.raises(ConfigError, match="collected with a different env"):
        run_mode("pretrain_vae", "snowdrift_small", roles=["ND"] * 4, dataset_path=dataset, **TINY)


def test_collect_on_snowdrift_uses_its_own_ladder_without_extra_settings(tmp_path):
    dataset = str(tmp_path / "sd.pt")
    run_mode("collect", "snowdrift_small", collect_episodes=10, dataset_path=dataset, **TINY)
    batch, saved = load_dataset(dataset, make_args("collect", "snowdrift_small", **TINY))
    assert saved["role_vocab"] == ["FIX", "ND"] and batch.batch_size == 10
    n_nd = (saved["slot_roles"] == 1).sum(1)
    assert sorted(set(n_nd.tolist())) == [0, 1, 2, 3, 4]
