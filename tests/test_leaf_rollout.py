"""The search's own leaf rollouts (``mcts_rollout_depth``) against hand-computed returns."""
import numpy as np
import pytest
import torch

from envs.stag_hunt import STAG, StagHuntCore
from planners.leaf_rollout import LeafRollout
from planners.rule_goals import RuleTreeGoals

RIGHT, STAG_GOAL, HARE_GOAL = 3, 0, 1
CORRIDOR = ["........", "H1..S..2", "........"]   # stag three moves from both; the hare one from agent 1
STAG_REWARD, HARE_REWARD, GAMMA = 5.0, 1.0, 0.95


class StagSeekerPrior:
    """Prior that takes the stag when it can and otherwise moves right (deterministic in the
    corridor: it is the NS rule for agent 1 there); a constant value for bootstraps."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def prior_value(self, obs, time, slot):
        logits = np.full((len(time), 7), -1e9)
        logits[:, STAG], logits[:, RIGHT] = 0.0, -200.0
        return logits, np.full(len(time), self.value)


def _corridor():
    core = StagHuntCore(1, n_agents=2, layout=CORRIDOR, seed=0)
    core.reset([0])
    return core


def _rollout(depth, goal, value=0.0):
    core = _corridor()
    models = StagSeekerPrior(value)
    goals = RuleTreeGoals(np.full((1, 1, 2), goal), ("NS", "NH"))
    goals.begin(1, 1, core, np.array([0]), 2, None)
    rollout = LeafRollout(core, depth, GAMMA)
    logits, _ = models.prior_value(None, np.zeros(1), np.zeros(1))
    return rollout.values(core, np.array([0]), np.array([0]), logits,
                          lambda sim, rows, slots: models.prior_value(None, sim.time()[rows], slots),
                          lambda sim, rows: goals.coplayer_logits(sim, rows, np.zeros(len(rows), dtype=int), rows),
                          torch.Generator().manual_seed(0))[0]


def test_full_rollout_is_the_discounted_stag_return_when_the_partner_hunts_it():
    # three moves right, then STAG together with the NS partner at step 4: 0.95^3 * 5
    assert _rollout(35, STAG_GOAL) == pytest.approx(GAMMA ** 3 * STAG_REWARD)


def test_rollout_is_zero_when_the_partner_takes_a_hare():
    # the NH partner runs to the hare; alone on the stag the planner never captures it (and
    # without bootstrap value nothing comes back)
    assert _rollout(35, HARE_GOAL) == 0.0


def test_short_rollout_bootstraps_with_the_value_network():
    # two steps right, no reward yet, then the value network's 0.7 at the third state
    assert _rollout(2, STAG_GOAL, value=0.7) == pytest.approx(GAMMA ** 2 * 0.7)
    # the rollout that ends in a capture stops there: no bootstrap after the agent left
    assert _rollout(10, STAG_GOAL, value=0.7) == pytest.approx(GAMMA ** 3 * STAG_REWARD)


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth >= 1"):
        LeafRollout(_corridor(), 0, GAMMA)


def test_hop_config_key_turns_the_searchs_rollouts_on():
    from helpers import make_experiment
    small = dict(num_simulations=6, tree_num=2, batch_size_run=2, buffer_size=4, batch_size=4,
                 env_args__episode_limit=6, az_epochs=1, coplayer_epochs=1)
    exp = make_experiment("hop", roles=["hop", "NS", "NH", "hop"], mcts_rollout_depth=3, **small)
    exp.train_step()
    rollout = exp.mac.actor.planner.rollout
    assert rollout.depth == 3 and rollout.core.t.max() > 0          # leaves were rolled out in its own core
    assert make_experiment("hop", **small).mac.actor.settings.rollout_depth == 0   # default: the value network
