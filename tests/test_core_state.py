"""Seeding, get_state/set_state replay, and env_args errors of the batched grid cores."""
import dataclasses

import numpy as np
import pytest

from envs.env_args import EnvArgsError
from envs.snowdrift import SnowdriftCore
from envs.stag_hunt import StagHuntCore

ARRAYS = ("walls", "agent_pos", "alive", "prey_pos", "prey_kind", "prey_alive", "t", "terminated", "truncated")


def random_actions(core, rng):
    """Uniform random available action per agent."""
    avail = core.avail_actions()
    return (rng.random(avail.shape) * avail).argmax(axis=2)


def rollout(core, rng, n_steps):
    """Steps with random available actions; returns the stacked (obs, rewards, done) per step."""
    out = []
    for _ in range(n_steps):
        rewards, term, trunc = core.step(random_actions(core, rng))
        out.append((core.observations(), rewards, term | trunc))
    return out


def assert_same_arrays(a, b):
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("core_cls", [StagHuntCore, SnowdriftCore])
def test_same_seed_same_episode_and_independent_of_batch_size(core_cls):
    a, b = core_cls(3, n_walls=4), core_cls(1, n_walls=4)
    a.reset([5, 6, 7])
    b.reset([6])
    np.testing.assert_array_equal(a.walls[1], b.walls[0])
    np.testing.assert_array_equal(a.agent_pos[1], b.agent_pos[0])
    np.testing.assert_array_equal(a.prey_pos[1], b.prey_pos[0])
    assert not np.array_equal(a.agent_pos[0], a.agent_pos[2])


def test_env_args_seed_seeds_env_b_with_seed_plus_b_and_later_resets_continue():
    a, b = StagHuntCore(2, seed=10), StagHuntCore(2)
    a.reset()
    b.reset([10, 11])
    assert_same_arrays(a, b)
    first = a.agent_pos.copy()
    a.reset()
    b.reset()
    assert_same_arrays(a, b)
    assert not np.array_equal(first, a.agent_pos)


@pytest.mark.parametrize("core_cls", [StagHuntCore, SnowdriftCore])
def test_set_state_replays_exactly(core_cls):
    core = core_cls(4, seed=1)
    core.reset()
    rollout(core, np.random.default_rng(0), 5)
    snap = core.get_state()
    expected = rollout(core, np.random.default_rng(1), 10)
    core.reset()  # scramble, then restore twice from the same snapshot
    for _ in range(2):
        core.set_state(snap)
        got = rollout(core, np.random.default_rng(1), 10)
        for (o1, r1, d1), (o2, r2, d2) in zip(expected, got):
            np.testing.assert_array_equal(o1, o2)
            np.testing.assert_array_equal(r1, r2)
            np.testing.assert_array_equal(d1, d2)


def test_get_state_is_a_deep_copy_including_rng():
    core = StagHuntCore(2, seed=3)
    core.reset()
    snap = core.get_state()
    core.agent_pos[:] = 0
    core.walls[:] = True
    core.reset()  # advances the RNGs
    after_reset = core.get_state()
    core.set_state(snap)
    assert snap.agent_pos.sum() > 0 and not snap.walls.all()
    core.agent_pos[:] = 0
    assert snap.agent_pos.sum() > 0  # restoring copies again
    core.reset()
    assert_same_arrays(core, after_reset)


def test_get_state_index_repeats_envs_and_set_state_resizes():
    core = StagHuntCore(2, seed=4)
    core.reset()
    rollout(core, np.random.default_rng(0), 3)
    index = np.array([0, 0, 0, 1, 1, 1])
    snap = core.get_state(index)
    assert snap.batch_size == 6
    clone = StagHuntCore(1, seed=4)
    clone.set_state(snap)
    assert clone.batch_size == 6 and clone.agent_pos.shape == (6, 4, 2) and len(clone.rng) == 6
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(clone, name), getattr(core, name)[index], err_msg=name)
    actions = random_actions(core, np.random.default_rng(9))
    rewards, _, _ = core.step(actions)
    clone_rewards, _, _ = clone.step(actions[index])
    np.testing.assert_array_equal(clone_rewards, rewards[index])
    np.testing.assert_array_equal(clone.observations(), core.observations()[index])
    clone.reset()
    core.reset()
    np.testing.assert_array_equal(clone.walls, core.walls[index])  # RNG states were copied per env


