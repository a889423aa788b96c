"""``wm_load_path``: a run's world model starts from a fitted one, and a file that does not fit the
run is one clear error before anything runs."""
import pytest
import torch

from controllers.wm_actor import build_world_model
from helpers import make_args, make_experiment
from modules.world_model.fitted import save_fitted
from utils.errors import ConfigError

SMALL = dict(env_args__episode_limit=8, imagine_horizon=4, batch_size_run=4, buffer_size=4, batch_size=4, wm_spatial_channels=8)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A world model as scripts/fit_world_model.py writes it, its weights moved away from a fresh init."""
    model = build_world_model(make_args("hop_plus_wm", **SMALL))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5)
    path = tmp_path_factory.mktemp("fit") / "model.pt"
    save_fitted(model, str(path))
    return str(path), model.state_dict()


@pytest.mark.parametrize("alg", ["hop_plus_wm", "hop_plus_mbrl"])
def test_the_run_starts_from_the_fitted_world_model_and_trains_it(fitted, alg):
    path, weights = fitted
    exp = make_experiment(alg, wm_load_path=path, **SMALL)
    loaded = exp.mac.modules()["world_model"].state_dict()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)
    fresh = make_experiment(alg, **SMALL).mac.modules()["world_model"].state_dict()
    assert not torch.equal(fresh["stem.weight"], weights["stem.weight"])
    exp.train_step()
    assert not torch.equal(exp.mac.modules()["world_model"].state_dict()["stem.weight"], weights["stem.weight"])


def test_a_file_that_does_not_fit_the_run_is_a_config_error(fitted, tmp_path):
    path, _ = fitted
    with pytest.raises(ConfigError, match=r"wm_load_path: .*spatial_channels=8 \(this run needs 16\)"):
        make_experiment("hop_plus_wm", wm_load_path=path, **{**SMALL, "wm_spatial_channels": 16})
    with pytest.raises(ConfigError, match=r"wm_load_path: .*env='stag_hunt' \(this run needs 'snowdrift'\)"):
        make_experiment("hop_plus_wm", "snowdrift_small", wm_load_path=path, **SMALL)
    with pytest.raises(ConfigError, match="wm_load_path: '.*nowhere.pt' is not a file"):
        make_experiment("hop_plus_wm", wm_load_path=str(tmp_path / "nowhere.pt"), **SMALL)
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="does not hold a fitted world model"):
        make_experiment("hop_plus_wm", wm_load_path=str(tmp_path / "other.pt"), **SMALL)
    with pytest.raises(ConfigError, match="wm_load_path is set, but this run trains no world model"):
        make_experiment("ppo", wm_load_path=path, **SMALL)


def test_a_fit_saved_before_the_fusion_option_is_a_stem_fusion_model(fitted, tmp_path):
    """A fit whose config has no ``fusion`` (written before the option) loads into a ``stem`` run and is
    refused by a ``late`` one."""
    path, weights = fitted
    saved = torch.load(path)
    del saved["config"]["fusion"]
    torch.save(saved, tmp_path / "old.pt")
    exp = make_experiment("hop_plus_wm", wm_load_path=str(tmp_path / "old.pt"), **SMALL)
    assert torch.equal(exp.mac.modules()["world_model"].state_dict()["stem.weight"], weights["stem.weight"])
    with pytest.raises(ConfigError, match=r"wm_load_path: .*fusion='stem' \(this run needs 'late'\)"):
        make_experiment("hop_plus_wm", wm_load_path=str(tmp_path / "old.pt"), **{**SMALL, "wm_spatial_fusion": "late"})
