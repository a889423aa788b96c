"""Markov Snowdrift rules (docs/design.md: Markov Snowdrift) on hand-made layouts."""
import numpy as np
import pytest

from envs.snowdrift import REMOVE, SnowdriftCore

UP, DOWN, LEFT, RIGHT, STAY = 0, 1, 2, 3, 4


def make(layout, n_agents, **kw):
    core = SnowdriftCore(1, n_agents=n_agents, layout=layout, **kw)
    core.reset()
    return core


def step(core, *actions):
    return core.step(np.array([actions]))


def test_remove_is_available_only_on_a_drift():
    core = make(["1D", "2.", "D3"], 3)
    assert core.n_actions == 6 and core.action_names[REMOVE] == "REMOVE"
    step(core, RIGHT, STAY, STAY)
    assert core.avail_actions()[0, :, REMOVE].tolist() == [True, False, False]


def test_lone_remover_nets_two_and_bystanders_get_six():
    core = make(["1D.", "2.3", "D.."], 3)
    step(core, RIGHT, STAY, STAY)
    rewards, term, _ = step(core, REMOVE, STAY, STAY)
    assert rewards[0].tolist() == [2.0, 6.0, 6.0]
    assert core.alive[0].all() and core.prey_alive[0].tolist() == [False, True] and not term[0]
    assert core.avail_actions()[0, 0, :5].any()  # the remover stays in the game


def test_two_co_removers_get_four_each():
    core = make(["1D2", "3..", "D.."], 3)
    step(core, RIGHT, LEFT, STAY)
    rewards, _, _ = step(core, REMOVE, REMOVE, STAY)
    assert rewards[0].tolist() == [4.0, 4.0, 6.0]


def test_two_drifts_removed_in_one_step_add_up_and_last_drift_terminates():
    core = make(["1D", "2D", "3."], 3)
    step(core, RIGHT, RIGHT, STAY)
    rewards, term, trunc = step(core, REMOVE, REMOVE, STAY)
    assert rewards[0].tolist() == [8.0, 8.0, 12.0]
    assert term.tolist() == [True] and trunc.tolist() == [False] and core.alive[0].all()


def test_truncation_at_episode_limit():
    core = make(["1D", "2."], 2, episode_limit=3)
    for _ in range(2):
        _, term, trunc = step(core, STAY, STAY)
        assert not term[0] and not trunc[0]
    _, term, trunc = step(core, STAY, STAY)
    assert term.tolist() == [False] and trunc.tolist() == [True]


def test_observation_channels_agents_walls_drifts():
    core = make(["1#", "D2"], 2)
    obs, state = core.observations()[0], core.state_observation()[0]
    assert obs.shape == (2, 4, 2, 2) and core.obs_shape == (4, 2, 2)
    assert obs[1, 0].tolist() == [[0, 0], [0, 1]] and obs[1, 1].tolist() == [[1, 0], [0, 0]]
    assert state[0].tolist() == [[1, 0], [0, 0]] and state[2].tolist() == [[0, 1], [0, 0]]
    assert state[3].tolist() == [[0, 0], [1, 0]]


def test_stag_hunt_layout_chars_are_rejected():
    with pytest.raises(ValueError, match=r"unknown character 'S' .* row 0, col 1; allowed characters: \. # D 1 2"):
        SnowdriftCore(1, n_agents=2, layout=["1S2"])


def test_random_snowdrift_maps():
    core = SnowdriftCore(8, seed=0)
    core.reset()
    assert not core.walls.any() and core.prey_pos.shape == (8, 6, 2) and (core.prey_kind == 0).all()
