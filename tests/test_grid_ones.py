"""Grids by where their ones are (GridCore.grid_ones), the first FC layer that reads them, and the
search models that use it: equal to the dense grids and networks."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from controllers.mcts_actor import MCTSActor
from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore
from helpers import make_args
from modules.grid_ones_linear import GridOnesLinear
from planners.mcts import BatchedMCTS, SearchSettings
from planners.tree_goals import DiscreteTreeGoals


def _played(core_cls, steps=12, **env_args):
    """A core of 6 envs after random steps (some agents left, some prey captured)."""
    core = core_cls(6, seed=0, **env_args)
    core.reset(np.arange(6))
    rng = np.random.default_rng(1)
    for _ in range(steps):
        avail = core.avail_actions()
        core.step((rng.random(avail.shape) * avail).argmax(axis=2))
    return core


@pytest.mark.parametrize("core_cls, n_walls", [(StagHuntCore, 2), (SnowdriftCore, 2), (StagHuntCore, 0)])
def test_grid_ones_rebuild_state_and_observations(core_cls, n_walls):
    core = _played(core_cls, grid_size=6, n_walls=n_walls)
    assert not core.alive.all() or not core.prey_alive.all()
    envs, slots = np.array([0, 2, 2, 5, 3, 1]), np.array([1, 0, 3, 2, 0, 3])
    np.testing.assert_array_equal(core.grid_ones(envs).dense(), core.state_observation(envs))
    np.testing.assert_array_equal(core.grid_ones(envs, slots).dense(), core.observations(envs, slots))


def test_grid_ones_has_no_egocentric_observations():
    core = _played(StagHuntCore, steps=0, grid_size=6, obs_radius=1)
    with pytest.raises(ValueError, match="egocentric"):
        core.grid_ones(np.array([0]), np.array([0]))


def test_grid_ones_linear_equals_the_layer_and_follows_training_steps():
    core = _played(StagHuntCore, grid_size=6, n_walls=2)
    envs, slots = np.arange(6), np.array([0, 1, 2, 3, 0, 1])
    ones, grids = core.grid_ones(envs, slots), torch.from_numpy(core.observations(envs, slots)).flatten(1)
    time, slot = torch.rand(6, 1), torch.from_numpy(slots)
    torch.manual_seed(0)
    layer = nn.Linear(grids.shape[1] + 1 + 4, 8)
    first = GridOnesLinear(layer, ones.size)
    cells = torch.from_numpy(ones.cells)
    for _ in range(2):
        dense = layer(torch.cat([grids, time, nn.functional.one_hot(slot, 4).float()], dim=1))
        torch.testing.assert_close(first(cells, time, slot), dense)
        with torch.no_grad():
            layer.weight.mul_(-2.0)  # an in-place update, as an optimiser step does


def test_search_models_read_grid_ones_like_grids():
    args = make_args("hop", "stag_hunt", roles=["hop"] * 4)
    models = MCTSActor(args).models
    assert models.sparse_inputs
    core = _played(StagHuntCore, n_walls=3)
    envs, slots = np.repeat(np.arange(6), 2), np.tile([0, 3], 6)
    time = core.time()[envs]
    for got, want in zip(models.prior_value(core.grid_ones(envs, slots), time, slots),
                         models.prior_value(core.observations(envs, slots), time, slots)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(models.coplayer_logits(core.grid_ones(envs), time),
                               models.coplayer_logits(core.state_observation(envs), time), rtol=1e-5, atol=1e-6)
    assert not MCTSActor(make_args("hop", "stag_hunt", roles=["hop"] * 4, conv_channels=[8])).models.sparse_inputs


def test_set_state_without_copy_adopts_the_snapshot():
    core = _played(StagHuntCore, steps=3)
    copied, adopted = StagHuntCore(1, **core.args), StagHuntCore(1, **core.args)
    copied.set_state(core.get_state())
    snapshot = core.get_state()
    adopted.set_state(snapshot, copy=False)
    assert adopted.agent_pos is snapshot.agent_pos
    actions = np.full((6, 4), 4)
    np.testing.assert_array_equal(copied.step(actions)[0], adopted.step(actions)[0])
    np.testing.assert_array_equal(copied.observations(), adopted.observations())


def test_egocentric_observations_keep_dense_priors_and_the_states_go_sparse():
    args = make_args("hop", "stag_hunt_small", roles=["hop"] * 4, env_args__obs_radius=1)
    models = MCTSActor(args).models
    core = _played(StagHuntCore, steps=4, grid_size=4, n_walls=0, obs_radius=1)
    envs = np.arange(6)
    time = core.time()
    np.testing.assert_allclose(models.coplayer_logits(core.grid_ones(envs), time),
                               models.coplayer_logits(core.state_observation(envs), time), rtol=1e-5, atol=1e-6)
    search = BatchedMCTS(core, models, SearchSettings(8, 2, 1.0, 0.95))
    assert not search.sparse
    live = np.flatnonzero(core.alive[:, 0] & ~core.done)[:2]
    goals = DiscreteTreeGoals(models.coplayer_logits, np.zeros((len(live), 2, 4), dtype=np.int64), models.sparse_inputs)
    result = search.search(core, live, np.zeros(len(live), dtype=np.int64), goals, torch.Generator().manual_seed(0))
    assert (result.visits.sum(axis=-1) == 8).all()
