"""Checkpoints hold every learner's own random stream: a resumed HOP+ run trains exactly as the
uninterrupted one (OMG_AM samples subgoals, MOA shuffles its minibatches)."""
import os

import pytest

from helpers import make_experiment

TINY = dict(batch_size_run=4, buffer_size=4, batch_size=4, env_args__episode_limit=12, ppo_epochs=1,
            ppo_minibatches=2, moa_minibatches=3)


def train_and_collect(exp, steps: int) -> dict[str, list[float]]:
    exp.learner_stats = {}
    for _ in range(steps):
        exp.train_step()
    return {k: v for k, v in exp.learner_stats.items() if k.startswith(("omg_", "moa_loss", "vae_", "ppo_", "mbrl_"))}


@pytest.mark.parametrize("alg, extra", [
    ("hop_plus", {}),
    ("hop_plus", {"learners": ["vae", "moa", "omg_am", "policy"], "vae_kl_warmup": 10}),
    ("hop_plus_mbrl", {"use_subgoal": True, "learners": ["moa", "omg_am", "world_model", "policy"]}),
])
def test_resumed_learners_continue_their_random_streams(tmp_path, alg, extra):
    exp = make_experiment(alg, local_results_path=str(tmp_path), seed=4, **TINY, **extra)
    train_and_collect(exp, 2)
    directory = exp.save()
    expected = train_and_collect(exp, 2)
    resumed = make_experiment(alg, local_results_path=str(tmp_path), seed=4, **TINY, **extra)
    resumed.restore(os.path.dirname(directory))
    got = train_and_collect(resumed, 2)
    assert {"omg_loss", "moa_loss"} <= set(expected) and any(k.endswith("policy_loss") for k in expected)
    if "vae" in extra.get("learners", []):
        assert "vae_loss" in expected and resumed.learners[0].updates == exp.learners[0].updates == 4
    assert got == expected
