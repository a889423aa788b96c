"""scripts/wm_price.py's exact co-player model: with the true simulator, a one-step planner that
plans against the rule's own prediction values the stag at its exact share."""
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
