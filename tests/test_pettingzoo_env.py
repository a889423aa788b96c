"""PettingZoo ParallelEnv faces of stag hunt and snowdrift (docs/design.md: Environments, item 2)."""
import warnings

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from envs import snowdrift, stag_hunt
from envs.grid_core import STAY
from envs.stag_hunt import HARE

RIGHT = 3


@pytest.mark.parametrize("module", [stag_hunt, snowdrift])
@pytest.mark.parametrize("kwargs", [{}, {"obs_radius": 1, "n_agents": 2}])
def test_parallel_api_test(module, kwargs):
    env = module.parallel_env(seed=0, **kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", module=r"pettingzoo\.test")  # its warnings flag API mistakes
        parallel_api_test(env, num_cycles=200)


@pytest.mark.parametrize("module", [stag_hunt, snowdrift])
def test_observation_dict_and_spaces(module):
    env = module.parallel_env(seed=1, render_mode="rgb_array")
    obs, infos = env.reset(seed=1)
    core = env.core
    assert env.possible_agents == [f"agent_{i}" for i in range(core.n_agents)] == env.agents
    assert env.metadata["render_modes"] == ["rgb_array"] and env.metadata["is_parallelizable"]
    for name, o in obs.items():
        assert set(o) == {"observation", "action_mask", "time"}
        assert o["observation"].dtype == np.float32 and o["observation"].shape == core.obs_shape
        assert o["action_mask"].dtype == np.int8 and o["action_mask"].shape == (core.n_actions,)
        assert o["time"].dtype == np.float32 and o["time"].shape == (1,)
        assert env.observation_space(name).contains(o)
        assert infos[name] == {}
    assert env.state().shape == env.state_space.shape and env.state_space.contains(env.state())
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (core.height * 16, core.width * 16, 3)
    again, _ = env.reset(seed=1)
    np.testing.assert_array_equal(again["agent_0"]["observation"], obs["agent_0"]["observation"])


def test_agents_leave_and_truncate():
    env = stag_hunt.parallel_env(n_agents=2, layout=["1H.", "..2", "S.."], episode_limit=4)
    env.reset(seed=0)
    env.step({"agent_0": RIGHT, "agent_1": STAY})
    obs, rewards, terms, truncs, _ = env.step({"agent_0": HARE, "agent_1": STAY})
    assert rewards == {"agent_0": 1.0, "agent_1": 0.0}
    assert terms == {"agent_0": True, "agent_1": False} and not any(truncs.values())
    assert env.agents == ["agent_1"]
    with pytest.raises(ValueError, match="not in play"):
        env.step({"agent_0": STAY, "agent_1": STAY})
    env.step({"agent_1": STAY})
    obs, rewards, terms, truncs, _ = env.step({"agent_1": STAY})
    assert set(obs) == {"agent_1"}
    assert terms == {"agent_1": False} and truncs == {"agent_1": True}
    assert obs["agent_1"]["time"][0] == 1.0 and env.agents == []


def test_snowdrift_truncation_for_all_and_bad_input():
    env = snowdrift.parallel_env(grid_size=4, episode_limit=3, seed=5)
    env.reset()
    for _ in range(3):
        _, _, terms, truncs, _ = env.step({name: STAY for name in env.agents})
    assert not any(terms.values()) and all(truncs.values()) and env.agents == []
    env.reset()
    with pytest.raises(ValueError, match="missing"):
        env.step({"agent_0": STAY})
    with pytest.raises(ValueError, match="render_mode"):
        snowdrift.parallel_env(render_mode="human")
    with pytest.warns(UserWarning, match="render_mode"):
        assert snowdrift.parallel_env().render() is None
