"""Markov Stag Hunt rules (docs/design.md: Markov Stag Hunt) on hand-made layouts, observations and random maps."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from envs.grid_core import free_cells_connected
from envs.stag_hunt import HARE, STAG, StagHuntCore

UP, DOWN, LEFT, RIGHT, STAY = 0, 1, 2, 3, 4


def make(layout, n_agents, batch_size=1, **kw):
    core = StagHuntCore(batch_size, n_agents=n_agents, layout=layout, **kw)
    core.reset()
    return core


def step(core, *actions):
    return core.step(np.array([actions]))


def test_action_availability_moves_walls_and_prey():
    core = make(["1#S", "..H", "..2"], 2)
    avail = core.avail_actions()[0].astype(int)
    #                      UP DN LF RT ST STAG HARE
    assert avail[0].tolist() == [0, 1, 0, 0, 1, 0, 0]  # off grid up/left, wall right
    assert avail[1].tolist() == [1, 0, 1, 0, 1, 0, 0]
    step(core, DOWN, UP)  # agent_1 onto the hare
    assert core.avail_actions()[0, 1].astype(int).tolist() == [1, 1, 1, 0, 1, 0, 1]
    step(core, STAY, UP)  # agent_1 onto the stag
    assert core.avail_actions()[0, 1].astype(int).tolist() == [0, 1, 0, 0, 1, 1, 0]


def test_moves_are_simultaneous_and_agents_share_and_swap_cells():
    core = make(["1.2", "...", "..S"], 2)
    step(core, RIGHT, LEFT)
    assert core.agent_pos[0].tolist() == [[0, 1], [0, 1]]
    core = make(["12.", "...", "..S"], 2)
    step(core, RIGHT, LEFT)
    assert core.agent_pos[0].tolist() == [[0, 1], [0, 0]]


def test_two_capturers_get_five_each_and_leave():
    core = make(["1S2", "H.."], 2)
    step(core, RIGHT, LEFT)
    rewards, term, trunc = step(core, STAG, STAG)
    assert rewards[0].tolist() == [5.0, 5.0]
    assert core.prey_alive[0].tolist() == [False, True]
    assert core.alive[0].tolist() == [False, False]
    assert term.tolist() == [True] and trunc.tolist() == [False]  # every agent left


def test_three_capturers_get_a_third_each():
    core = make(["1S2", ".3.", "H.."], 3)
    step(core, RIGHT, LEFT, UP)
    rewards, _, _ = step(core, STAG, STAG, STAG)
    np.testing.assert_allclose(rewards[0], [10 / 3] * 3, rtol=1e-6)


def test_lone_stag_does_nothing_and_agent_stays():
    core = make(["1S.", "H.2"], 2)
    step(core, RIGHT, STAY)
    rewards, term, _ = step(core, STAG, STAY)
    assert rewards[0].tolist() == [0.0, 0.0]
    assert core.agent_pos[0, 0].tolist() == [0, 1]
    assert core.alive[0].all() and core.prey_alive[0].all() and not term[0]


def test_two_hunters_share_a_hare_and_capturers_actions_are_ignored_after():
    core = make(["1H2", "..S", "3.."], 3)
    step(core, RIGHT, LEFT, STAY)
    rewards, _, _ = step(core, HARE, HARE, STAY)
    assert rewards[0].tolist() == [0.5, 0.5, 0.0]
    assert core.alive[0].tolist() == [False, False, True]
    assert core.prey_alive[0].tolist() == [True, False]  # prey are ordered by kind: stags first
    assert core.avail_actions()[0, :2].astype(int).tolist() == [[0, 0, 0, 0, 1, 0, 0]] * 2
    with pytest.raises(ValueError, match="agent_0.*has left"):
        step(core, DOWN, STAY, STAY)
    rewards, _, _ = step(core, STAY, STAY, UP)
    assert rewards[0].tolist() == [0.0, 0.0, 0.0]
    assert core.agent_pos[0, :2].tolist() == [[0, 1], [0, 1]]
    state = core.state_observation()[0]
    assert state[:2].sum() == 0 and state[2, 1, 0] == 1  # left agents are not drawn


def test_one_hunter_gets_the_whole_hare_and_capture_of_last_prey_terminates():
    core = make(["1H.", "..2"], 2)
    step(core, RIGHT, STAY)
    rewards, term, trunc = step(core, HARE, STAY)
    assert rewards[0].tolist() == [1.0, 0.0]
    assert term.tolist() == [True] and trunc.tolist() == [False] and core.done.tolist() == [True]


def test_truncation_at_episode_limit_and_done_envs_ignore_steps():
    core = make(["1.S", "H.2"], 2, episode_limit=2)
    assert step(core, STAY, STAY)[1:] == (np.array([False]), np.array([False]))
    rewards, term, trunc = step(core, STAY, STAY)
    assert term.tolist() == [False] and trunc.tolist() == [True]
    assert core.time().tolist() == [1.0]
    rewards, term, trunc = step(core, STAY, STAY)
    assert core.t.tolist() == [2] and rewards.sum() == 0 and trunc.tolist() == [True]
    with pytest.raises(ValueError, match="episode is over"):
        step(core, RIGHT, STAY)


def test_termination_wins_over_truncation_at_the_last_step():
    core = make(["1H2"], 2, episode_limit=2)
    step(core, RIGHT, LEFT)
    _, term, trunc = step(core, HARE, HARE)
    assert term.tolist() == [True] and trunc.tolist() == [False]


def test_batched_envs_are_independent():
    core = make(["1H2"], 2, batch_size=2)
    core.step(np.array([[RIGHT, LEFT], [STAY, STAY]]))
    rewards, term, _ = core.step(np.array([[HARE, HARE], [RIGHT, STAY]]))
    assert rewards.tolist() == [[0.5, 0.5], [0.0, 0.0]] and term.tolist() == [True, False]
    assert core.t.tolist() == [2, 2]


def test_unavailable_action_error_names_env_agent_step_and_action():
    core = make(["1S2", "H.."], 2, batch_size=2)
    core.step(np.array([[RIGHT, STAY], [RIGHT, STAY]]))
    with pytest.raises(ValueError, match=r"env 1, agent_1 at step t=1: action STAG \(5\) is unavailable"):
        core.step(np.array([[STAY, STAY], [STAY, STAG]]))
    with pytest.raises(ValueError, match=r"agent_0 .*UP \(0\)"):
        core.step(np.array([[UP, STAY], [STAY, STAY]]))
    with pytest.raises(ValueError, match=r"action out of range \(9\)"):
        core.step(np.array([[9, STAY], [STAY, STAY]]))
    with pytest.raises(ValueError, match="shape"):
        core.step(np.array([STAY, STAY]))
    assert core.t.tolist() == [1, 1]  # a rejected step changes nothing


def test_observation_channels_are_ego_first_and_state_is_global():
    core = make(["1.#", "2S.", "H.3"], 3)
    obs, state = core.observations()[0], core.state_observation()[0]
    pos = {0: (0, 0), 1: (1, 0), 2: (2, 2)}
    assert obs.shape == (3, 6, 3, 3) and obs.dtype == np.float32 and core.obs_shape == (6, 3, 3)
    for i in range(3):
        for c in range(3):
            expected = np.zeros((3, 3))
            expected[pos[(i + c) % 3]] = 1
            np.testing.assert_array_equal(obs[i, c], expected)
            np.testing.assert_array_equal(state[c], np.eye(1, 9, 3 * pos[c][0] + pos[c][1]).reshape(3, 3))
        np.testing.assert_array_equal(obs[i, 3:], state[3:])
    assert state[3].tolist() == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert state[4].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert state[5].tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0]]


def test_partial_view_is_egocentric_with_outside_as_wall():
    core = make(["1.#.", ".S..", "H..2"], 2, obs_radius=1)
    obs = core.observations()[0]
    assert obs.shape == (2, 5, 3, 3) and core.obs_shape == (5, 3, 3) and core.state_shape == (5, 3, 4)
    # agent_0 at (0, 0): the row above and column left are outside -> wall
    assert obs[0, 0].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert obs[0, 2].tolist() == [[1, 1, 1], [1, 0, 0], [1, 0, 0]]
    assert obs[0, 3].tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]
    assert obs[0, 1].sum() == 0  # agent_1 is out of view
    # agent_1 at (2, 3): sees the wall cell? no, (0, 2) is two rows up; sees bottom/right outside
    assert obs[1, 0].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert obs[1, 2].tolist() == [[0, 0, 1], [0, 0, 1], [1, 1, 1]]
    assert obs[1, 4].sum() == 0 and obs[1, 3].sum() == 0


def test_time_is_normalised():
    core = make(["1.S", "H.2"], 2, episode_limit=4)
    step(core, STAY, STAY)
    assert core.time().dtype == np.float32 and core.time().tolist() == [0.25]


def test_random_maps_have_the_requested_objects():
    core = StagHuntCore(64, seed=3)
    core.reset()
    assert (core.walls.sum(axis=(1, 2)) >= 15).all() and (core.walls.sum(axis=(1, 2)) <= 20).all()
    assert core.prey_kind[0].tolist() == [0, 1, 1, 1, 1] and core.prey_alive.all() and core.alive.all()
    cells = np.concatenate([core.prey_pos, core.agent_pos], axis=1)
    flat = cells[..., 0] * 8 + cells[..., 1]
    assert all(len(set(row)) == 9 for row in flat.tolist())
    assert not core.walls[np.arange(64)[:, None], cells[..., 0], cells[..., 1]].any()
    assert free_cells_connected(core.walls).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n_walls=st.integers(0, 7), height=st.integers(5, 9), width=st.integers(5, 9))
def test_random_walls_keep_free_cells_connected(seed, n_walls, height, width):
    n_walls = min(n_walls, height * width // 12)  # at most about a third of the cells are walls
    core = StagHuntCore(2, n_walls=n_walls, grid_size=[height, width], seed=seed)
    core.reset()
    assert free_cells_connected(core.walls).all()
    sizes = core.walls.sum(axis=(1, 2))
    assert ((sizes >= 3 * n_walls) & (sizes <= 4 * n_walls)).all()


def test_free_cells_connected_detects_a_split_grid():
    walls = np.zeros((2, 4, 4), dtype=bool)
    walls[1, :, 2] = True
    assert free_cells_connected(walls).tolist() == [True, False]
