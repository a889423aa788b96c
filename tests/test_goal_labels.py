"""Hindsight goal labels for π_ω, including co-players that reach nothing, and the goal-conditioned
co-player network."""
import numpy as np
import torch
import torch.nn.functional as F

from envs import rule_based
from envs.stag_hunt import StagHuntCore
from modules.coplayer_model import CoplayerModel
from planners.goals import PreyKindGoals, agent_cells, pursued_goals

STAG_GOAL, HARE_GOAL = 0, 1


def _trajectory(layout, roles, steps):
    """Global states [1,T+1,C,H,W] and actions of rule-based agents on a fixed layout."""
    core = StagHuntCore(1, n_agents=len(roles), layout=layout, seed=0)
    core.reset([0])
    states, alive = [core.state_observation()], [core.alive.copy()]
    policies = [rule_based.make("stag_hunt", r) for r in roles]
    for _ in range(steps):
        actions = np.stack([p.act(core, np.array([k]))[:, 0] for k, p in enumerate(policies)], axis=1)
        core.step(actions)
        states.append(core.state_observation())
        alive.append(core.alive.copy())
    state = torch.from_numpy(np.stack(states, axis=1))
    alive = torch.from_numpy(np.stack(alive, axis=1))
    return state, alive


def test_a_stag_hunter_who_loses_the_race_is_labelled_stag_and_a_hare_hunter_hare():
    # agents 1 and 2 reach the stag first and take it; agent 3 (NS) arrives too late and stays;
    # agent 4 (NH) walks towards the far hare but the episode is cut before it gets there
    layout = ["1S2....", ".......", ".3.....", ".......", "......H", "4......"]
    state, alive = _trajectory(layout, ["NS", "NS", "NS", "NH"], steps=6)
    steps = alive[:, :-1] & alive[:, 1:]                   # steps after which the agent is still there
    labels = pursued_goals(PreyKindGoals(), state, agent_cells(state, 4), steps, 4)
    assert labels[0, 2] == STAG_GOAL                       # never captured, pursued the stag
    assert labels[0, 3] == HARE_GOAL
    assert not alive[0, -1, 0] and not alive[0, -1, 1]     # the stag was taken by agents 1 and 2
    assert alive[0, -1, 2] and alive[0, -1, 3]


def test_an_agent_that_never_moves_closer_to_anything_gets_no_label():
    layout = ["1S..", "....", "...2", "H..."]
    state, alive = _trajectory(layout, ["NS", "NS"], steps=3)
    frozen = state.clone()
    frozen[:, :, 1] = frozen[:, :1, 1]                      # agent 2 stays where it started
    labels = pursued_goals(PreyKindGoals(), frozen, agent_cells(frozen, 2), torch.ones(1, 3, 2, dtype=torch.bool), 2)
    assert labels[0, 1] == -1


def test_coplayer_model_is_one_goal_conditioned_network():
    torch.manual_seed(0)
    model = CoplayerModel((7, 4, 4), 4, 2, 7, hidden_dim=16, conv_channels=())
    state, time = torch.rand(3, 7, 4, 4), torch.rand(3, 1)
    logits = model(state, time)                            # [M,N,G,A]
    hidden = model.body(torch.cat([model.trunk(state), time], dim=-1))
    for j in range(4):
        for g in range(2):
            one_hot = torch.cat([F.one_hot(torch.tensor(j), 4), F.one_hot(torch.tensor(g), 2)]).float()
            inputs = torch.cat([hidden, one_hot.expand(3, -1)], dim=-1)
            expected = model.head_out(F.relu(model.head_in(inputs)))
            torch.testing.assert_close(logits[:, j, g], expected)
    # training on goal-0 labels alone moves every weight, the goal-1 logits too: no untrained head
    before = model(state, time)[:, :, 1].detach().clone()
    loss = F.cross_entropy(model(state, time)[:, 1, 0], torch.tensor([0, 1, 2]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters()
               if n != "head_in.weight") and model.head_in.weight.grad[:, :16].abs().sum() > 0
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.5 * p.grad
    assert not torch.allclose(model(state, time)[:, :, 1], before)


def test_coplayer_logits_under_given_goals_are_the_all_goals_logits_at_those_goals():
    torch.manual_seed(1)
    model = CoplayerModel((7, 4, 4), 4, 3, 7, hidden_dim=8, conv_channels=())
    state, time = torch.rand(5, 7, 4, 4), torch.rand(5, 1)
    goals = torch.randint(0, 3, (5, 4))
    every = model(state, time)
    chosen = every[torch.arange(5)[:, None], torch.arange(4), goals]
    torch.testing.assert_close(model(state, time, goals), chosen)
