"""World-model planner with the true simulator plugged in: it finds the known best actions."""
import numpy as np
import pytest
import torch

from envs.grid_core import STAY
from envs.stag_hunt import HARE, STAG, StagHuntCore
from planners.wm_models import SimulatorModel
from planners.wm_planner import PlannerSettings, WMPlanner
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


@pytest.mark.parametrize("expectation", ["exact", "sampled"])
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


@pytest.mark.parametrize("expectation", ["exact", "sampled"])
def test_coplayer_model_decides_between_stag_and_hare(expectation):
    # H1S2: the co-player walks LEFT onto the stag and plays STAG (stag together: 5 each at t = 2),
    # or stays (then only the hare: LEFT, HARE)
    seeker = plan(["H1S2"], stag_seekers(1.0), planner="h_step", horizon=2, expectation=expectation)
    assert seeker.argmax() == RIGHT and seeker[RIGHT] == pytest.approx(0.9 * 5)
    stayer = plan(["H1S2"], stag_seekers(0.0), planner="h_step", horizon=2, expectation=expectation)
    assert stayer.argmax() == LEFT and stayer[LEFT] == pytest.approx(0.9 * 1)


def test_exact_expectation_weighs_the_coplayer_outcomes():
    # both agents stand on the stag; the co-player plays STAG with probability 0.3 (STAY otherwise)
    core = StagHuntCore(1, n_agents=2, layout=["H1S2"], seed=0)
    core.reset(np.array([0]))
    core.step(np.array([[RIGHT, LEFT]]))
    model = SimulatorModel(core)
    root = model.root(core, np.array([0]), np.array([0]), torch.tensor([[RIGHT, LEFT]]))
    q = WMPlanner(PlannerSettings(planner="one_step", expectation="exact")).q(
        model, root, stag_seekers(0.3), torch.Generator().manual_seed(0))[0]
    assert q[STAG] == pytest.approx(0.3 * 5) and q.argmax() == STAG


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="wm_planner"):
        PlannerSettings(planner="mcts")
    with pytest.raises(ConfigError, match="wm_coplayer_expectation"):
        PlannerSettings(expectation="mean")
