"""HOP+ with MCTS (hop_plus_mcts): OMG_AM subgoals as the co-players' goals in the batched search."""
import numpy as np
import pytest
import torch

import envs
from components import masks
from controllers.subgoal_mcts_actor import SubgoalMCTSActor
from helpers import make_args, make_experiment
from planners.mcts import BatchedMCTS, SearchSettings
from planners.subgoal_goals import GOAL_UPDATES, RootPosterior, make_subgoal_goals
from utils.errors import ConfigError

SMALL = dict(num_simulations=6, tree_num=2, batch_size_run=4, buffer_size=8, batch_size=8,
             env_args__episode_limit=10, az_epochs=1, coplayer_epochs=1)


def _search(goal_update: str, sample: bool, simulations: int = 12, trees: int = 3):
    """One search for every agent of 2 envs with the untrained hop_plus_mcts networks."""
    args = make_args("hop_plus_mcts", goal_update=goal_update, batch_size_run=2)
    torch.manual_seed(0)
    actor = SubgoalMCTSActor(args)
    core = envs.REGISTRY[args.env](batch_size=2, **args.env_args).core
    core.reset(np.arange(2))
    env_idx, slot_idx = np.repeat(np.arange(2), 4), np.tile(np.arange(4), 2)
    with torch.inference_mode():
        x = actor.omg.encode(torch.from_numpy(core.observations(env_idx, slot_idx)))
        zeros = torch.zeros_like(x)
        cond = actor.omg.step(zeros, zeros, torch.zeros(len(x), 4, args.n_actions))
        mu, log_var = actor.omg.posterior(x, cond)
    goals = make_subgoal_goals(goal_update, actor.omg, actor.coplayer, RootPosterior(x, cond, mu, log_var), sample)
    search = BatchedMCTS(core, actor.models, SearchSettings(simulations, trees, 1.0, 0.95))
    result = search.search(core, env_idx, slot_idx, goals, torch.Generator().manual_seed(0))
    return search, goals, result


@pytest.mark.parametrize("goal_update", list(GOAL_UPDATES))
def test_each_goal_update_gives_a_valid_search(goal_update):
    search, goals, result = _search(goal_update, sample=True)
    assert result.q.shape == (8, 7) and result.visits.shape == (8, 3, 7) and result.avail.shape == (8, 7)
    assert (result.visits.sum(axis=-1) == 12).all()                 # every simulation lands at one root action
    assert (result.visits[~np.broadcast_to(result.avail[:, None], result.visits.shape)] == 0).all()
    assert np.isfinite(result.q[result.avail]).all()
    assert goals.cache == (goal_update != "per_simulation")


def test_every_node_re_infers_subgoals_at_each_new_node():
    search, goals, _ = _search("every_node", sample=False)
    created = int(search.n_nodes.sum()) - len(search.n_nodes)       # nodes other than the roots
    assert goals.inferred_nodes == created > 0
    per_tree = search.settings.num_simulations + 1
    roots = np.arange(len(search.n_nodes)) * per_tree
    children = search.child[search.child >= 0]
    # posterior means at the new nodes differ from their tree's root (the simulated observation moved on)
    moved = (goals.subgoals[children] - goals.subgoals[roots[children // per_tree]]).abs().amax(dim=(1, 2))
    assert (moved > 0).float().mean() > 0.9
    # the planning agent's own slot never gets a subgoal
    focal = search.focal[children // per_tree]
    assert (goals.subgoals[children, focal] == 0).all()


def test_root_only_keeps_one_subgoal_per_tree_and_per_simulation_redraws():
    _, root_only, _ = _search("root_only", sample=True)
    draws = root_only.tree_subgoals.clone()
    root_only.begin_simulation(torch.Generator().manual_seed(1))       # no-op for root_only
    assert torch.equal(draws, root_only.tree_subgoals)
    assert not torch.equal(draws[0::3], draws[1::3])                   # trees of a row draw different samples
    _, per_sim, _ = _search("per_simulation", sample=True)
    before = per_sim.tree_subgoals.clone()
    per_sim.begin_simulation(torch.Generator().manual_seed(1))
    assert not torch.equal(before, per_sim.tree_subgoals)
    _, mean, _ = _search("per_simulation", sample=False)                # greedy: the posterior mean throughout
    before = mean.tree_subgoals.clone()
    mean.begin_simulation(torch.Generator().manual_seed(1))
    assert torch.equal(before, mean.tree_subgoals)


@pytest.mark.parametrize("goal_update", list(GOAL_UPDATES))
def test_hop_plus_mcts_trains_end_to_end(goal_update):
    exp = make_experiment("hop_plus_mcts", roles=["hop_plus_mcts", "NS", "NH", "hop_plus_mcts"],
                          goal_update=goal_update, **SMALL)
    exp.train_step()
    batch = exp.buffer.sample_latest(4)
    acting = (masks.agent_mask(batch)[..., 0] > 0) & (batch["role"][:, None, :, 0] == 0)
    np.testing.assert_allclose(batch["mcts_policy"][:, :-1].sum(-1)[acting].numpy(), 1.0, rtol=1e-5)
    assert batch["subgoal"][:, :-1][acting].abs().sum() > 0
    for key in ("alphazero_policy_loss", "subgoal_model_loss", "omg_loss"):
        assert np.isfinite(exp.learner_stats[key]).all()
    assert exp.learner_stats["subgoal_model_samples"][0] > 0


def test_subgoal_model_learns_on_the_written_subgoals():
    exp = make_experiment("hop_plus_mcts", roles=["hop_plus_mcts", "NS", "NH", "NS"], coplayer_lr=0.003,
                          goal_update="root_only", **SMALL)
    exp.train_step()
    learner = next(lrn for lrn in exp.learners if lrn.name == "subgoal_model")
    batch = exp.buffer.sample_latest(4)
    data = learner.samples(batch[:, :batch.max_t_filled()])
    assert set(data["slot"].tolist()) <= {1, 2, 3}
    before = float(learner.loss(data)[0].detach())
    opt = learner.optimisers["subgoal_coplayer_model"]
    for _ in range(40):
        loss = learner.loss(data)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(learner.loss(data)[0].detach()) < 0.7 * before


def test_bad_goal_update_and_policy_inputs_raise():
    with pytest.raises(ConfigError, match="goal_update"):
        SubgoalMCTSActor(make_args("hop_plus_mcts", goal_update="sometimes"))
    with pytest.raises(ConfigError, match="policy_inputs"):
        SubgoalMCTSActor(make_args("hop_plus_mcts", policy_inputs=["subgoal"]))
