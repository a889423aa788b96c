"""Replay traces: per step, every agent's action and reward, and the learned role's actor extras."""
import json

import numpy as np
import pytest

from helpers import make_experiment
from runners.replay import save_replays

TINY = dict(batch_size_run=2, buffer_size=2, batch_size=2, env_args__episode_limit=6)


def trace_of(experiment, tmp_path):
    names = [r.name for r in experiment.mac.roles]
    written = save_replays(experiment.runner, str(tmp_path), 1, names)
    assert [p.rsplit("/", 1)[1] for p in written] == ["episode_0.gif", "episode_0.json"]
    with open(written[1]) as f:
        return json.load(f)


def test_hop_trace_has_beliefs_and_search_policy_of_the_planning_agent(tmp_path):
    experiment = make_experiment("hop", roles=["NS", "hop", "NH", "NS"], num_simulations=2, tree_num=1, **TINY)
    trace = trace_of(experiment, tmp_path)
    assert trace["roles"] == {"agent_0": "NS", "agent_1": "hop", "agent_2": "NH", "agent_3": "NS"}
    assert len(trace["steps"]) == trace["length"] > 0
    for step in trace["steps"]:
        assert set(step["actions"]) == set(step["rewards"]) == {"agent_0", "agent_1", "agent_2", "agent_3"}
        assert set(step["belief"]) == set(step["mcts_policy"]) == {"agent_1"}       # only the planner has them
        assert sum(step["mcts_policy"]["agent_1"]) == pytest.approx(1.0, abs=1e-3)
        belief = np.array(step["belief"]["agent_1"])                                # [N co-player slots, goals]
        assert belief.shape[0] == 4 and np.allclose(belief[[0, 2, 3]].sum(axis=1), 1.0, atol=1e-3)
    total = {a: sum(s["rewards"][a] for s in trace["steps"]) for a in trace["returns"]}
    assert total == pytest.approx(trace["returns"], abs=1e-3)


def test_subgoal_trace_has_inferred_subgoals(tmp_path):
    experiment = make_experiment("hop_plus", roles=["hop_plus", "hop_plus", "NS", "NS"], **TINY)
    trace = trace_of(experiment, tmp_path)
    step = trace["steps"][0]
    assert {"subgoal", "infer_mu"} <= set(step)
    assert set(step["subgoal"]) == {a for a, r in trace["roles"].items() if r == "hop_plus"}
    assert np.array(step["subgoal"]["agent_0"]).shape == (3, experiment.args.subgoal_dim)   # one per co-player


def test_rule_based_trace_has_no_actor_fields(tmp_path):
    experiment = make_experiment(roles=["NS", "NH", "NS", "RAND"], evaluate=True, **TINY)
    step = trace_of(experiment, tmp_path)["steps"][0]
    assert set(step) == {"t", "actions", "rewards", "alive"}
