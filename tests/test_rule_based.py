"""Rule-based co-players (docs/design.md: Rule-based co-players) on hand-made layouts."""
from collections import deque

import numpy as np
import pytest

from envs import rule_based
from envs.grid_core import STAY
from envs.multiagentenv import CoreEnv
from envs.snowdrift import REMOVE, SnowdriftCore
from envs.stag_hunt import HARE, STAG, StagHuntCore

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def bfs(walls: np.ndarray, targets: list) -> np.ndarray:
    """Plain queue BFS, for checking the vectorised distance field."""
    h, w = walls.shape
    dist = np.full((h, w), h * w)
    queue = deque()
    for r, c in targets:
        dist[r, c] = 0
        queue.append((r, c))
    while queue:
        r, c = queue.popleft()
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < h and 0 <= nc < w and not walls[nr, nc] and dist[nr, nc] > dist[r, c] + 1:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def play(env: CoreEnv, policies: list) -> list:
    """Run policies (one per slot) to the end; return the list of joint actions."""
    history = []
    while not env.done.all():
        actions = np.concatenate([p.act(env, [i]) for i, p in enumerate(policies)], axis=1)
        assert np.take_along_axis(env.get_avail_actions(), actions[..., None], 2).all()
        history.append(actions)
        env.step(actions)
    return history


def test_distance_field_matches_plain_bfs():
    rng = np.random.default_rng(0)
    walls = rng.random((20, 7, 9)) < 0.3
    targets = (rng.random((20, 7, 9)) < 0.05) & ~walls
    field = rule_based.distance_field(walls, targets)
    assert field.shape == (20, 9, 11)
    assert (field[:, 0] == 63).all() and (field[:, :, -1] == 63).all()
    for b in range(20):
        expected = bfs(walls[b], list(zip(*np.nonzero(targets[b]))))
        expected[walls[b]] = 63
        np.testing.assert_array_equal(field[b, 1:-1, 1:-1], expected)


WALL_LAYOUT = ["1.#.S",
               ".##..",
               ".....",
               "....2"]


def test_ns_walks_shortest_path_around_wall_and_hunts_with_partner():
    env = CoreEnv(StagHuntCore, 1, n_agents=2, layout=WALL_LAYOUT, seed=3)
    env.reset()
    dist = bfs(env.core.walls[0], [(0, 4)])
    assert dist[0, 0] == 8 and dist[3, 4] == 3
    ns = rule_based.make("stag_hunt", "NS")
    for t in range(9):
        actions = ns.act(env, np.array([0, 1]))
        pos = env.core.agent_pos[0]
        for i in range(2):
            r, c = pos[i]
            if dist[r, c] == 0:
                assert actions[0, i] == STAG  # waits on the stag for a partner
            else:
                r2, c2 = np.array([r, c]) + [(-1, 0), (1, 0), (0, -1), (0, 1)][actions[0, i]]
                assert dist[r2, c2] == dist[r, c] - 1
        rewards, terminated, _ = env.step(actions)
    assert actions.tolist() == [[STAG, STAG]]
    np.testing.assert_allclose(rewards, [[5.0, 5.0]])
    assert terminated[0]


def test_nh_picks_nearest_hare_by_path_not_manhattan():
    layout = ["H#1..H",
              ".#....",
              ".#....",
              "......"]
    env = CoreEnv(StagHuntCore, 1, n_agents=1, layout=layout, seed=0)
    env.reset()
    history = play(env, [rule_based.make("stag_hunt", "NH")])
    assert [int(a[0, 0]) for a in history] == [RIGHT, RIGHT, RIGHT, HARE]
    assert not env.core.alive[0, 0]


def test_ns_and_nd_stay_without_targets():
    env = CoreEnv(StagHuntCore, 2, n_agents=1, layout=["1.H"], seed=0)
    env.reset()
    assert (rule_based.make("stag_hunt", "NS").act(env, [0]) == STAY).all()
    env = CoreEnv(SnowdriftCore, 1, n_agents=2, layout=["1D2"], seed=0)
    env.reset()
    nd = rule_based.make("snowdrift", "ND")
    env.step(nd.act(env, [0, 1]))  # both step onto the drift
    env.step(nd.act(env, [0, 1]))  # and remove it together
    assert env.done.all() and (nd.act(env, [0, 1]) == STAY).all()


