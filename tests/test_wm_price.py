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


def test_a_checkpoint_is_priced_as_its_run_built_its_world_model(tmp_path):
    """A checkpoint of a run with late fusion and the reward gate loads without naming them again
    (the folder records them); an override that contradicts the record is one clear error."""
    from controllers.wm_actor import WMPlannerActor
    from scripts.wm_price import load_world_model
    from helpers import make_args
    from utils.checkpoint import CheckpointError, save_checkpoint

    saved = WMPlannerActor(make_args("hop_plus_wm", seed=3, wm_spatial_fusion="late", wm_reward_gate=True))
    save_checkpoint(str(tmp_path / "100"), saved.modules(), {}, {"t_env": 100})
    args, model, _ = load_world_model(str(tmp_path / "100"), "stag_hunt_small", {})
    assert (args.wm_spatial_fusion, args.wm_reward_gate) == ("late", True)
    assert (model.fusion, model.reward_gate) == ("late", True)
    with pytest.raises(CheckpointError, match="wm_spatial_fusion='late'"):
        load_world_model(str(tmp_path / "100"), "stag_hunt_small", {"wm_spatial_fusion": "stem"})


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


class _RewardBlind:
    """The true simulator, except that every step pays nothing: a model wrong in its reward alone."""

    def __init__(self, simulator):
        self.simulator = simulator

    def __getattr__(self, name):
        return getattr(self.simulator, name)

    def step(self, state, joint):
        following, reward, cont = self.simulator.step(state, joint)
        return following, torch.zeros_like(reward), cont


def test_a_parting_from_a_wrong_reward_is_put_on_the_reward():
    """On the stag with a partner who plays STAG (NS), the simulator's planner plays STAG (5); a model
    that pays nothing is indifferent and takes the first action. The whole error on the difference is
    the reward term, the grids and continuations are right, every branch's reward of STAG is wrong."""
    from scripts.wm_partings import explain_partings, summarise
    core = _both_on_the_stag()
    simulator = SimulatorModel(core)
    prev = torch.tensor([[RIGHT, LEFT]])
    predict = rule_coplayers(core, np.array([0]), np.array([[1]]), "NS")
    planner = WMPlanner(PlannerSettings(planner="one_step", gamma=0.5))
    root = simulator.root(core, np.array([0]), np.array([0]), prev)
    names = ("self", "agent1", "walls", "stag")
    records = explain_partings(planner, _RewardBlind(simulator), root, simulator, root, predict,
                               torch.Generator().manual_seed(0), names)
    assert len(records) == 1
    (record,) = records
    assert record["simulator_action"] == STAG and record["learned_action"] != STAG
    assert record["error_reward"] == pytest.approx(record["gap"] + record["regret"])
    assert record["error_continuation"] == 0 and record["error_next_state"] == 0
    assert record["expected_reward_at_simulator_action"] == {"learned": 0.0, "true": 5.0}
    assert all(record["wrong_branches"][name] == 0 for name in (*names, "continuation"))
    assert record["wrong_branches"]["reward"] > 0 and record["own_cell_prey_errors"] == {}
    assert summarise(records)["led_by_reward"] == 1
    assert explain_partings(planner, simulator, root, simulator, root, predict, torch.Generator(), names) == []


def test_the_three_error_terms_add_up_to_the_learned_models_error_on_every_parting():
    """A fresh spatial model on stag_hunt_small parts from the simulator often; on each parting the
    reward, continuation and next-state terms sum to gap + regret, and the shares are shares."""
    import envs
    from controllers.wm_actor import WMPlannerActor, planner_settings
    from helpers import make_args
    from modules.world_model.grid_rules import grid_rules
    from planners.wm_models import LatentModel
    from scripts.wm_partings import explain_partings

    args = make_args("hop_plus_wm", seed=0, wm_coplayer_expectation="exact")   # the same branches in both models
    torch.manual_seed(0)
    model = WMPlannerActor(args).world_model.eval()
    core = envs.REGISTRY[args.env](batch_size=8, **args.env_args).core
    core.reset(np.arange(8))
    rules = grid_rules(args)
    latent, simulator = LatentModel(model, rules, args.episode_limit), SimulatorModel(
        core, lambda obs, _t: model.value(model.encode(obs)))
    env_idx, slot = np.arange(8), np.zeros(8, dtype=np.int64)
    prev = torch.full((8, args.n_agents), -1)
    obs = torch.from_numpy(core.observations(env_idx, slot))
    avail = torch.from_numpy(core.avail_actions())
    with torch.no_grad():
        records = explain_partings(WMPlanner(planner_settings(args)), latent,
                                   latent.root(obs, torch.zeros(8, 1), prev, avail), simulator,
                                   simulator.root(core, env_idx, slot, prev), uniform_coplayers,
                                   torch.Generator().manual_seed(0), rules.channel_names)
    assert records
    with pytest.raises(ValueError, match="must not draw"):     # stratified draws differ between the models
        explain_partings(WMPlanner(planner_settings(make_args("hop_plus_wm", seed=0))), latent,
                         latent.root(obs, torch.zeros(8, 1), prev, avail), simulator,
                         simulator.root(core, env_idx, slot, prev), uniform_coplayers,
                         torch.Generator().manual_seed(0), rules.channel_names)
    for record in records:
        total = record["error_reward"] + record["error_continuation"] + record["error_next_state"]
        assert total == pytest.approx(record["gap"] + record["regret"], abs=1e-4)
        assert record["gap"] >= 0 and record["regret"] > 0
        assert all(0 <= share <= 1 + 1e-6 for share in record["wrong_branches"].values())
        assert sum(record["own_cell_prey_errors"].values()) <= record["wrong_branches"]["stag"] + \
            record["wrong_branches"]["hare"] + 1e-6       # own-cell prey errors are prey errors


def test_explain_refuses_an_existing_file_and_a_sampled_expectation_before_playing(tmp_path):
    """``--explain`` writes a new file only: an existing one is left as it was, with exit 2; a sampled
    or stratified expectation (different branches in the two models) is refused the same way, and so
    is an unknown variant (an override written after ``--variants``)."""
    import subprocess
    import sys
    from controllers.wm_actor import WMPlannerActor
    from helpers import make_args
    from modules.world_model.fitted import save_fitted

    save_fitted(WMPlannerActor(make_args("hop_plus_wm", seed=0)).world_model, str(tmp_path / "model.pt"))
    kept = tmp_path / "partings.jsonl"
    kept.write_text("earlier\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for extra, message in (([f"--explain={kept}"], "the file exists"),
                           ([f"--explain={tmp_path / 'new.jsonl'}", "wm_coplayer_expectation=sampled"], "sampled"),
                           ([f"--explain={tmp_path / 'new.jsonl'}", "wm_coplayer_expectation=stratified"], "stratified"),
                           ([f"--explain={tmp_path / 'new.jsonl'}", "--variants", "simulator",   # not a variant:
                             "wm_coplayer_expectation=stratified"], "invalid choice")):         # an override
        done = subprocess.run([sys.executable, "-m", "scripts.wm_price", str(tmp_path / "model.pt"), "--diagnose",
                               *extra], cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr, done.stderr
    assert kept.read_text() == "earlier\n" and not (tmp_path / "new.jsonl").exists()
