"""The search with exact co-player models (rule-based policies as π_ω, fixed beliefs) picks the
known best action on hand-made layouts and, over whole episodes, earns at least what the rule
it models earns in the same slot. None of these go through the reference search."""
import numpy as np
import pytest
import torch

from envs.grid_core import STAY
from envs.snowdrift import REMOVE, SnowdriftCore
from envs.stag_hunt import HARE, STAG, StagHuntCore
from modules.coplayer_model import CoplayerModel
from planners.mcts import BatchedMCTS, SearchSettings
from planners.rule_goals import RuleTreeGoals, rule_logits
from planners.search_probe import ConstantModels, PartialModels, RolloutModels, probe_search

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
STAG_GOAL, HARE_GOAL = 0, 1
DEFAULTS = SearchSettings(num_simulations=200, tree_num=5, c_puct=1.25, discount=0.95)  # config/default.yaml
ROLLOUT = SearchSettings(num_simulations=50, tree_num=5, c_puct=1.25, discount=0.95)    # leaves valued by rollouts


def _core(core_cls, layout, first_actions=None):
    n_agents = sum(ch.isdigit() for row in layout for ch in row)
    core = core_cls(1, n_agents=n_agents, layout=layout, seed=0)
    core.reset([0])
    if first_actions is not None:
        core.step(np.array([first_actions]))
    return core


def _plan(core, coplayer_goal, models=None, seed=0, settings=DEFAULTS):
    roles = ("NS", "NH") if core.name == "stag_hunt" else ("ND", "FIX")
    goals = np.full((1, settings.tree_num, core.n_agents), coplayer_goal)
    search = BatchedMCTS(core, models or ConstantModels(core.n_actions), settings)
    return search.search(core, np.array([0]), np.array([0]), RuleTreeGoals(goals, roles),
                         torch.Generator().manual_seed(seed))


def test_rule_logits_are_the_rules_allowed_actions():
    core = _core(StagHuntCore, ["H.1S2"])
    logits = rule_logits(core, ("NS", "NH"))[0]
    assert np.flatnonzero(logits[0, STAG_GOAL] == 0).tolist() == [RIGHT]      # agent 1: towards the stag
    assert np.flatnonzero(logits[0, HARE_GOAL] == 0).tolist() == [LEFT]       # towards the hare
    assert np.flatnonzero(logits[1, STAG_GOAL] == 0).tolist() == [LEFT]
    core.step(np.array([[STAY, LEFT]]))                                       # agent 2 stands on the stag
    assert np.flatnonzero(rule_logits(core, ("NS", "NH"))[0, 1, STAG_GOAL] == 0).tolist() == [STAG]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stag_when_a_partner_stands_on_it_one_step_away(seed):
    core = _core(StagHuntCore, ["H.1S2"], first_actions=[STAY, LEFT])       # partner onto the stag
    result = _plan(core, STAG_GOAL, seed=seed)
    assert result.greedy()[0] == RIGHT                   # RIGHT, STAG: 5 one step later; the hare pays 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stag_three_steps_away_with_a_partner_arriving_at_the_same_time(seed):
    # both are three moves from the stag; the hare is one step away. Leaves are valued by the
    # exact value of the NS rule (a rollout in the true simulator): the search must still prefer
    # the stag over the hare that it finds at depth 2.
    core = _core(StagHuntCore, ["........", "H1..S..2", "........"])
    result = _plan(core, STAG_GOAL, RolloutModels(["NS", "NS"], ROLLOUT.discount), seed=seed, settings=ROLLOUT)
    assert result.greedy()[0] == RIGHT


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hare_when_the_coplayers_are_nh(seed):
    core = _core(StagHuntCore, ["........", "H1..S..2", "........"])
    assert _plan(core, HARE_GOAL, seed=seed).greedy()[0] == LEFT
    # and with the exact value of NS as leaf value (worth 0 here: nobody joins the stag)
    rollout = RolloutModels(["NS", "NH"], ROLLOUT.discount)
    assert _plan(core, HARE_GOAL, rollout, seed=seed, settings=ROLLOUT).greedy()[0] == LEFT


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snowdrift_removal_pays_when_the_others_will_not_remove(seed):
    core = _core(SnowdriftCore, ["1.D", "...", "2.."])
    result = _plan(core, 1, seed=seed)                   # co-player plays FIX: never removes
    assert result.greedy()[0] == RIGHT                   # RIGHT, RIGHT, REMOVE: 6 - 4 = 2 for the remover
    core.step(np.array([[RIGHT, STAY]]))
    core.step(np.array([[RIGHT, STAY]]))
    assert _plan(core, 1, seed=seed).greedy()[0] == REMOVE


