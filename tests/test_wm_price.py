"""scripts/wm_price.py's exact co-player model: with the true simulator, a one-step planner that
plans against the rule's own prediction values the stag at its exact share."""
import os

import numpy as np
import pytest
import torch

from envs.stag_hunt import STAG, StagHuntCore
from planners.wm_models import SimulatorModel
from planners.wm_planner import PlannerSettings, WMPlanner
from scripts.wm_price import rule_coplayers, uniform_coplayers

RIGHT, LEFT = 3, 2


def _both_on_the_stag():
    core = StagHuntCore(1, n_agents=2, layout=["1S2"], seed=0)
    core.reset([0])
    core.step(np.array([[RIGHT, LEFT]]))            # both agents now stand on the stag
    return core


@pytest.mark.parametrize("role, stag_value", [("NS", 5.0), ("NH", 0.0)])
def test_rule_coplayers_give_the_exact_immediate_value_of_the_stag(role, stag_value):
    """Next to NS (who plays STAG on a stag) STAG pays 10 / 2; NH never plays STAG, and a stag
    needs two, so STAG pays 0."""
    core = _both_on_the_stag()
    simulator = SimulatorModel(core)
    prev = torch.tensor([[RIGHT, LEFT]])
    root = simulator.root(core, np.array([0]), np.array([0]), prev)
    predict = rule_coplayers(core, np.array([0]), np.array([[1]]), role)
    q = WMPlanner(PlannerSettings(planner="one_step", gamma=0.0)).q(simulator, root, predict,
                                                                      torch.Generator().manual_seed(0))
    assert float(q[0, STAG]) == pytest.approx(stag_value)


def test_uniform_coplayers_dilute_the_stag():
    """The uniform model gives the partner's STAG probability 1 / (its available actions)."""
    core = _both_on_the_stag()
    simulator = SimulatorModel(core)
    root = simulator.root(core, np.array([0]), np.array([0]), torch.tensor([[RIGHT, LEFT]]))
    partner_actions = int(core.avail_actions()[0, 1].sum())
    q = WMPlanner(PlannerSettings(planner="one_step", gamma=0.0)).q(simulator, root, uniform_coplayers,
                                                                      torch.Generator().manual_seed(0))
    assert partner_actions > 1
    assert float(q[0, STAG]) == pytest.approx(5.0 / partner_actions)


def test_a_hop_plus_wm_checkpoint_is_priced_with_its_own_moa(tmp_path):
    """The checkpoint folder of a hop_plus_wm run loads its world model and MOA (not fresh ones), and
    both variants plan with that MOA."""
    from controllers.wm_actor import WMPlannerActor, planner_settings
    from scripts.wm_price import load_world_model, play
    from helpers import make_args
    from utils.checkpoint import save_checkpoint

    saved = WMPlannerActor(make_args("hop_plus_wm", seed=3))
    with torch.no_grad():
        for module in saved.modules().values():
            for parameter in module.parameters():
                parameter.add_(0.01 * torch.randn_like(parameter))
    save_checkpoint(str(tmp_path / "100"), saved.modules(), {}, {"t_env": 100})
    args, model, moa = load_world_model(str(tmp_path / "100"), "stag_hunt_small", {})
    for name, value in saved.world_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], value)
    obs = torch.zeros(2, *args.obs_shape)
    avail = torch.ones(2, args.n_agents, args.n_actions, dtype=torch.bool)
    prev = torch.full((2, args.n_agents), -1)
    expected = saved.coplayer_policy(None)(obs, torch.zeros(2, 1), prev, avail, torch.arange(2))
    assert torch.allclose(moa(obs, torch.zeros(2, 1), prev, avail, torch.arange(2)), expected)

    planner = WMPlanner(planner_settings(args))
    for variant in ("learned", "simulator"):
        result = play(args, model, planner, "NS", variant, episodes=2, seed=0, coplayer_model="moa", moa=moa,
                      diagnose=True)
        assert np.isfinite(result["return"]) and result["return"] >= 0
        if variant == "learned":   # scored by the simulator's Q too; decisions on a prey are counted apart
            assert 0 <= result["decisions_interact"] <= result["decisions"] > 0
            assert result["decisions_interact"] == 0 or 0 <= result["agreement_interact"] <= 1
        else:
            assert "decisions" not in result


def test_moa_coplayers_need_a_checkpoint(tmp_path):
    import subprocess
    import sys

    from modules.world_model import REGISTRY
    from modules.world_model.config import world_model_config
    from helpers import make_args

    args = make_args("hop_plus_wm")
    config = world_model_config(args)
    torch.save({"config": config, "state_dict": REGISTRY[config["kind"]](config).state_dict()}, tmp_path / "model.pt")
    done = subprocess.run([sys.executable, "-m", "scripts.wm_price", str(tmp_path / "model.pt"),
                           "wm_coplayer_expectation=top_mass", "wm_mass=0.9", "--coplayers", "moa",
                           "--mixtures", "NS", "--episodes", "1"], capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode != 0 and "--coplayers moa" in done.stderr and "checkpoint folder" in done.stderr


@pytest.mark.parametrize("make_bad", ["truncated fit", "empty checkpoint folder"])
def test_an_unreadable_model_is_one_clear_error(tmp_path, make_bad):
    import subprocess
    import sys

    if make_bad == "truncated fit":
        source = tmp_path / "model.pt"
        source.write_bytes(b"PK\x03\x04 not a whole file")
        expected = "cannot read"
    else:
        source = tmp_path / "100"
        source.mkdir()
        expected = "not found"
    done = subprocess.run([sys.executable, "-m", "scripts.wm_price", str(source), "--mixtures", "NS", "--episodes", "1"],
                          capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("override, message", [("wm_lr=[1,", "not valid yaml"), ("wm_lr", "KEY=VALUE"),
                                               ("wm_lr=fast", "wm_lr")])
def test_fit_world_model_overrides_are_yaml_and_bad_ones_exit_2(tmp_path, override, message):
    """The fit script reads its overrides as the other scripts do (yaml values); a bad one is one
    line on stderr and exit code 2, before anything is written."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "scripts.fit_world_model", override, "--updates", "1",
                           "--out", str(tmp_path / "fit")], capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "fit").exists()
