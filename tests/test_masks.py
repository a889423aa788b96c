"""components.masks on hand-built episodes that follow the runner convention.

An episode of length L writes transitions at t = 0..L-1 and its final observation at t = L
(filled = 1 at 0..L); terminated[L-1] = 1 only for a true terminal; alive[t, i] = 1 while
agent i acts (agent i "leaves at s" means alive = 1 for t < s and 0 from s on).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from components import masks
from components.episode_buffer import EpisodeBatch

N = 3
SCHEME = {
    "reward": {"vshape": (1,), "group": "agents"},
    "terminated": {"vshape": (1,), "dtype": torch.uint8},
    "alive": {"vshape": (1,), "group": "agents", "dtype": torch.uint8},
}


def build(episodes: list[tuple[int, bool, list[int | None]]], t_max: int) -> EpisodeBatch:
    """Episodes (length L, truly terminated?, per-agent step it leaves at or None) in a [B, t_max] batch.

    L = 0 leaves the row empty (an unused, all-padding episode slot).
    """
    batch = EpisodeBatch(SCHEME, {"agents": N}, len(episodes), t_max)
    for b, (length, terminal, leaves) in enumerate(episodes):
        for t in range(length + 1 if length else 0):
            alive = [int(s is None or t < s) for s in leaves]
            terminated = int(terminal and t == length - 1)
            batch.update({"alive": alive, "terminated": terminated, "reward": [1.0] * N}, bs=b, ts=t)
    return batch


def column(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(1, -1, 1)


def test_early_terminal_removes_later_steps_and_padding():
    # T = 6 (episode_limit 5); the episode terminates after its step 2 (L = 3).
    batch = build([(3, True, [None] * N)], t_max=6)
    assert torch.equal(masks.step_mask(batch), column([1, 1, 1, 0, 0]))
    expected = torch.zeros(5, N)
    expected[2] = 1
    assert torch.equal(masks.agent_terminal(batch)[0, :, :, 0], expected)


def test_steps_after_the_first_terminal_are_removed_even_if_filled():
    batch = build([(5, False, [None] * N)], t_max=6)
    batch.update({"terminated": 1}, bs=0, ts=1)  # a terminal in the middle of filled data
    assert torch.equal(masks.step_mask(batch), column([1, 1, 0, 0, 0]))
    assert masks.agent_terminal(batch)[0, :, :, 0].tolist() == [[0] * N, [1] * N, [0] * N, [0] * N, [0] * N]


def test_time_limit_cut_is_not_terminal():
    batch = build([(5, False, [None] * N)], t_max=6)
    assert torch.equal(masks.step_mask(batch), column([1, 1, 1, 1, 1]))
    assert masks.agent_mask(batch).sum() == 5 * N
    assert masks.agent_terminal(batch).sum() == 0


def test_agents_leaving_at_different_steps():
    # agent 0 leaves after acting at t=1, agent 1 after t=3, agent 2 stays; truncated at L = 5.
    batch = build([(5, False, [2, 4, None])], t_max=6)
    expected_alive = torch.tensor([[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 1]], dtype=torch.float32)
    assert torch.equal(masks.agent_mask(batch)[0, :, :, 0], expected_alive)
    terminal = torch.zeros(5, N)
    terminal[1, 0] = terminal[3, 1] = 1
    assert torch.equal(masks.agent_terminal(batch)[0, :, :, 0], terminal)


def test_agent_leaving_at_the_time_limit_step_is_a_real_end():
    # agent 1 captures at the last step (t = 4) of a truncated episode: alive = 0 at the final obs.
    batch = build([(5, False, [None, 5, None])], t_max=6)
    terminal = masks.agent_terminal(batch)[0, :, :, 0]
    assert terminal[:, 1].tolist() == [0, 0, 0, 0, 1] and terminal[:, [0, 2]].sum() == 0


def test_padding_and_mixed_episodes_in_one_batch():
    batch = build([(2, True, [1, None, None]), (5, False, [None] * N), (0, False, [None] * N)], t_max=6)
    step = masks.step_mask(batch)[:, :, 0]
    assert step.tolist() == [[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]
    agent = masks.agent_mask(batch)[0, :, :, 0]
    assert agent.tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    terminal = masks.agent_terminal(batch)[0, :, :, 0]
    assert terminal.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert masks.agent_terminal(batch)[1:].sum() == 0


def test_shapes_dtypes_and_a_single_step_batch():
    batch = build([(2, True, [None] * N)] * 2, t_max=4)
    assert masks.step_mask(batch).shape == (2, 3, 1)
    assert masks.agent_mask(batch).shape == (2, 3, N, 1)
    assert masks.agent_terminal(batch).shape == (2, 3, N, 1)
    for fn in (masks.step_mask, masks.agent_mask, masks.agent_terminal):
        assert fn(batch).dtype == torch.float32
        assert fn(batch[:, :1]).shape[1] == 0


def test_missing_or_misshaped_fields_raise_clearly():
    no_alive = EpisodeBatch({"terminated": {"vshape": 1}}, {}, 1, 3)
    assert masks.step_mask(no_alive).shape == (1, 2, 1)
    with pytest.raises(KeyError, match="agent_mask needs the field 'alive'"):
        masks.agent_mask(no_alive)
    with pytest.raises(KeyError, match="'terminated'"):
        masks.step_mask(EpisodeBatch({"reward": {"vshape": 1}}, {}, 1, 3))
    flat_alive = EpisodeBatch({"terminated": {"vshape": 1}, "alive": {"vshape": N}}, {}, 1, 3)
    with pytest.raises(ValueError, match=r"'alive' must have shape \[B, T, N, 1\]"):
        masks.agent_mask(flat_alive)


T_MAX = 8
episode = st.tuples(st.booleans(), st.integers(1, T_MAX - 1), st.lists(st.integers(1, T_MAX), min_size=N, max_size=N))


@settings(max_examples=60, deadline=None)
@given(specs=st.lists(episode, min_size=1, max_size=4))
def test_masks_match_their_definition_on_random_episodes(specs):
    episodes = []
    for terminal, length, leaves in specs:
        length = length if terminal else T_MAX - 1  # truncation only happens at episode_limit
        episodes.append((length, terminal, [s if s <= length else None for s in leaves]))
    batch = build(episodes, T_MAX)
    step, agent, terminal = masks.step_mask(batch), masks.agent_mask(batch), masks.agent_terminal(batch)
    for b, (length, is_terminal, leaves) in enumerate(episodes):
        assert step[b, :, 0].tolist() == [float(t < length) for t in range(T_MAX - 1)]
        for i, leave in enumerate(leaves):
            last_step = (length if leave is None else leave) - 1
            assert agent[b, :, i, 0].tolist() == [float(t <= last_step) for t in range(T_MAX - 1)]
            ends_for_real = is_terminal or leave is not None
            expected = [float(ends_for_real and t == last_step) for t in range(T_MAX - 1)]
            assert terminal[b, :, i, 0].tolist() == expected
