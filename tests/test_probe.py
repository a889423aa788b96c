"""Subgoal discriminability probe: the linear probe itself, the rows it reads, and the run mode."""
import json
import os
from types import SimpleNamespace

import pytest
import torch

from helpers import make_args, make_experiment
from modes.probe import subgoal_rows
from modes import REGISTRY as MODES
from utils.errors import ConfigError
from utils.linear_probe import fit_linear_probe
from utils.logging import Logger, get_logger

MIXED = dict(roles=["hop_plus", "NS", "NH", "RAND"], shuffle_slots=True, batch_size_run=8, buffer_size=8,
             env_args__episode_limit=12, subgoal_dim=4)


def test_probe_decodes_separable_features_and_not_noise():
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (600,), generator=gen)
    centres = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    x = centres[labels] + torch.randn(600, 2, generator=gen)
    separable = fit_linear_probe(x[:300], labels[:300], x[300:], labels[300:], 3)
    assert separable.accuracy > 0.97
    assert separable.confusion.sum() == 300 and separable.n_train == 300
    noise = torch.randn(600, 2, generator=gen)
    chance = fit_linear_probe(noise[:300], labels[:300], noise[300:], labels[300:], 3)
    assert chance.accuracy < chance.chance + 0.1
    with pytest.raises(ValueError, match="needs training and held-out rows"):
        fit_linear_probe(x[:0], labels[:0], x, labels, 3)


def test_rows_are_every_step_where_focal_and_coplayer_are_alive_labelled_by_coplayer_role():
    exp = make_experiment("hop_plus", **MIXED)
    batch, _ = exp.runner.run(test_mode=True)
    names = [r.name for r in exp.mac.roles]
    types = ["NS", "NH", "RAND"]
    x, y, episode = subgoal_rows(batch, exp.mac.role_index["hop_plus"], names, types, 4)
    expected_x, expected_y = [], []
    role, alive, mu = batch["role"][..., 0], batch["alive"][..., 0], batch["infer_mu"]
    for b in range(batch.batch_size):
        focal = [i for i in range(4) if names[role[b, i]] == "hop_plus"]
        assert len(focal) == 1
        i = focal[0]
        for t in range(batch.max_t_filled()):
            if not batch["filled"][b, t, 0]:
                continue
            for k in range(3):
                j = (i + 1 + k) % 4
                if alive[b, t, i] and alive[b, t, j]:
                    expected_x.append(mu[b, t, i, k])
                    expected_y.append(types.index(names[role[b, j]]))
    assert torch.equal(x, torch.stack(expected_x)) and y.tolist() == expected_y
    assert episode.max() < batch.batch_size and (x.abs().sum(-1) > 0).all()   # written subgoals, not padding


def test_probe_mode_writes_accuracy_json_and_png(tmp_path):
    run = SimpleNamespace(info={})
    args = make_args("hop_plus", run_mode="probe_subgoals", probe_episodes=16, local_results_path=str(tmp_path), **MIXED)
    MODES["probe_subgoals"](run, args, Logger(get_logger()))
    out = tmp_path / "probes" / args.unique_token
    saved = json.loads((out / "probe.json").read_text())
    assert saved["types"] == ["NS", "NH", "RAND"] and 0.0 <= saved["accuracy"] <= 1.0
    assert sum(map(sum, saved["confusion"])) == saved["n_test"] > 0
    assert os.path.getsize(out / "probe.png") > 1000 and run.info["probe"]["checkpoint"] == "untrained"


@pytest.mark.parametrize("overrides, message", [
    (dict(roles=["hop_plus", "NS", "NS", "NS"]), "at least 2 types"),
    (dict(probe_episodes=8), "must be >= 2 x batch_size_run"),
    (dict(use_subgoal=False), "needs the HOP\\+ actor with subgoals"),
])
def test_probe_mode_rejects_unusable_settings(overrides, message):
    args = make_args("hop_plus", run_mode="probe_subgoals", **{**MIXED, "probe_episodes": 16, **overrides})
    with pytest.raises(ConfigError, match=message):
        MODES["probe_subgoals"](SimpleNamespace(info={}), args, Logger(get_logger()))
