"""World-model planner with the true simulator plugged in: it finds the known best actions."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from envs.grid_core import STAY
from envs.stag_hunt import HARE, STAG, StagHuntCore
from planners.wm_models import SimulatorModel
from planners.wm_planner import PlannerSettings, WMPlanner, latin_hypercube, top_mass
from utils.errors import ConfigError

LEFT, RIGHT = 2, 3
N_ACTIONS = 7


def stag_seekers(p_seek: float):
    """Co-players that (with probability ``p_seek``) walk LEFT to a stag in their row and play STAG on it,
    and otherwise STAY; read from the planning agent's observation (ego-first channels)."""
    def probs(obs, time, prev, avail, root):
        rows, n_agents = obs.shape[0], avail.shape[1]
        stag = obs[:, n_agents + 1]
        out = torch.zeros(rows, n_agents - 1, N_ACTIONS)
        for k in range(1, n_agents):
            me = obs[:, k]
            on = (me * stag).flatten(1).sum(-1) > 0
            left = (torch.roll(stag, 1, dims=-1) * me).flatten(1).sum(-1) > 0   # stag one cell to the left
            seek = torch.where(on, STAG, torch.where(left, LEFT, STAY))
            out[torch.arange(rows), k - 1, STAY] += 1 - p_seek
            out[torch.arange(rows), k - 1, seek] += p_seek
            out[:, k - 1] *= avail[:, k]
            out[:, k - 1] /= out[:, k - 1].sum(-1, keepdim=True)
        return out
    return probs


def plan(layout, coplayers, **settings):
    core = StagHuntCore(1, n_agents=len([c for c in "".join(layout) if c.isdigit()]), layout=layout, seed=0)
    core.reset(np.array([0]))
    model = SimulatorModel(core)
    root = model.root(core, np.array([0]), np.array([0]), torch.full((1, core.n_agents), -1))
    planner = WMPlanner(PlannerSettings(**{"gamma": 0.9, **settings}))
    return planner.q(model, root, coplayers, torch.Generator().manual_seed(0))[0]


@pytest.mark.parametrize("expectation", ["exact", "sampled", "stratified"])
def test_one_step_takes_the_reward_in_reach(expectation):
    q = plan(["1H.", "..2"], stag_seekers(0.0), planner="one_step", expectation=expectation)
    assert torch.all(q[torch.isfinite(q)] == 0)                      # the hare is a move away: no reward yet
    q = plan(["H1S2"], stag_seekers(1.0), planner="one_step", expectation=expectation)
    assert torch.isinf(q[STAG]) and torch.isinf(q[HARE])              # unavailable off the prey cells


def test_one_step_on_a_hare_captures_it():
    # agent 1 is alone in the right column; move it onto a hare by a first real step
    core = StagHuntCore(1, n_agents=2, layout=["1H", ".2"], seed=0)
    core.reset(np.array([0]))
    core.step(np.array([[RIGHT, STAY]]))
    model = SimulatorModel(core)
    root = model.root(core, np.array([0]), np.array([0]), torch.tensor([[RIGHT, STAY]]))
    q = WMPlanner(PlannerSettings(planner="one_step", gamma=0.9)).q(model, root, stag_seekers(0.0),
                                                                   torch.Generator().manual_seed(0))[0]
    assert q.argmax() == HARE and q[HARE] == pytest.approx(1.0)


def test_h_step_walks_to_the_hare():
    q = plan(["1H", ".2"], stag_seekers(0.0), planner="h_step", horizon=2)
    assert q.argmax() == RIGHT and q[RIGHT] == pytest.approx(0.9)     # RIGHT, then HARE: 1 a step later


@pytest.mark.parametrize("expectation", ["exact", "sampled", "stratified"])
def test_coplayer_model_decides_between_stag_and_hare(expectation):
    # H1S2: the co-player walks LEFT onto the stag and plays STAG (stag together: 5 each at t = 2),
    # or stays (then only the hare: LEFT, HARE)
    seeker = plan(["H1S2"], stag_seekers(1.0), planner="h_step", horizon=2, expectation=expectation)
    assert seeker.argmax() == RIGHT and seeker[RIGHT] == pytest.approx(0.9 * 5)
    stayer = plan(["H1S2"], stag_seekers(0.0), planner="h_step", horizon=2, expectation=expectation)
    assert stayer.argmax() == LEFT and stayer[LEFT] == pytest.approx(0.9 * 1)


def _on_the_stag_together():
    """Both agents stand on the stag (layout H1S2 after one step); STAG together pays 5 each."""
    core = StagHuntCore(1, n_agents=2, layout=["H1S2"], seed=0)
    core.reset(np.array([0]))
    core.step(np.array([[RIGHT, LEFT]]))
    model = SimulatorModel(core)
    return model, model.root(core, np.array([0]), np.array([0]), torch.tensor([[RIGHT, LEFT]]))


def test_exact_expectation_weighs_the_coplayer_outcomes():
    # both agents stand on the stag; the co-player plays STAG with probability 0.3 (STAY otherwise)
    model, root = _on_the_stag_together()
    q = WMPlanner(PlannerSettings(planner="one_step", expectation="exact")).q(
        model, root, stag_seekers(0.3), torch.Generator().manual_seed(0))[0]
    assert q[STAG] == pytest.approx(0.3 * 5) and q.argmax() == STAG


