"""Tests for utils.checkpoint: round-trips, RNG restore, mismatch errors, lookup, atomic saves."""

import os
import random

import numpy as np
import pytest
import torch

from utils.checkpoint import (
    CheckpointError,
    find_checkpoint,
    get_rng_states,
    load_checkpoint,
    save_checkpoint,
    set_rng_states,
)
from utils.seeding import seed_everything


def _make(seed: int, hidden: int = 8):
    torch.manual_seed(seed)
    agent = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 3))
    critic = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(list(agent.parameters()) + list(critic.parameters()), lr=1e-2)
    return agent, critic, optimizer


def _train(agent, critic, optimizer, steps: int = 3) -> None:
    for _ in range(steps):
        x = torch.randn(16, 4)
        loss = agent(x).pow(2).mean() + critic(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _assert_same_modules(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_round_trip_modules_optimizer_and_state(tmp_path):
    agent, critic, optimizer = _make(0)
    _train(agent, critic, optimizer)
    state = {"t_env": 1234, "episode": 56, "counts": np.arange(6).reshape(2, 3), "nested": {"x": [1.5]}}
    path = save_checkpoint(str(tmp_path / "models" / "1234"), {"agent": agent, "critic": critic}, {"agent": optimizer}, state)
    assert sorted(os.listdir(path)) == ["agent.th", "agent_opt.th", "critic.th", "rng.pt", "state.pt"]
    assert os.listdir(tmp_path / "models") == ["1234"]

    agent2, critic2, optimizer2 = _make(1)
    loaded = load_checkpoint(path, {"agent": agent2, "critic": critic2}, {"agent": optimizer2})

    _assert_same_modules(agent, agent2)
    _assert_same_modules(critic, critic2)
    assert loaded["t_env"] == 1234 and loaded["episode"] == 56 and loaded["nested"] == {"x": [1.5]}
    np.testing.assert_array_equal(loaded["counts"], state["counts"])
    opt_a, opt_b = optimizer.state_dict(), optimizer2.state_dict()
    assert opt_a["param_groups"] == opt_b["param_groups"]
    for index, param_state in opt_a["state"].items():
        for key, value in param_state.items():
            assert torch.equal(value, opt_b["state"][index][key]), (index, key)

    # Training continues identically from the restored copy.
    seed_everything(7)
    _train(agent, critic, optimizer, steps=2)
    seed_everything(7)
    _train(agent2, critic2, optimizer2, steps=2)
    _assert_same_modules(agent, agent2)


def _draws():
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_rng_round_trip(tmp_path):
    seed_everything(3)
    net = torch.nn.Linear(2, 2)
    path = save_checkpoint(str(tmp_path / "10"), {"net": net}, {}, {})
    expected = _draws()
    _draws()
    seed_everything(99)
    load_checkpoint(path, {"net": net}, {})
    assert _draws() == expected

    states = get_rng_states()
    expected = _draws()
    set_rng_states(states)
    assert _draws() == expected


def test_restore_rng_false_leaves_rng_alone(tmp_path):
    net = torch.nn.Linear(2, 2)
    path = save_checkpoint(str(tmp_path / "10"), {"net": net}, {}, {})
    seed_everything(5)
    expected = _draws()
    seed_everything(5)
    load_checkpoint(path, {"net": net}, {}, restore_rng=False)
    assert _draws() == expected


def test_module_mismatch_names_module_and_keys(tmp_path):
    agent, critic, optimizer = _make(0)
    path = save_checkpoint(str(tmp_path / "5"), {"agent": agent, "critic": critic}, {"agent": optimizer}, {})

    wider, _, _ = _make(0, hidden=16)
    before = {k: v.clone() for k, v in wider.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, {"agent": wider}, {})
    message = str(info.value)
    assert "'agent'" in message and path in message
    assert "0.weight (checkpoint (8, 4) vs module (16, 4))" in message
    for key, value in wider.state_dict().items():  # nothing was loaded
        assert torch.equal(value, before[key])

    renamed = torch.nn.Sequential(torch.nn.Linear(4, 1))
    with pytest.raises(CheckpointError, match=r"module 'critic'.*missing keys \['0.weight', '0.bias'\].*unexpected keys \['weight', 'bias'\]"):
        load_checkpoint(path, {"critic": renamed}, {})


def test_optimizer_mismatch_and_missing_files(tmp_path):
    agent, critic, optimizer = _make(0)
    _train(agent, critic, optimizer)
    path = save_checkpoint(str(tmp_path / "5"), {"agent": agent}, {"agent": optimizer}, {})

    other = torch.optim.Adam(agent.parameters())
    with pytest.raises(CheckpointError, match="optimizer 'agent'.*parameters per group"):
        load_checkpoint(path, {}, {"agent": other})

    shape = torch.optim.Adam(list(torch.nn.Linear(3, 8).parameters()) + list(torch.nn.Linear(8, 3).parameters()) + list(critic.parameters()))
    with pytest.raises(CheckpointError, match=r"optimizer 'agent'.*param 0 exp_avg \(checkpoint \(8, 4\) vs parameter \(8, 3\)\)"):
        load_checkpoint(path, {}, {"agent": shape})

    with pytest.raises(CheckpointError, match=r"module 'critic'.*critic\.th"):
        load_checkpoint(path, {"critic": critic}, {})
    with pytest.raises(CheckpointError, match="checkpoint folder not found"):
        load_checkpoint(str(tmp_path / "nope"), {"agent": agent}, {})


def test_find_checkpoint(tmp_path):
    root = tmp_path / "models"
    for step in (100, 2000, 350, 900):
        (root / str(step)).mkdir(parents=True)
    (root / "notes").mkdir()
    (root / ".5000.tmp-abc").mkdir()
    (root / "7000").write_text("a file, not a checkpoint")

    assert find_checkpoint(str(root)) == (str(root / "2000"), 2000)
    assert find_checkpoint(str(root), load_step=400) == (str(root / "350"), 350)
    assert find_checkpoint(str(root), load_step=625) == (str(root / "900"), 900)  # tie: the later one
    assert find_checkpoint(str(root), load_step=10**9) == (str(root / "2000"), 2000)

    with pytest.raises(CheckpointError, match="no checkpoints"):
        find_checkpoint(str(root / "notes"))
    with pytest.raises(CheckpointError, match="not found"):
        find_checkpoint(str(tmp_path / "missing"))


class _Exploding(torch.nn.Module):
    def state_dict(self, *args, **kwargs):
        raise RuntimeError("disk on fire")


def test_crash_during_save_keeps_previous_checkpoint(tmp_path):
    agent, critic, optimizer = _make(0)
    target = str(tmp_path / "models" / "100")
    save_checkpoint(target, {"agent": agent}, {"agent": optimizer}, {"t_env": 100})
    before = sorted(os.listdir(target))

    with pytest.raises(RuntimeError, match="disk on fire"):
        save_checkpoint(target, {"agent": agent, "bad": _Exploding()}, {}, {"t_env": 200})
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_checkpoint(str(tmp_path / "models" / "200"), {"bad": _Exploding()}, {}, {})

    assert os.listdir(tmp_path / "models") == ["100"]
    assert sorted(os.listdir(target)) == before
    assert load_checkpoint(target, {"agent": agent}, {"agent": optimizer})["t_env"] == 100


def test_overwrite_replaces_whole_folder(tmp_path):
    net = torch.nn.Linear(2, 2)
    target = str(tmp_path / "100")
    save_checkpoint(target, {"net": net, "extra": torch.nn.Linear(1, 1)}, {}, {"v": 1})
    save_checkpoint(target, {"net": net}, {}, {"v": 2})
    assert sorted(os.listdir(tmp_path)) == ["100"]
    assert sorted(os.listdir(target)) == ["net.th", "rng.pt", "state.pt"]
    assert load_checkpoint(target, {"net": net}, {})["v"] == 2


def test_colliding_names_rejected(tmp_path):
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="net_opt.th"):
        save_checkpoint(str(tmp_path / "1"), {"net_opt": net}, {"net": opt}, {})
    with pytest.raises(ValueError, match="plain file name"):
        save_checkpoint(str(tmp_path / "1"), {"a/b": net}, {}, {})
    assert os.listdir(tmp_path) == []


def test_seed_everything_is_reproducible():
    seed_everything(11)
    first = _draws()
    seed_everything(11)
    assert _draws() == first
    seed_everything(12)
    assert _draws() != first