def test_capturers_and_done_envs_get_stay():
    env = CoreEnv(StagHuntCore, 1, n_agents=2, layout=["1H", "S2"], seed=0)
    env.reset()
    env.step(np.array([[RIGHT, STAY]]))
    env.step(np.array([[HARE, STAY]]))
    assert not env.core.alive[0, 0]
    for role in ("NS", "NH", "RAND"):
        assert rule_based.make("stag_hunt", role).act(env, [0])[0, 0] == STAY
    assert rule_based.make("stag_hunt", "NH").act(env, [1])[0, 0] == STAY  # no hare left
    assert rule_based.make("stag_hunt", "NS").act(env, [1])[0, 0] == LEFT


def test_nd_removes_every_drift():
    layout = ["D...D",
              ".#.#.",
              "..1..",
              "D...."]
    env = CoreEnv(SnowdriftCore, 1, n_agents=1, layout=layout, seed=1, episode_limit=50)
    env.reset()
    history = play(env, [rule_based.make("snowdrift", "ND")])
    assert env.core.terminated[0] and not env.core.prey_alive.any()
    assert sum(int(a[0, 0]) == REMOVE for a in history) == 3


def test_fix_never_removes_and_rand_only_available():
    layout = ["D.D.", ".12.", "D..D"]
    env = CoreEnv(SnowdriftCore, 64, n_agents=2, layout=layout, seed=0, episode_limit=30)
    env.reset(np.arange(64))
    fix, rand = rule_based.make("snowdrift", "FIX"), rule_based.make("snowdrift", "RAND")
    chosen = set()
    while not env.done.all():
        a_fix, a_rand = fix.act(env, [0]), rand.act(env, [1])
        assert (a_fix != REMOVE).all()
        chosen |= set(a_rand.ravel().tolist())
        env.step(np.concatenate([a_fix, a_rand], axis=1))
    assert chosen == {UP, DOWN, LEFT, RIGHT, STAY, REMOVE}


def test_rand_uses_every_available_action_uniformly():
    env = CoreEnv(StagHuntCore, 2000, n_agents=1, layout=["...", ".1H", "S.."], seed=0)
    env.reset()
    actions = rule_based.make("stag_hunt", "RAND").act(env, [0])
    counts = np.bincount(actions.ravel(), minlength=7)
    assert counts[STAG] == counts[HARE] == 0
    assert (counts[:5] > 300).all()


@pytest.mark.parametrize("env_name, core_cls", [("stag_hunt", StagHuntCore), ("snowdrift", SnowdriftCore)])
def test_deterministic_and_batched_equals_per_env(env_name, core_cls):
    roles = list(rule_based.REGISTRY[env_name])
    seeds = [11, 12, 13]

    def run(batch_seeds):
        env = CoreEnv(core_cls, len(batch_seeds))
        env.reset(batch_seeds)
        policies = [rule_based.make(env_name, roles[i % len(roles)]) for i in range(env.n_agents)]
        return play(env, policies)

    batched = run(seeds)
    assert [a.tolist() for a in batched] == [a.tolist() for a in run(seeds)]
    for b, seed in enumerate(seeds):
        alone = run([seed])
        steps = len(alone)
        assert [a[0].tolist() for a in alone] == [a[b].tolist() for a in batched[:steps]]
        assert all((a[b] == STAY).all() for a in batched[steps:])


def test_generator_passed_in_is_deterministic():
    env = CoreEnv(StagHuntCore, 8, seed=4)
    env.reset()
    first = rule_based.make("stag_hunt", "RAND", rng=np.random.default_rng(7)).act(env, np.arange(4))
    second = rule_based.make("stag_hunt", "RAND", rng=np.random.default_rng(7)).act(env, np.arange(4))
    assert first.dtype == np.int64 and first.shape == (8, 4)
    np.testing.assert_array_equal(first, second)


def test_make_rejects_unknown_names():
    with pytest.raises(ValueError, match="available roles: NS, NH, RAND"):
        rule_based.make("stag_hunt", "ND")
    with pytest.raises(ValueError, match="snowdrift, stag_hunt"):
        rule_based.make("pong", "NS")
