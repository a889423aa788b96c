"""MOA: learns rule-based co-players' next actions from the current episodes only."""
import numpy as np
import pytest
import torch

from components.action_selectors import masked_logits
from helpers import make_experiment
from modules.opponent_models import MOA
from modules.opponent_models.ego import coplayer_slots, ego_slots, onehot_or_zero, previous_actions_onehot

LAYOUT = ["1..S", "....", "2..H", "3..4"]


def test_ego_order_and_previous_actions():
    assert ego_slots(torch.tensor([0, 2]), 4).tolist() == [[0, 1, 2, 3], [2, 3, 0, 1]]
    assert coplayer_slots(torch.tensor([3]), 4).tolist() == [[0, 1, 2]]
    assert onehot_or_zero(torch.tensor([-1, 2]), 3).tolist() == [[0, 0, 0], [0, 0, 1]]
    onehot = torch.eye(3)[torch.tensor([[0, 1, 2]])][:, :, None]          # [B=1,T=3,N=1,A=3]
    prev = previous_actions_onehot(onehot)
    assert prev[0, 0].abs().sum() == 0 and torch.equal(prev[0, 1:], onehot[0, :2])


def test_moa_shapes_and_subgoal_conditioning():
    config = {"env": "stag_hunt", "obs_shape": [7, 4, 4], "hidden_dim": 16, "conv_channels": [8, 8, 8],
              "subgoal_dim": 3, "n_agents": 4, "n_actions": 7}
    moa = MOA(config)
    logits = moa(torch.rand(5, 7, 4, 4), torch.rand(5, 1), torch.rand(5, 4, 7), torch.rand(5, 3, 3))
    assert logits.shape == (5, 3, 7)


def test_moa_learns_ns_and_nh_coplayers_well_above_chance():
    exp = make_experiment("hop_plus", use_subgoal=False, roles=["hop_plus", "NS", "NH", "NS"],
                          env_args__layout=LAYOUT, env_args__episode_limit=10, batch_size_run=16, buffer_size=16,
                          batch_size=16, moa_epochs=8, moa_lr=0.003, ppo_epochs=1, ppo_minibatches=1, seed=1)
    accuracy, chance = [], []
    for _ in range(5):
        exp.train_step()
    for _ in range(3):                                   # measured on new episodes before each update
        exp.train_step()
        accuracy.append(exp.learner_stats["moa_top1"][-1])
    batch = exp.buffer.sample_latest(16)
    avail = batch["avail_actions"][:, :-1, 1:].float().sum(-1)
    chance = float((1 / avail[batch["alive"][:, :-1, 1:, 0] > 0]).mean())
    stats = {k: float(np.mean(v[-3:])) for k, v in exp.learner_stats.items()}
    assert np.mean(accuracy) > 0.75 > chance + 0.3, (accuracy, chance)
    assert stats["moa_top1_NS"] > 0.7 and stats["moa_top1_NH"] > 0.6, stats
    assert stats["moa_top3"] >= stats["moa_top1"]
    assert any(key.startswith("moa_recall_a") for key in stats)


def test_moa_takes_one_step_per_minibatch_and_reports_accuracy_before_them():
    exp = make_experiment("hop_plus", use_subgoal=False, roles=["hop_plus", "NS", "NH", "RAND"],
                          env_args__layout=LAYOUT, env_args__episode_limit=10, batch_size_run=8, buffer_size=8,
                          batch_size=8, moa_epochs=2, moa_minibatches=3, ppo_epochs=1, ppo_minibatches=1, seed=3)
    learner = next(lr for lr in exp.learners if lr.name == "moa")
    moa = exp.mac.modules()["moa"]
    exp.runner.t_env = 0
    batch, _ = exp.runner.run()
    exp.buffer.insert_episode_batch(batch)
    before = {k: v.clone() for k, v in moa.state_dict().items()}
    from learners.moa_learner import moa_rows
    rows = moa_rows(exp.buffer.sample_latest(8), learner.role_index, False)
    with torch.no_grad():
        logits = moa(rows["obs"], rows["time"], rows["prev"])
    stats = learner.train(exp.buffer, 0, 0)
    state = learner.optimisers["moa"].state_dict()["state"]
    assert {int(s["step"]) for s in state.values()} == {2 * 3}          # epochs x minibatches Adam steps
    assert any(not torch.equal(before[k], v) for k, v in moa.state_dict().items())
    expected = learner.accuracy(masked_logits(logits, rows["avail"]), rows["target"], rows["mask"], rows["role"])
    assert stats["moa_top1"] == pytest.approx(expected["moa_top1"])   # measured with the weights before any step