def test_snowdrift_waits_when_the_coplayer_removes_it_alone():
    # the co-player stands next to the only drift and plays ND: it removes it next step and the
    # planner gets the 6 for free; removing it together would cost the planner 2
    core = _core(SnowdriftCore, ["1D2"])
    assert _plan(core, 0).greedy()[0] == STAY


@pytest.mark.parametrize("coplayers,rule", [("NS", "NS"), ("NH", "NH")])
def test_exact_model_planner_earns_at_least_the_rule_over_whole_episodes(coplayers, rule):
    """Random stag_hunt_small maps, the planner in slot 0 next to three rule co-players, leaves
    valued by rollouts of the rules: it must earn at least what the rule earns in that slot."""
    settings = SearchSettings(num_simulations=30, tree_num=5, c_puct=1.25, discount=0.95)
    env_args = dict(grid_size=4, n_walls=0, n_stags=1, n_hares=4, episode_limit=35)
    result = probe_search(StagHuntCore, env_args, np.arange(12), 0, ["-", coplayers, coplayers, coplayers],
                          settings, rule)
    assert result.planner >= result.rule
    assert np.mean(result.planner_returns >= 2.5) >= np.mean(result.rule_returns >= 2.5)   # stag shares too


def test_a_rule_that_is_no_goal_is_modelled_by_itself():
    """RAND pursues no goal: the probe models it by its own rule, uniform over available actions."""
    core = _core(StagHuntCore, ["H.1S2"])
    logits = rule_logits(core, ("NS", "NH", "RAND"))[0, :, 2]
    assert np.array_equal(logits == 0, core.avail_actions()[0])
    result = probe_search(StagHuntCore, dict(grid_size=4, n_walls=0, n_stags=1, n_hares=4, episode_limit=35),
                          np.arange(2), 0, ["-", "RAND", "RAND", "RAND"], ROLLOUT, "NH", leaf="constant")
    assert result.rule_returns.tolist() == [1.0, 1.0]          # NH takes a hare on both maps
    assert set(result.planner_returns.tolist()) <= {0.0, 1.0, 5.0}


def test_a_run_s_networks_take_the_place_of_the_leaf_models():
    """``leaf="networks"`` searches with the models handed in (a trained run's prior and value in
    scripts.probe_search): handed the constant models, it plays exactly the constant-leaf episodes."""
    env_args = dict(grid_size=4, n_walls=0, n_stags=1, n_hares=4, episode_limit=35)
    roles = ["-", "NS", "NS", "NS"]
    settings = SearchSettings(num_simulations=20, tree_num=2, c_puct=1.25, discount=0.95)
    constant = probe_search(StagHuntCore, env_args, np.arange(3), 0, roles, settings, "NS", leaf="constant")
    handed = probe_search(StagHuntCore, env_args, np.arange(3), 0, roles, settings, "NS", leaf="networks",
                          networks=ConstantModels(7))
    assert np.array_equal(constant.planner_returns, handed.planner_returns)
    valued = ConstantModels(7, value=0.7)                 # with its value switched off it is the constant-0 leaf again
    switched_off = probe_search(StagHuntCore, env_args, np.arange(3), 0, roles, settings, "NS", leaf="networks",
                                networks=PartialModels(valued, prior=True, value=False))
    assert np.array_equal(constant.planner_returns, switched_off.planner_returns)
    logits, value = PartialModels(valued, prior=False, value=True).prior_value(None, np.zeros(2), np.zeros(2))
    assert not logits.any() and np.allclose(value, 0.7)
    with pytest.raises(ValueError, match="needs the networks"):
        probe_search(StagHuntCore, env_args, np.arange(1), 0, roles, settings, "NS", leaf="networks")


def test_beliefs_on_the_wrong_goal_make_the_planner_take_the_hare_next_to_a_stag_hunter():
    """A hare one step left, the stag one step right and an NS partner one step beyond it. With the
    partner's true goal the planner meets it on the stag (5) on every map seed; with
    ``true_goal_share`` 0 every tree simulates the partner as a hare hunter (the exact NH rule), so
    nobody would join it on the stag and it takes the hare (1)."""
    env_args = dict(n_agents=2, layout=["H1S2"], episode_limit=10)
    right = probe_search(StagHuntCore, env_args, np.arange(4), 0, ["-", "NS"], DEFAULTS, "NS", leaf="constant")
    wrong = probe_search(StagHuntCore, env_args, np.arange(4), 0, ["-", "NS"], DEFAULTS, "NS", leaf="constant",
                         true_goal_share=0.0)
    assert right.planner_returns.tolist() == [5.0] * 4
    assert wrong.planner_returns.tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="true_goal_share"):
        probe_search(StagHuntCore, env_args, np.arange(1), 0, ["-", "NS"], DEFAULTS, "NS", true_goal_share=1.5)


