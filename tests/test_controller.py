"""Role controller: explicit agent identity, role assignment, rule-based and frozen roles."""
import numpy as np
import pytest
import torch

from components.masks import agent_mask, step_mask
from helpers import make_experiment
from utils.errors import ConfigError

SMALL = dict(batch_size_run=8, buffer_size=8, batch_size=8, ppo_epochs=1, ppo_minibatches=1)


def parameters_of(nets, index):
    return torch.cat([p.detach().flatten().clone() for p in nets.nets[index].parameters()])


@pytest.mark.parametrize("slot", [0, 1, 2, 3])
def test_each_slot_trains_only_its_own_network(slot):
    roles = ["NS"] * 4
    roles[slot] = "ppo"
    exp = make_experiment(roles=roles, share_params=False, **SMALL)
    before = [parameters_of(exp.mac.policy, i) for i in range(4)]
    exp.train_step()
    after = [parameters_of(exp.mac.policy, i) for i in range(4)]
    changed = [not torch.equal(b, a) for b, a in zip(before, after)]
    assert changed == [i == slot for i in range(4)]


@pytest.mark.parametrize("slot", [0, 3])
def test_ppo_samples_are_exactly_the_focal_slots_alive_steps(slot):
    roles = ["NH"] * 4
    roles[slot] = "ppo"
    exp = make_experiment(roles=roles, **SMALL)
    batch, _ = exp.runner.run()
    exp.buffer.insert_episode_batch(batch)
    learner = exp.learners[0]
    data = learner._focal_samples(exp.buffer.sample_latest(8))
    assert set(data["slot"].tolist()) == {slot}
    acting = agent_mask(batch)[:, :, slot, 0]
    assert data["actions"].shape[0] == int(acting.sum()) > 0
    # the recorded actions of that slot are the ones trained on
    recorded = batch["actions"][:, :-1, slot, 0][acting > 0]
    assert torch.equal(torch.sort(recorded).values, torch.sort(data["actions"]).values)


def test_role_column_follows_shuffled_slots():
    exp = make_experiment(roles=["ppo", "NS", "NS", "NS"], shuffle_slots=True, **SMALL)
    batch, results = exp.runner.run()
    ppo = exp.mac.role_index["ppo"]
    role = batch["role"][..., 0].numpy()
    assert (role == results.role_of_slot).all()
    assert ((role == ppo).sum(axis=1) == 1).all()            # exactly one focal agent per env
    assert len(set(np.argmax(role == ppo, axis=1))) > 1       # and it moves between slots
    data = exp.learners[0]._focal_samples(batch)
    focal_slot = torch.from_numpy(np.argmax(role == ppo, axis=1))
    # every training row of env b comes from the slot the learned role held in env b
    alive = agent_mask(batch)[..., 0]
    expected = sum(int(alive[b, :, focal_slot[b]].sum()) for b in range(8))
    assert data["actions"].shape[0] == expected


def test_rule_based_roles_only_take_available_actions():
    exp = make_experiment(roles=["NS", "NH", "RAND", "NS"], learners=[], evaluate=True, **SMALL)
    batch, _ = exp.runner.run()
    avail = batch["avail_actions"][:, :-1]
    taken = batch["actions"][:, :-1, :, 0]
    ok = torch.gather(avail, -1, taken.unsqueeze(-1))[..., 0]
    acting = step_mask(batch)[..., 0].bool()
    assert ok[acting].all()


def test_frozen_checkpoint_role_plays_saved_policy(tmp_path):
    exp = make_experiment(**SMALL)
    exp.train_step()
    exp.mac.save_models(str(tmp_path))
    frozen = make_experiment(roles=[f"ckpt:{tmp_path}", "NS", "NS", "NS"], learners=[], evaluate=True, **SMALL)
    nets = frozen.mac.frozen[f"ckpt:{tmp_path}"]
    for a, b in zip(nets.parameters(), exp.mac.policy.parameters()):
        assert torch.equal(a, b) and not a.requires_grad
    frozen.runner.run(test_mode=True)


def test_frozen_checkpoint_for_another_env_is_rejected(tmp_path):
    exp = make_experiment(**SMALL)
    exp.mac.save_models(str(tmp_path))
    with pytest.raises(ConfigError, match=r"env='stag_hunt' \(this run needs 'snowdrift'\)"):
        make_experiment(env="snowdrift_small", roles=[f"ckpt:{tmp_path}", "ND", "ND", "ND"], learners=[],
                        evaluate=True, **SMALL)


def test_ppo_without_learned_slot_is_a_config_error():
    with pytest.raises(ConfigError, match="needs at least one slot with the learned role 'ppo'"):
        make_experiment(roles=["NS"] * 4, **SMALL)