@pytest.mark.parametrize("core_cls", [StagHuntCore, SnowdriftCore])
def test_snapshot_tables_are_shared_and_a_snapshot_without_them_restores_the_same(core_cls):
    core = core_cls(3, seed=2)
    core.reset()
    rollout(core, np.random.default_rng(0), 25)
    snap = core.get_state()
    assert not snap.prey_alive.all()  # captured prey: the tables stay as built, prey_alive tells
    assert snap.tables is core.get_state().tables  # never mutated, so shared rather than copied
    tables = (snap.tables.cell_avail.copy(), snap.tables.cell_prey.copy())
    bare = core_cls(1)
    bare.set_state(dataclasses.replace(snap, tables=None))  # rebuilt from the walls and prey
    core.set_state(snap)
    np.testing.assert_array_equal(bare.avail_actions(), core.avail_actions())
    np.testing.assert_array_equal(bare.state_observation(), core.state_observation())
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    for (o1, r1, d1), (o2, r2, d2) in zip(rollout(core, rng_a, 8), rollout(bare, rng_b, 8)):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(snap.tables.cell_avail, tables[0])
    np.testing.assert_array_equal(snap.tables.cell_prey, tables[1])


@pytest.mark.parametrize("obs_radius", [None, 1])
def test_observations_of_selected_envs_and_slots(obs_radius):
    core = StagHuntCore(4, seed=6, obs_radius=obs_radius)
    core.reset()
    rollout(core, np.random.default_rng(1), 5)
    envs, slots = np.array([2, 0, 2, 3]), np.array([1, 3, 0, 0])
    np.testing.assert_array_equal(core.observations(envs, slots), core.observations()[envs, slots])
    np.testing.assert_array_equal(core.observations(envs), core.observations()[envs])
    np.testing.assert_array_equal(core.state_observation(envs), core.state_observation()[envs])


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_agent=3), r"unknown env_args key 'n_agent'; did you mean n_agents"),
    (dict(episode_limt=3), r"did you mean episode_limit"),
    (dict(n_agents="4"), r"env_args.n_agents = '4' is invalid: expected an int >= 1"),
    (dict(n_agents=0), r"n_agents = 0 is invalid"),
    (dict(n_walls=-1), r"n_walls = -1 is invalid: expected an int >= 0"),
    (dict(grid_size=[4]), r"grid_size = \[4\] is invalid: expected an int >= 1 or \[height, width\]"),
    (dict(stag_reward=True), r"stag_reward = True is invalid: expected a finite number"),
    (dict(obs_radius=-1), r"obs_radius = -1 is invalid"),
    (dict(seed=1.5), r"seed = 1.5 is invalid"),
    (dict(layout="1.S"), r"layout = '1.S' is invalid: expected null or a non-empty list"),
    (dict(grid_size=3), r"grid 3x3 is too small for 4 agents, 5 prey and 5 wall pieces"),
    (dict(n_stags=0, n_hares=0), r"no prey"),
    (dict(n_agents=2, layout=["1X2S"]),
     r"unknown character 'X' in env_args.layout at row 0, col 1; allowed characters: \. # S H 1 2"),
    (dict(n_agents=2, layout=["1.S", "2."]), r"rows must have equal length: row 0 has 3 characters, row 1 has 2"),
    (dict(n_agents=2, layout=["1.S", "..."]), r"exactly n_agents = 2 agents .* missing digit\(s\) 2"),
    (dict(n_agents=2, layout=["123", "S.."]), r"agent digit '3' at row 0, col 2 but n_agents = 2"),
    (dict(n_agents=2, layout=["121", "S.."]), r"places agent 1 twice"),
    (dict(n_agents=2, layout=["12", ".."]), r"layout places no prey"),
])
def test_bad_env_args_give_clear_errors(kwargs, message):
    with pytest.raises(EnvArgsError, match=message):
        StagHuntCore(1, **kwargs)


def test_bad_calls_give_clear_errors():
    core = StagHuntCore(2)
    with pytest.raises(RuntimeError, match="reset"):
        core.step(np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="needs 2 non-negative ints"):
        core.reset([1])
    with pytest.raises(EnvArgsError, match="batch_size"):
        StagHuntCore(0)
    with pytest.raises(ValueError, match="set_state got a snapshot whose walls has shape"):
        core.set_state(StagHuntCore(1, grid_size=6, n_walls=0).get_state())