class _CoplayerNetworks(ConstantModels):
    """A flat prior, value 0 and a real (untrained) goal-conditioned π_ω."""

    sparse_inputs = False

    def __init__(self) -> None:
        super().__init__(7)
        torch.manual_seed(0)
        self.coplayer = CoplayerModel((7, 4, 4), 4, 2, 7, hidden_dim=16, conv_channels=())

    def coplayer_logits(self, state, time, goals=None):
        with torch.no_grad():
            return self.coplayer(torch.as_tensor(state), torch.as_tensor(time)[:, None],
                                 None if goals is None else torch.as_tensor(goals)).numpy()


def test_a_learned_coplayer_model_simulates_the_coplayers_under_their_goals():
    """``coplayer_model="learned"`` simulates co-players by the networks' π_ω (stag for NS, hare for
    NH); it needs networks with one, and RAND, no goal of a trained model, is refused before any episode."""
    env_args = dict(grid_size=4, n_walls=0, n_stags=1, n_hares=4, episode_limit=35)
    settings = SearchSettings(num_simulations=5, tree_num=2, c_puct=1.25, discount=0.95)
    networks = _CoplayerNetworks()
    result = probe_search(StagHuntCore, env_args, np.arange(2), 0, ["-", "NH", "NH", "NH"], settings, "NH",
                          leaf="networks", networks=networks, coplayer_model="learned")
    assert (result.planner_returns <= 1.0).all()                     # hare hunters never join a stag
    with pytest.raises(ValueError, match="no goal of the trained model"):
        probe_search(StagHuntCore, env_args, np.arange(1), 0, ["-", "RAND", "RAND", "RAND"], settings, "NS",
                     leaf="networks", networks=networks, coplayer_model="learned")
    with pytest.raises(ValueError, match="needs a trained run's networks"):
        probe_search(StagHuntCore, env_args, np.arange(1), 0, ["-", "NS", "NS", "NS"], settings, "NS",
                     leaf="constant", coplayer_model="learned")
    with pytest.raises(ValueError, match="needs a trained run's networks"):   # a wrapper without a π_ω has none
        probe_search(StagHuntCore, env_args, np.arange(1), 0, ["-", "NS", "NS", "NS"], settings, "NS",
                     leaf="networks", networks=PartialModels(ConstantModels(7), prior=True, value=True),
                     coplayer_model="learned")
    partial = PartialModels(networks, prior=False, value=True)                  # keeps the run's π_ω as it is
    assert partial.coplayer_logits == networks.coplayer_logits
    with pytest.raises(ValueError, match="unknown"):
        probe_search(StagHuntCore, env_args, np.arange(1), 0, ["-", "NS", "NS", "NS"], settings, "NS",
                     coplayer_model="oracle")


def test_the_probe_script_prints_one_row_per_setting_and_refuses_networks_without_a_checkpoint(monkeypatch, capsys):
    """``scripts.probe_search``: one table row per (co-players, leaf) without a checkpoint; ``--leaf
    networks`` without ``--checkpoint`` is one error line and exit code 2."""
    from scripts import probe_search as script
    monkeypatch.setattr("sys.argv", ["probe_search", "--maps", "1", "--coplayers", "NH", "--leaf", "constant",
                                     "rollout", "--simulations", "2", "--trees", "1", "--c-puct", "1.25"])
    assert script.main() == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 3 NH")]
    assert [row.split("|")[4].strip() for row in rows] == ["constant", "rollout"]
    assert [row.split("|")[2].strip() for row in rows] == ["exact", "exact"]
    summary = script.first_state_summary(ConstantModels(7, value=0.5), 3)
    assert "mean V 0.50" in summary and "mean top prior probability 0.143" in summary   # flat over 7 actions
    monkeypatch.setattr("sys.argv", ["probe_search", "--leaf", "networks"])
    assert script.main() == 2
    assert "--leaf networks and --checkpoint go together" in capsys.readouterr().err