@pytest.mark.parametrize("mass, expected", [(0.6, 0.0), (0.7, 0.0), (0.71, 0.3 * 5), (0.99, 0.3 * 5)])
def test_top_mass_drops_the_unlikely_coplayer_actions(mass, expected):
    # both agents on the stag; the co-player plays STAG with probability 0.3, STAY with 0.7: keeping
    # 0.7 of the mass keeps STAY alone (a lone STAG pays nothing), more keeps both (the exact 0.3 * 5)
    model, root = _on_the_stag_together()
    q = WMPlanner(PlannerSettings(planner="one_step", expectation="top_mass", mass=mass)).q(
        model, root, stag_seekers(0.3), torch.Generator().manual_seed(0))[0]
    assert q[STAG] == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12).filter(lambda w: sum(w) > 1e-3),
       st.floats(0.01, 1.0))
def test_top_mass_keeps_the_fewest_likeliest_entries_holding_the_mass(raw, mass):
    weights = torch.tensor(raw, dtype=torch.float64)
    weights = (weights / weights.sum())[None]
    kept = top_mass(weights, mass)[0]
    held = weights[0][kept > 0]
    assert kept.sum().item() == pytest.approx(1.0)
    assert torch.allclose(kept[kept > 0], weights[0][kept > 0] / held.sum())          # renormalised, not reweighted
    assert held.sum() >= mass - 1e-9                                                   # holds the mass
    assert held.sum() - held.min() < mass + 1e-9                                       # and no entry could go
    dropped = weights[0][kept == 0]
    assert len(dropped) == 0 or dropped.max() <= held.min()                            # the likeliest ones
    if mass == 1.0:
        assert torch.equal(kept > 0, weights[0] > 0)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="wm_planner"):
        PlannerSettings(planner="mcts")
    with pytest.raises(ConfigError, match="wm_coplayer_expectation"):
        PlannerSettings(expectation="mean")
    with pytest.raises(ConfigError, match="wm_mass"):
        PlannerSettings(expectation="top_mass", mass=0.0)


@pytest.mark.parametrize("seed", range(20))
def test_stratified_draws_hold_the_coplayer_marginal(seed):
    # the co-player plays STAG with probability 0.3: 16 stratified draws hold 4 or 5 STAGs (16 * 0.3 = 4.8),
    # so Q(STAG) is 5 * 4/16 or 5 * 5/16 in every draw (independent draws range over 0 .. 5)
    model, root = _on_the_stag_together()
    q = WMPlanner(PlannerSettings(planner="one_step", expectation="stratified", samples=16)).q(
        model, root, stag_seekers(0.3), torch.Generator().manual_seed(seed))[0]
    assert q[STAG].item() in (pytest.approx(5 * 4 / 16), pytest.approx(5 * 5 / 16))


@pytest.mark.parametrize("expectation", ["sampled", "stratified"])
def test_repeated_draws_are_stepped_once(expectation):
    # a co-player model that is sure: all 16 draws are one joint action, stepped once per own action
    model, root = _on_the_stag_together()
    planner = WMPlanner(PlannerSettings(planner="one_step", expectation=expectation, samples=16))
    branches = planner.branches(model, root, stag_seekers(1.0), torch.Generator().manual_seed(0))
    exact = WMPlanner(PlannerSettings(planner="one_step")).q(model, root, stag_seekers(1.0), torch.Generator())
    assert len(branches.row) == int(branches.own_avail.sum()) and torch.all(branches.weight == 1)
    assert torch.equal(branches.q(), exact)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5).filter(lambda p: sum(p) > 1e-3),
                min_size=1, max_size=3),
       st.integers(1, 40), st.integers(0, 2 ** 31 - 1))
def test_a_latin_hypercube_holds_every_marginal(raw, samples, seed):
    probs = torch.tensor(raw)
    probs = (probs / probs.sum(-1, keepdim=True))[None]                                # [1,K,A]
    joints = latin_hypercube(probs, samples, torch.Generator().manual_seed(seed))[0]   # [S,K]
    counts = torch.stack([torch.bincount(joints[:, k], minlength=5) for k in range(joints.shape[1])])
    expected = samples * probs[0].double()
    assert torch.all(counts >= torch.floor(expected - 1e-6)) and torch.all(counts <= torch.ceil(expected + 1e-6))
    assert torch.all(counts[probs[0] == 0] == 0)                                        # never an impossible action


def test_a_latin_hypercube_draws_each_joint_action_from_the_product():
    # one draw's joint action over 40000 rows: the product of the marginals (draws of one index paired
    # without the permutations would fall in the same stratum: both co-players' first action every time)
    probs = torch.tensor([[[0.5, 0.5, 0.0], [0.3, 0.0, 0.7]]]).expand(40000, -1, -1)
    joints = latin_hypercube(probs, 8, torch.Generator().manual_seed(0))[:, 3]          # [rows, K], draw 3
    frequency = torch.bincount(joints[:, 0] * 3 + joints[:, 1], minlength=9).float() / len(joints)
    product = (probs[0, 0][:, None] * probs[0, 1][None]).flatten()
    assert torch.allclose(frequency, product, atol=0.01)
