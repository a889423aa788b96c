"""scripts/wm_counterfactual.py: decisions on a shared prey cell, every joint action, grouped by how
many agents there play the prey's interaction; the simulator's outcomes follow the game's rule."""
import numpy as np
import torch

import envs
from helpers import make_args
from scripts.wm_counterfactual import score, shared_prey_roots


def test_the_roots_are_decisions_on_a_prey_cell_shared_with_another_agent():
    args = make_args("hop_plus_wm", seed=0)
    core = envs.REGISTRY[args.env](batch_size=32, **args.env_args).core
    core.reset(np.arange(32))
    roots = shared_prey_roots(core, np.random.default_rng(0), 32, 10)
    assert len(roots) == 10
    n = core.n_agents
    probe = type(core)(1, **core.args)
    for snapshot, _env, slot, prev in roots:
        probe.set_state(snapshot)
        obs = probe.observations(np.array([0]), np.array([slot]))[0]
        cell = obs[0].flatten().argmax()
        assert obs[0].flatten()[cell] == 1 and obs[:n].reshape(n, -1)[:, cell].sum() >= 2
        assert obs[n + 1:].reshape(obs.shape[0] - n - 1, -1)[:, cell].sum() >= 1
        assert prev.shape == (1, n)


def test_the_true_outcome_of_each_group_is_the_capture_rule():
    """A hare is taken by one agent playing HARE on it, a stag only by two or more playing STAG: in
    every group the simulator removes the prey in all branches or in none, by that rule. The shares
    are shares, and the 'all' row counts every branch once."""
    args = make_args("hop_plus_wm", seed=0)
    from controllers.wm_actor import WMPlannerActor
    torch.manual_seed(0)
    model = WMPlannerActor(args).world_model.eval()
    rows = score(args, model, episodes=32, states=30, seed=0)
    groups, total = rows[:-1], rows[-1]
    assert total["group"] == "all" and total["states"] == 30
    assert total["branches"] == sum(row["branches"] for row in groups)
    needed = {"hare": 1, "stag": 2}
    seen = set()
    for row in groups:
        kind, _, playing = row["group"].partition(", on cell ")
        count = int(playing.rsplit(" ", 1)[1])
        assert row["true_removed"] == (1.0 if count >= needed[kind] else 0.0), row
        seen.add((kind, count >= needed[kind]))
        for key in ("prey_cell_acc", "exact_match", "reward_acc", "cont_acc"):
            assert 0 <= row[key] <= 1
    assert ("stag", False) in seen and ("stag", True) in seen       # both sides of the stag's rule are scored

