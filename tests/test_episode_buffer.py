"""EpisodeBatch / ReplayBuffer contract tests (docs/design.md: Episode batch and replay buffer), including hypothesis property tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from components.episode_buffer import EpisodeBatch, ReplayBuffer, SchemeKeyError
from components.transforms import OneHot

FAST = settings(max_examples=40, deadline=None)
DTYPES = [torch.float32, torch.float64, torch.long, torch.int32, torch.uint8, torch.int8, torch.bool]
N_AGENTS, N_ACTIONS = 3, 5


def small_scheme() -> dict:
    return {
        "obs": {"vshape": (2, 3), "group": "agents"},
        "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
        "reward": {"vshape": (1,)},
        "terminated": {"vshape": (1,), "dtype": torch.uint8},
        "alive": {"vshape": (1,), "group": "agents"},
        "seed": {"vshape": (1,), "dtype": torch.long, "episode_const": True},
    }


def onehot() -> dict:
    return {"actions": ("actions_onehot", [OneHot(out_dim=N_ACTIONS)])}


def make_batch(b: int = 4, t: int = 6, preprocess: dict | None = None) -> EpisodeBatch:
    return EpisodeBatch(small_scheme(), {"agents": N_AGENTS}, b, t, preprocess=preprocess)


# --------------------------------------------------------------------------- construction
vshapes = st.one_of(st.integers(1, 4), st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple))
entries = st.fixed_dictionaries(
    {"vshape": vshapes},
    optional={"group": st.just("agents"), "dtype": st.sampled_from(DTYPES), "episode_const": st.booleans()},
)
schemes = st.dictionaries(st.text("abcdefgh", min_size=1, max_size=6), entries, min_size=1, max_size=5)


@FAST
@given(scheme=schemes, n_agents=st.integers(1, 4), b=st.integers(0, 4), t=st.integers(1, 5))
def test_shapes_and_dtypes_follow_any_scheme(scheme, n_agents, b, t):
    batch = EpisodeBatch(scheme, {"agents": n_agents}, b, t)
    for key, info in scheme.items():
        vshape = (info["vshape"],) if isinstance(info["vshape"], int) else info["vshape"]
        group = (n_agents,) if "group" in info else ()
        lead = (b,) if info.get("episode_const", False) else (b, t)
        value = batch[key]
        assert tuple(value.shape) == (*lead, *group, *vshape)
        assert value.dtype == info.get("dtype", torch.float32)
        assert not value.any()
        store = batch.data.episode_data if info.get("episode_const", False) else batch.data.transition_data
        assert store[key] is value
        assert batch.scheme[key]["vshape"] == vshape
    assert batch["filled"].shape == (b, t, 1) and batch["filled"].dtype == torch.long
    assert batch.batch_size == b and batch.max_seq_length == t
    assert batch.groups == {"agents": n_agents}
    assert batch.max_t_filled() == 0


def test_scheme_property_is_normalised_and_can_be_passed_back():
    batch = make_batch(preprocess=onehot())
    scheme = batch.scheme
    assert scheme["reward"] == {"vshape": (1,), "dtype": torch.float32, "episode_const": False}
    assert scheme["actions_onehot"]["vshape"] == (N_ACTIONS,) and scheme["actions_onehot"]["group"] == "agents"
    assert scheme["filled"]["dtype"] == torch.long
    again = EpisodeBatch(scheme, batch.groups, 2, 6, preprocess=onehot())
    assert again.scheme == scheme
    scheme["reward"]["vshape"] = (7,)  # a copy: the batch is unaffected
    assert batch.scheme["reward"]["vshape"] == (1,)


@pytest.mark.parametrize(
    "scheme, groups, match",
    [
        ({"x": {"vshape": 0}}, {}, "vshape"),
        ({"x": {"vshape": (2, -1)}}, {}, "vshape"),
        ({"x": {}}, {}, "vshape"),
        ({"x": {"vshape": 1, "shape": 2}}, {}, "unknown entries"),
        ({"x": {"vshape": 1, "group": "agents"}}, {}, "group 'agents'"),
        ({"x": {"vshape": 1, "dtype": np.float32}}, {}, "torch.dtype"),
        ({"filled": {"vshape": 2}}, {}, "reserved"),
        ({"x": {"vshape": 1}}, {"agents": 0}, "groups"),
    ],
)
def test_bad_schemes_raise(scheme, groups, match):
    with pytest.raises(ValueError, match=match):
        EpisodeBatch(scheme, groups, 2, 3)


def test_bad_sizes_and_preprocess_raise():
    with pytest.raises(ValueError, match="batch_size"):
        make_batch(b=-1)
    with pytest.raises(ValueError, match="max_seq_length"):
        make_batch(t=0)
    with pytest.raises(ValueError, match="preprocess source 'act'"):
        make_batch(preprocess={"act": ("act_onehot", [OneHot(3)])})
    with pytest.raises(ValueError, match="new_key"):
        make_batch(preprocess={"actions": [OneHot(3)]})
    with pytest.raises(ValueError, match="conflicts"):
        scheme = small_scheme() | {"actions_onehot": {"vshape": 2}}
        EpisodeBatch(scheme, {"agents": N_AGENTS}, 2, 3, preprocess=onehot())
    with pytest.raises(ValueError, match="must end in 1"):
        EpisodeBatch({"a": {"vshape": 2}}, {}, 2, 3, preprocess={"a": ("b", [OneHot(3)])})
    with pytest.raises(ValueError, match="out_dim"):
        OneHot(0)


# --------------------------------------------------------------------------- update
batch_indices = st.one_of(
    st.integers(-4, 3),
    st.builds(slice, st.one_of(st.none(), st.integers(0, 4)), st.one_of(st.none(), st.integers(0, 4))),
    st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
)
time_indices = st.one_of(
    st.integers(-6, 5),
    st.builds(slice, st.one_of(st.none(), st.integers(0, 6)), st.one_of(st.none(), st.integers(0, 6))),
    st.tuples(st.integers(0, 5), st.integers(1, 6)).map(lambda p: list(range(p[0], min(6, p[0] + p[1])))),
)


def reference_rows(index, size: int) -> list[int]:
    if isinstance(index, int):
        return [index % size]
    if isinstance(index, slice):
        return list(range(size))[index]
    return list(index)


@FAST
@given(bs=batch_indices, ts=time_indices, kind=st.sampled_from(["torch", "numpy", "list"]), seed=st.integers(0, 99))
def test_update_writes_exactly_the_selected_region_and_marks_filled(bs, ts, kind, seed):
    batch = make_batch()
    rows, steps = reference_rows(bs, 4), reference_rows(ts, 6)
    gen = torch.Generator().manual_seed(seed)
    obs = torch.rand(len(rows), len(steps), N_AGENTS, 2, 3, generator=gen)
    seeds = torch.arange(len(rows)) + 10
    value = {"torch": obs, "numpy": obs.numpy(), "list": obs.tolist()}[kind]
    batch.update({"obs": value, "seed": seeds.tolist()}, bs=bs, ts=ts)

    expected = torch.zeros(4, 6, N_AGENTS, 2, 3)
    filled = torch.zeros(4, 6, 1, dtype=torch.long)
    for i, r in enumerate(rows):
        for j, s in enumerate(steps):
            expected[r, s] = obs[i, j]
            filled[r, s] = 1
    assert torch.equal(batch["obs"], expected)
    assert torch.equal(batch["filled"], filled)
    expected_seed = torch.zeros(4, 1, dtype=torch.long)
    expected_seed[rows, 0] = seeds
    assert torch.equal(batch["seed"], expected_seed)
    assert batch.max_t_filled() == (max(steps) + 1 if steps and rows else 0)


def test_int_index_keeps_its_dimension_and_size_one_dims_may_differ():
    batch = make_batch()
    batch.update({"reward": 2.5, "obs": np.ones((N_AGENTS, 2, 3))}, bs=3, ts=-1)
    assert batch["reward"][3, 5, 0] == 2.5 and batch["reward"].sum() == 2.5
    assert batch["filled"][3, 5, 0] == 1 and batch["filled"].sum() == 1
    assert batch["obs"][3, 5].sum() == N_AGENTS * 6
    batch.update({"reward": [[1.0], [2.0], [3.0], [4.0]]}, ts=0)  # [B, 1] into [B, 1, 1]
    assert batch["reward"][:, 0, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    batch.update({"alive": torch.ones(4, N_AGENTS)}, ts=1)  # [B, N] into [B, 1, N, 1]
    assert batch["alive"][:, 1].sum() == 4 * N_AGENTS


def test_update_converts_dtypes_and_array_kinds():
    batch = make_batch(preprocess=onehot())
    read_only = np.ones((4, N_AGENTS), dtype=np.float64)
    read_only.flags.writeable = False
    reversed_rows = np.arange(4 * N_AGENTS, dtype=np.int32).reshape(4, N_AGENTS)[::-1] % N_ACTIONS
    batch.update({
        "alive": read_only,
        "actions": reversed_rows,
        "terminated": np.array([True, False, True, False]),
        "obs": [torch.full((N_AGENTS, 2, 3), float(i)) for i in range(4)],
    }, ts=2)
    assert batch["alive"].dtype == torch.float32 and batch["alive"][:, 2].sum() == 4 * N_AGENTS
    assert torch.equal(batch["actions"][:, 2, :, 0], torch.from_numpy(reversed_rows.copy()).long())
    assert batch["terminated"][:, 2, 0].tolist() == [1, 0, 1, 0]
    assert batch["obs"][:, 2].sum(dim=(1, 2, 3)).tolist() == [0.0, 18.0, 36.0, 54.0]


def test_update_detaches_tensors_that_require_grad():
    batch = make_batch()
    weight = torch.ones(4, requires_grad=True)
    batch.update({"reward": weight * 2}, ts=0)
    assert not batch["reward"].requires_grad and batch["reward"].grad_fn is None
    assert batch["reward"][:, 0, 0].tolist() == [2.0] * 4


def test_preprocess_fills_onehot_on_every_update_of_the_source():
    batch = make_batch(preprocess=onehot())
    actions = torch.tensor([[0, 1, 4], [2, 2, 3], [4, 0, 1], [1, 1, 1]])
    batch.update({"actions": actions}, ts=0)
    batch.update({"actions": actions.flip(0)}, bs=[0, 1, 2, 3], ts=[3])
    expected = torch.nn.functional.one_hot(actions, N_ACTIONS).float()
    assert torch.equal(batch["actions_onehot"][:, 0], expected)
    assert torch.equal(batch["actions_onehot"][:, 3], expected.flip(0))
    assert batch["actions_onehot"][:, [1, 2, 4, 5]].sum() == 0
    assert batch["actions_onehot"].dtype == torch.float32


def test_mark_filled_rules():
    batch = make_batch()
    batch.update({"reward": torch.ones(4)}, ts=0, mark_filled=False)
    assert batch["filled"].sum() == 0
    batch.update({"seed": [1, 2, 3, 4]})  # episode-const only: no step is filled
    assert batch["filled"].sum() == 0 and batch.max_t_filled() == 0
    batch.update({"reward": torch.ones(2)}, bs=slice(1, 3), ts=4)
    assert batch["filled"][:, :, 0].nonzero().tolist() == [[1, 4], [2, 4]]
    batch.update({"filled": 0}, bs=1, ts=4)  # an explicit value wins over marking
    assert batch["filled"][:, :, 0].nonzero().tolist() == [[2, 4]]


# --------------------------------------------------------------------------- update errors
def test_unknown_key_names_the_key_lists_known_keys_and_writes_nothing():
    batch = make_batch()
    with pytest.raises(KeyError) as err:
        batch.update({"reward": torch.ones(4), "rewrad": torch.ones(4)}, ts=0)
    assert "'rewrad'" in str(err.value) and "'reward'" in str(err.value) and "'obs'" in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, SchemeKeyError)
    assert batch["reward"].sum() == 0 and batch["filled"].sum() == 0
    with pytest.raises(KeyError, match="rewrad"):
        batch["rewrad"]
    with pytest.raises(KeyError, match="rewrad"):
        batch[("reward", "rewrad")]


@pytest.mark.parametrize(
    "value, ts",
    [
        (torch.ones(4, 2, 3), 0),  # agents dim missing: 24 elements, target needs 72
        (torch.ones(4, N_AGENTS, 3, 2), 0),  # same numel, different layout
        (torch.ones(N_AGENTS, 4, 2, 3), 0),  # transposed batch/agents
        (torch.ones(4, 1, N_AGENTS, 2, 3), slice(0, 2)),  # one step for a two-step target
    ],
)
def test_shape_that_cannot_be_viewed_raises_with_key_and_shapes(value, ts):
    batch = make_batch()
    with pytest.raises(ValueError) as err:
        batch.update({"obs": value}, ts=ts)
    message = str(err.value)
    assert "'obs'" in message and str(tuple(value.shape)) in message and "expected" in message
    assert batch["filled"].sum() == 0


def test_bad_indices_raise():
    batch = make_batch()
    with pytest.raises(IndexError, match="contiguous"):
        batch.update({"reward": torch.ones(4, 2)}, ts=[0, 2])
    with pytest.raises(IndexError, match="contiguous"):
        batch.update({"reward": torch.ones(4, 2)}, ts=slice(0, 4, 2))
    with pytest.raises(IndexError, match="contiguous"):
        batch[:, [3, 2]]
    with pytest.raises(IndexError, match="out of range"):
        batch.update({"reward": 1.0}, bs=4, ts=0)
    with pytest.raises(IndexError, match="out of range"):
        batch.update({"reward": 1.0}, bs=0, ts=6)
    with pytest.raises(IndexError, match="duplicates"):
        batch.update({"reward": torch.ones(2)}, bs=[1, 1], ts=0)
    with pytest.raises(IndexError, match="no steps"):
        batch[:, 6:]
    with pytest.raises(TypeError, match="dict"):
        batch.update([("reward", 1.0)])


def test_value_conversion_errors_name_the_key():
    batch = make_batch(preprocess=onehot())
    with pytest.raises(ValueError, match="'reward'.*ragged"):
        batch.update({"reward": [[1.0], [2.0, 3.0]]}, bs=[0, 1], ts=0)
    with pytest.raises(ValueError, match="'reward'.*not numeric"):
        batch.update({"reward": ["a", "b", "c", "d"]}, ts=0)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        batch.update({"actions": torch.full((4, N_AGENTS), N_ACTIONS)}, ts=0)
    with pytest.raises(ValueError, match="derived from 'actions'"):
        batch.update({"actions_onehot": torch.zeros(4, N_AGENTS, N_ACTIONS)}, ts=0)
    assert batch["filled"].sum() == 0


# --------------------------------------------------------------------------- reading
def test_getitem_by_keys_shares_tensors_and_keeps_filled():
    batch = make_batch(preprocess=onehot())
    sub = batch[("obs", "reward")]
    assert isinstance(sub, EpisodeBatch) and set(sub.scheme) == {"obs", "reward", "filled"}
    assert sub["obs"] is batch["obs"]
    assert set(batch[["actions", "actions_onehot"]].preprocess) == {"actions"}
    assert batch[["actions"]].preprocess == {}
    sub.update({"reward": 1.0}, bs=0, ts=0)
    assert batch["reward"][0, 0, 0] == 1 and batch.max_t_filled() == 1


def test_getitem_slices_are_views_and_index_lists_are_copies():
    batch = make_batch()
    batch.update({"reward": torch.arange(24.0).view(4, 6)})
    view = batch[1:3, 2:5]
    assert (view.batch_size, view.max_seq_length) == (2, 3)
    assert torch.equal(view["reward"][..., 0], torch.arange(24.0).view(4, 6)[1:3, 2:5])
    view.update({"reward": -1.0}, bs=0, ts=0)
    assert batch["reward"][1, 2, 0] == -1
    single = batch[2]
    assert single.batch_size == 1 and single["seed"].shape == (1, 1)
    copy = batch[[3, 0]]
    assert torch.equal(copy["reward"][:, :, 0], torch.arange(24.0).view(4, 6)[[3, 0]])
    copy.update({"reward": 100.0}, bs=0, ts=0)
    assert batch["reward"][3, 0, 0] == 18
    masked = batch[torch.tensor([True, False, False, True])]
    assert torch.equal(masked["reward"], batch["reward"][[0, 3]])
    assert batch[:, 4].max_seq_length == 1


@FAST
@given(lengths=st.lists(st.integers(0, 7), min_size=1, max_size=6))
def test_max_t_filled_is_a_python_int_over_padded_episodes(lengths):
    batch = EpisodeBatch({"r": {"vshape": 1}}, {}, len(lengths), 7)
    for b, length in enumerate(lengths):
        if length:
            batch.update({"r": torch.ones(length)}, bs=b, ts=slice(0, length))
    result = batch.max_t_filled()
    assert type(result) is int and result == max(lengths)


def test_max_t_filled_counts_to_the_last_filled_step_and_empty_batches():
    batch = make_batch()
    batch.update({"reward": 1.0}, bs=1, ts=4)
    assert batch.max_t_filled() == 5
    assert make_batch(b=0).max_t_filled() == 0


def test_to_returns_self_and_repr_is_readable():
    batch = make_batch(preprocess=onehot())
    assert batch.to("cpu") is batch and batch.device == "cpu"
    text = repr(batch)
    assert "batch_size=4" in text and "max_seq_length=6" in text
    assert "obs" in text and "[4, 6, 3, 2, 3]" in text and "float32" in text and "int64" in text
    assert "obs" in batch and "nope" not in batch


# --------------------------------------------------------------------------- replay buffer
ID_SCHEME = {
    "eid": {"vshape": 1, "dtype": torch.long},
    "eid_const": {"vshape": 1, "dtype": torch.long, "episode_const": True},
}


def id_episodes(first_id: int, n: int, t: int = 4) -> EpisodeBatch:
    """n episodes whose every step and episode-const field hold their id (ids first_id..)."""
    batch = EpisodeBatch(ID_SCHEME, {}, n, t)
    ids = torch.arange(first_id, first_id + n)
    batch.update({"eid": ids.view(n, 1).expand(n, t), "eid_const": ids})
    return batch


def ids_of(batch: EpisodeBatch) -> list[int]:
    eid, const = batch["eid"][:, :, 0], batch["eid_const"][:, 0]
    assert torch.equal(eid, const.view(-1, 1).expand_as(eid)), "fields of one episode got mixed up"
    return const.tolist()


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 7), inserts=st.lists(st.integers(0, 16), min_size=1, max_size=10))
def test_ring_keeps_exactly_the_last_buffer_size_episodes(size, inserts):
    buffer = ReplayBuffer(ID_SCHEME, {}, size, 4, seed=0)
    history: list[int] = []
    for n in inserts:
        buffer.insert_episode_batch(id_episodes(len(history) + 1, n))
        history += list(range(len(history) + 1, len(history) + n + 1))
        kept = history[-size:] if history else []
        assert buffer.episodes_in_buffer == len(kept)
        assert buffer.buffer_index == len(history) % size
        ring = ids_of(buffer)  # slot j holds the episode inserted when buffer_index was j
        for k, episode in enumerate(history[-size:]):
            assert ring[(len(history) - len(kept) + k) % size] == episode
        if kept:
            assert ids_of(buffer.sample_latest(len(kept))) == kept
            n_latest = 1 + len(kept) // 2
            assert ids_of(buffer.sample_latest(n_latest)) == kept[-n_latest:]
            sample = ids_of(buffer.sample(len(kept)))
            assert sorted(sample) == sorted(kept)


def test_batch_larger_than_buffer_keeps_its_last_episodes():
    buffer = ReplayBuffer(ID_SCHEME, {}, 4, 4, seed=0)
    buffer.insert_episode_batch(id_episodes(1, 2))
    buffer.insert_episode_batch(id_episodes(3, 9))  # ids 3..11, only 8..11 survive
    assert buffer.episodes_in_buffer == 4 and buffer.buffer_index == (2 + 9) % 4
    assert ids_of(buffer.sample_latest(4)) == [8, 9, 10, 11]
    assert ids_of(buffer) == [9, 10, 11, 8]


@FAST
@given(seed=st.integers(0, 2**31), n=st.integers(1, 10))
def test_sample_is_without_replacement_and_reproducible(seed, n):
    buffers = [ReplayBuffer(ID_SCHEME, {}, 10, 4, seed=seed) for _ in range(2)]
    for buffer in buffers:
        buffer.insert_episode_batch(id_episodes(1, 10))
    draws = [[ids_of(buffer.sample(n)) for _ in range(3)] for buffer in buffers]
    assert draws[0] == draws[1]
    for ids in draws[0]:
        assert len(set(ids)) == n and set(ids) <= set(range(1, 11))


def test_sample_depends_on_seed_and_is_roughly_uniform():
    def draw(seed: int) -> list[list[int]]:
        buffer = ReplayBuffer(ID_SCHEME, {}, 50, 4, seed=seed)
        buffer.insert_episode_batch(id_episodes(1, 50))
        return [ids_of(buffer.sample(10)) for _ in range(3)]

    assert draw(1) != draw(2)
    buffer = ReplayBuffer(ID_SCHEME, {}, 4, 2, seed=3)
    buffer.insert_episode_batch(id_episodes(0, 4, t=2))
    counts = np.bincount([ids_of(buffer.sample(1))[0] for _ in range(2000)], minlength=4)
    assert counts.min() > 400  # expected 500 each


def test_samples_are_copies_and_only_come_from_occupied_slots():
    buffer = ReplayBuffer(ID_SCHEME, {}, 6, 4, seed=0)
    buffer.insert_episode_batch(id_episodes(1, 3))
    for _ in range(20):
        assert set(ids_of(buffer.sample(3))) == {1, 2, 3}
    latest, sample = buffer.sample_latest(2), buffer.sample(2)
    buffer.insert_episode_batch(id_episodes(10, 6))
    assert ids_of(latest) == [2, 3] and set(ids_of(sample)) <= {1, 2, 3}


def test_sample_errors_and_can_sample():
    buffer = ReplayBuffer(ID_SCHEME, {}, 5, 4, seed=0)
    assert not buffer.can_sample(1)
    with pytest.raises(ValueError, match="cannot take 1 episodes, the buffer holds only 0"):
        buffer.sample(1)
    buffer.insert_episode_batch(id_episodes(1, 3))
    assert buffer.can_sample(3) and not buffer.can_sample(4)
    with pytest.raises(ValueError, match="holds only 3"):
        buffer.sample(4)
    with pytest.raises(ValueError, match="sample_latest.*holds only 3"):
        buffer.sample_latest(4)
    with pytest.raises(ValueError, match="positive int"):
        buffer.sample(0)
    with pytest.raises(ValueError, match="buffer_size"):
        ReplayBuffer(ID_SCHEME, {}, 0, 4)


def test_insert_zeroes_steps_beyond_a_shorter_episode_and_checks_fields():
    buffer = ReplayBuffer(small_scheme(), {"agents": N_AGENTS}, 2, 6, preprocess=onehot(), seed=0)
    full = EpisodeBatch(small_scheme(), {"agents": N_AGENTS}, 2, 6, preprocess=onehot())
    full.update({"reward": torch.ones(2, 6), "actions": torch.ones(2, 6, N_AGENTS)})
    buffer.insert_episode_batch(full)
    short = EpisodeBatch(small_scheme(), {"agents": N_AGENTS}, 1, 3, preprocess=onehot())
    short.update({"reward": torch.full((1, 3), 2.0), "actions": torch.zeros(1, 3, N_AGENTS)})
    buffer.insert_episode_batch(short)
    assert buffer["reward"][0, :, 0].tolist() == [2, 2, 2, 0, 0, 0]
    assert buffer["filled"][0, :, 0].tolist() == [1, 1, 1, 0, 0, 0]
    assert buffer["actions_onehot"][0, 3:].sum() == 0 and buffer["actions_onehot"][0, :3, :, 0].all()
    assert buffer.max_t_filled() == 6

    with pytest.raises(ValueError, match="max_seq_length 7 exceeds"):
        buffer.insert_episode_batch(EpisodeBatch(small_scheme(), {"agents": N_AGENTS}, 1, 7, preprocess=onehot()))
    with pytest.raises(ValueError, match=r"missing \['actions_onehot'\]"):
        buffer.insert_episode_batch(EpisodeBatch(small_scheme(), {"agents": N_AGENTS}, 1, 6))
    with pytest.raises(ValueError, match="'obs' has shape"):
        buffer.insert_episode_batch(EpisodeBatch(small_scheme(), {"agents": 2}, 1, 6, preprocess=onehot()))
    with pytest.raises(TypeError, match="EpisodeBatch"):
        buffer.insert_episode_batch({"reward": 1})


def test_reset_and_memory_bytes():
    buffer = ReplayBuffer(small_scheme(), {"agents": N_AGENTS}, 3, 6, preprocess=onehot(), seed=0)
    b, t = 3, 6
    expected = 4 * b * t * N_AGENTS * (6 + 1 + N_ACTIONS) + 8 * b * t * N_AGENTS + 4 * b * t + b * t + 8 * b * t + 8 * b
    assert buffer.memory_bytes() == expected
    episodes = make_batch(b=2, preprocess=onehot())
    episodes.update({"reward": torch.ones(2, 6)})
    buffer.insert_episode_batch(episodes)
    buffer.reset()
    assert buffer.episodes_in_buffer == 0 and buffer.buffer_index == 0 and not buffer.can_sample(1)
    assert all(not v.any() for v in buffer.data.transition_data.values())
    assert "episodes_in_buffer=0" in repr(buffer) and "buffer_size=3" in repr(buffer)


@pytest.mark.parametrize("n_inserted", [3, 9])
def test_state_dict_round_trip_restores_contents_counters_and_rng(n_inserted):
    buffer = ReplayBuffer(ID_SCHEME, {}, 5, 4, seed=7)
    buffer.insert_episode_batch(id_episodes(1, n_inserted))
    state = buffer.state_dict()
    assert state["transition_data"]["eid"].shape[0] == min(5, n_inserted)
    restored = ReplayBuffer(ID_SCHEME, {}, 5, 4, seed=0)
    restored.load_state_dict(state)
    assert (restored.episodes_in_buffer, restored.buffer_index) == (buffer.episodes_in_buffer, buffer.buffer_index)
    assert ids_of(restored) == ids_of(buffer)
    assert ids_of(restored.sample(3)) == ids_of(buffer.sample(3))
    wrong = ReplayBuffer({"eid": {"vshape": 1}}, {}, 5, 4)
    with pytest.raises(ValueError, match="differ"):
        wrong.load_state_dict(state)


# --------------------------------------------------------------------------- paired writes
@FAST
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=4,
                unique_by=lambda pair: pair[0]))
def test_update_steps_equals_one_update_per_episode(pairs):
    """Each episode written at its own step is what one ``update`` per episode writes, the
    one-hot of the actions and ``filled`` included; nothing else changes."""
    bs, ts = (torch.tensor(x) for x in zip(*pairs))
    n = len(pairs)
    data = {"obs": torch.randn(n, N_AGENTS, 2, 3), "actions": torch.randint(0, N_ACTIONS, (n, N_AGENTS, 1)),
            "reward": torch.randn(n, 1)}
    paired, single = make_batch(preprocess=onehot()), make_batch(preprocess=onehot())
    paired.update_steps(data, bs, ts)
    for i, (b, t) in enumerate(pairs):
        single.update({key: value[i:i + 1] for key, value in data.items()}, bs=[b], ts=t)
    for key in single.scheme:
        assert torch.equal(paired[key], single[key]), key


def test_update_steps_rejects_repeated_episodes_and_constant_fields():
    batch = make_batch()
    with pytest.raises(IndexError, match="distinct episodes"):
        batch.update_steps({"reward": torch.zeros(2, 1)}, bs=[1, 1], ts=[0, 2])
    with pytest.raises(ValueError, match="episode-constant"):
        batch.update_steps({"seed": torch.zeros(1, 1)}, bs=[0], ts=[0])
