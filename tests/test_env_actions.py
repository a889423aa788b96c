"""Every env API rejects an action that is not an integer in range, naming agent, step and value."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs import REGISTRY, stag_hunt
from envs.multiagentenv import CoreEnv
from envs.pettingzoo_adapter import PettingZooAdapter
from envs.stag_hunt import StagHuntCore

LAYOUT = ["1H.", "..2", "S.."]
N_ACTIONS = StagHuntCore(batch_size=1, n_agents=2, layout=LAYOUT).n_actions


def core(batch=1):
    env = StagHuntCore(batch_size=batch, n_agents=2, layout=LAYOUT, episode_limit=10)
    env.reset()
    return env


def pymarl_env():
    env = REGISTRY["stag_hunt"](batch_size=1, n_agents=2, layout=LAYOUT, episode_limit=10)
    env.reset()
    return env


def adapter():
    env = PettingZooAdapter(lambda: stag_hunt.parallel_env(n_agents=2, layout=LAYOUT, episode_limit=10))
    env.reset()
    return env


def parallel_env():
    env = stag_hunt.parallel_env(n_agents=2, layout=LAYOUT, episode_limit=10)
    env.reset(seed=0)
    return env


BATCHED = {"core": core, "pymarl": pymarl_env, "adapter": adapter}


@pytest.mark.parametrize("api", sorted(BATCHED))
@pytest.mark.parametrize("bad, pattern", [
    ([[3.7, 4]], r"agent_0 at step t=0: action 3\.7 is not an integer; allowed: integers 0\.\.\d"),
    ([[4, 4.2]], r"agent_1 at step t=0: action 4\.2 is not an integer"),
    ([[4, 4.0]], r"agent_1 at step t=0: action 4\.0 is not an integer"),
    ([[True, 4]], r"agent_0 at step t=0: action True is not an integer"),
    ([[4, "1"]], r"agent_1 at step t=0: action '1' is not an integer"),
    ([[4, None]], r"agent_1 at step t=0: action None is not an integer"),
    (np.array([[4.0, 4.0]]), r"agent_0 at step t=0: action 4\.0 is not an integer"),
    ([[4]], r"actions need shape \(1, 2\)"),
])
def test_batched_apis_reject_non_integer_actions(api, bad, pattern):
    env = BATCHED[api]()
    with pytest.raises(ValueError, match=pattern):
        env.step(bad)


@pytest.mark.parametrize("api", ["pymarl", "adapter"])
def test_out_of_range_integer_names_agent_step_and_value(api):
    env = BATCHED[api]()
    env.step(np.array([[4, 4]]))            # STAY for both: now at step 1
    with pytest.raises(ValueError, match=r"agent_1.* (step t=1|step 1).*(99|out of range)"):
        env.step(np.array([[4, 99]]))


@pytest.mark.parametrize("action, pattern", [
    (3.99, r"agent_0 at step t=0: action 3\.99 is not an integer"),
    (np.float32(1.0), r"agent_0 at step t=0: action 1\.0 is not an integer"),
    (True, r"agent_0 at step t=0: action True is not an integer"),
    (-1, r"agent_0 at step t=0: action -1 is out of range"),
    (99, r"agent_0 at step t=0: action 99 is out of range"),
])
def test_pettingzoo_step_rejects_bad_actions(action, pattern):
    env = parallel_env()
    with pytest.raises(ValueError, match=pattern):
        env.step({"agent_0": action, "agent_1": 4})


def test_pettingzoo_accepts_numpy_integers():
    env = parallel_env()
    env.step({"agent_0": np.int64(4), "agent_1": 4})


@settings(max_examples=40, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True), slot=st.integers(0, 1), steps=st.integers(0, 3))
def test_any_float_action_is_refused_and_named(value, slot, steps):
    """Property: a float action never plays, whatever its value, and the message names its agent and step."""
    env = core()
    for _ in range(steps):
        env.step(np.array([[4, 4]]))
    actions = [[4, 4]]
    actions[0][slot] = value
    state_before = env.agent_pos.copy()
    with pytest.raises(ValueError, match=rf"agent_{slot} at step t={steps}: action .* is not an integer"):
        env.step(actions)
    assert (env.agent_pos == state_before).all() and int(env.t[0]) == steps


@settings(max_examples=40, deadline=None)
@given(value=st.integers(-10**6, 10**6).filter(lambda a: not 0 <= a < N_ACTIONS))
def test_any_out_of_range_integer_is_refused(value):
    env = CoreEnv(StagHuntCore, batch_size=1, n_agents=2, layout=LAYOUT, episode_limit=10)
    env.reset()
    with pytest.raises(ValueError, match=r"agent_0"):
        env.step(np.array([[value, 4]]))
