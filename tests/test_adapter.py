"""PettingZooAdapter (any ParallelEnv -> batched env API) and CoreEnv."""
import numpy as np
import pytest

from envs import stag_hunt
from envs.grid_core import STAY
from envs.multiagentenv import CoreEnv
from envs.pettingzoo_adapter import PettingZooAdapter
from envs.stag_hunt import HARE, StagHuntCore

RIGHT = 3
LAYOUT = ["1H.", "..2", "S.."]


def random_available(avail: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(np.where(avail, rng.random(avail.shape), -1.0), axis=-1)


def test_pursuit_from_pettingzoo_package():
    pytest.importorskip("pygame")  # every env shipped with pettingzoo 1.27 imports pygame
    from pettingzoo.sisl import pursuit_v5

    env = PettingZooAdapter(lambda: pursuit_v5.parallel_env(max_cycles=4), batch_size=2,
                            noop_action=4, episode_limit=4)
    info = env.get_env_info()
    assert info == {"n_agents": 8, "n_actions": 5, "obs_shape": (7, 7, 3), "state_shape": (16, 16, 3),
                    "episode_limit": 4}
    env.reset(seeds=[0, 1])
    assert env.get_obs().shape == (2, 8, 7, 7, 3) and env.get_alive().all() and env.get_avail_actions().all()
    rng = np.random.default_rng(0)
    while not env.done.all():
        rewards, terminated, truncated = env.step(random_available(env.get_avail_actions(), rng))
        assert rewards.shape == (2, 8) and rewards.dtype == np.float32
    assert truncated.all() and not terminated.any()
    np.testing.assert_allclose(env.get_time(), 1.0)
    assert env.get_state().shape == (2, 16, 16, 3)


def test_grid_parallel_env_through_adapter_matches_core_env():
    adapter = PettingZooAdapter(lambda: stag_hunt.parallel_env(n_agents=2, layout=LAYOUT, episode_limit=4),
                                batch_size=2, noop_action=STAY)
    core_env = CoreEnv(StagHuntCore, 2, n_agents=2, layout=LAYOUT, episode_limit=4)
    assert adapter.get_env_info() == core_env.get_env_info()
    adapter.reset([0, 1])
    core_env.reset([0, 1])
    for actions in ([[RIGHT, STAY], [STAY, STAY]], [[HARE, STAY], [STAY, STAY]], [[STAY, STAY], [STAY, STAY]]):
        np.testing.assert_array_equal(adapter.get_avail_actions(), core_env.get_avail_actions())
        got = adapter.step(np.array(actions))
        want = core_env.step(np.array(actions))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(adapter.get_state(), core_env.get_state())
    np.testing.assert_array_equal(adapter.get_alive(), [[False, True], [True, True]])
    obs = adapter.get_obs()
    assert (obs[0, 0] == 0).all() and obs[0, 1].any()  # the agent that left sees zeros
    np.testing.assert_array_equal(obs[1], core_env.get_obs()[1])
    avail = adapter.get_avail_actions()
    assert avail[0, 0].tolist() == [a == STAY for a in range(7)]
    with pytest.raises(ValueError, match=r"env 0, agent agent_0 \(slot 0\), step 3: action 3"):
        adapter.step(np.array([[RIGHT, STAY], [STAY, STAY]]))
    rewards, terminated, truncated = adapter.step(np.full((2, 2), STAY))
    assert (rewards == 0).all() and truncated.all() and not terminated.any() and adapter.done.all()


def test_flattened_observations_and_env_fn_list():
    fns = [lambda s=s: stag_hunt.parallel_env(grid_size=4, n_walls=0, seed=s) for s in range(3)]
    env = PettingZooAdapter(fns, flatten_obs=True)
    assert env.batch_size == 3 and env.episode_limit == 35
    env.reset()
    core = env.envs[0].core
    assert env.get_obs().shape == (3, 4, int(np.prod(core.obs_shape)))
    np.testing.assert_array_equal(env.get_obs()[0, 2], core.observations()[0, 2].ravel())


def test_adapter_rejects_bad_input():
    with pytest.raises(ValueError, match="batch_size=3 for 2 env factories"):
        PettingZooAdapter([stag_hunt.parallel_env] * 2, batch_size=3)
    with pytest.raises(ValueError, match="noop_action=9"):
        PettingZooAdapter(lambda: stag_hunt.parallel_env(), noop_action=9)
    env = PettingZooAdapter(lambda: stag_hunt.parallel_env(), batch_size=2)
    with pytest.raises(ValueError, match="1 seeds for 2 envs"):
        env.reset([1])
