"""Known answer for the planners' co-player models: trained next to three NS, HOP's π_ω (on the goal
stag) and Direct-OM's action model predict the NS rule's moves on episodes they never saw.

NS moves to the nearest stag and breaks ties at random, so no model can beat about 0.97 top-1
(``scripts/rule_predictability.py``); a uniform guess over the available actions gets about 0.25.
"""
import pytest
import torch

from helpers import make_experiment


@pytest.mark.parametrize("alg, accuracy_key", [("hop", "goal_model_heldout_accuracy_stag"),
                                               ("direct_om", "goal_model_heldout_accuracy_0")])
def test_the_coplayer_model_learns_the_ns_rule(alg, accuracy_key):
    torch.set_num_threads(1)
    exp = make_experiment(alg, roles=[alg, "NS", "NS", "NS"], num_simulations=4, tree_num=1, batch_size_run=16,
                          buffer_size=128, batch_size=128, coplayer_epochs=1, coplayer_lr=0.003, seed=0)
    for _ in range(4):                                   # 64 training episodes
        batch, _ = exp.runner.run()
        exp.buffer.insert_episode_batch(batch)
    learner = next(l for l in exp.learners if l.name == "goal_model")
    untrained = learner.heldout_stats(exp.buffer)[accuracy_key]
    for _ in range(200):
        learner.train(exp.buffer, 0, 0)
    batch, _ = exp.runner.run()                          # 16 new episodes, never trained on
    exp.buffer.insert_episode_batch(batch)
    heldout = learner.heldout_stats(exp.buffer)
    assert set(heldout) == {"goal_model_heldout_accuracy", accuracy_key}    # NS steps are all labelled stag
    assert untrained < 0.5 and heldout[accuracy_key] > 0.85
