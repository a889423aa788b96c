"""Every joint action on a shared prey cell: a learned world model against the true simulator.

    python -m scripts.wm_counterfactual results/wm_fit/stag_hunt/model.pt --env-config stag_hunt
    python -m scripts.wm_counterfactual <fit>/model.pt wm_spatial_fusion=late --env-config stag_hunt --out rows.jsonl

Held-out accuracy scores the model on the joint actions the data holds. A planner asks it about all
of them, and the rare ones decide captures: on a cell where several agents stand on prey, whether
the prey is taken depends on how many of them play its interaction. This script plays ``--episodes``
episodes with every agent uniform over its available actions (``RAND``; seeds ``--seed``..), keeps
up to ``--states`` decisions where an agent stands on prey together with at least one other agent,
and steps the learned model and the simulator there with *every* available joint action (the
agent's own actions × all co-player joint actions). Branches are grouped by what happens on that
cell: the prey kind, how many agents stand there (the agent included) and how many of them play
that kind's interaction. Per group (one JSON line each, then an ``all`` line): branches, the share
whose prey on that cell is predicted right, whose whole next grid is right, whose reward is within
the held-out metric's tolerance (``learners.world_model_eval.REWARD_TOLERANCE``) and whose continuation is on the right side of 0.5, the true share of branches
that remove the prey, and the mean |r̂ − r| beside the mean |r|. A model that knows the rule is right
in every group.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch


def shared_prey_roots(core, rng: np.random.Generator, episodes: int, states: int) -> list[tuple]:
    """``(snapshot, env, slot, prev)`` of up to ``states`` decisions where agent ``slot`` stands on
    prey with another agent, from RAND episodes of ``core`` (reset by the caller)."""
    from envs import rule_based
    from modules.opponent_models.ego import ego_slots
    player = rule_based.RandomAvailable(rng)
    n = core.n_agents
    found: list[tuple] = []
    prev = np.full((episodes, n), -1, dtype=np.int64)
    while not core.done.all() and len(found) < states:
        env_idx, slot = np.nonzero(core.alive & ~core.done[:, None])
        obs = core.observations(env_idx, slot)                                        # [R,C,H,W] ego
        own = obs[:, 0].reshape(len(slot), -1).argmax(-1)
        cells = obs.reshape(len(slot), obs.shape[1], -1)[np.arange(len(slot)), :, own]  # [R,C] at the own cell
        shared = (cells[:, :n].sum(-1) >= 2) & (cells[:, n + 1:].sum(-1) >= 1)
        for row in np.flatnonzero(shared)[:states - len(found)]:
            e, s = int(env_idx[row]), int(slot[row])
            ego = ego_slots(torch.tensor([s]), n).numpy()[0]
            found.append((core.get_state(np.array([e])), e, s, torch.from_numpy(prev[e, ego])[None]))
        actions = player.act(core, np.arange(n))
        core.step(actions)
        prev = actions
    return found


@torch.no_grad()
def score(args, model, episodes: int, states: int, seed: int) -> list[dict]:
    """The per-group rows (see the module docstring), the ``all`` row last."""
    import envs
    from learners.world_model_eval import REWARD_TOLERANCE
    from modules.world_model.grid_rules import grid_rules
    from planners.wm_models import LatentModel, SimulatorModel
    from planners.wm_planner import PlannerSettings, WMPlanner
    from scripts.wm_price import uniform_coplayers

    rules = grid_rules(args)
    core = envs.REGISTRY[args.env](batch_size=episodes, **args.env_args).core
    core.reset(np.arange(episodes) + seed)
    roots = shared_prey_roots(core, np.random.default_rng(seed), episodes, states)
    if not roots:
        raise SystemExit(f"wm_counterfactual: no agent shared a prey cell in {episodes} RAND episodes; give more --episodes")
    n, kinds = rules.n_agents, rules.channel_names[rules.n_agents + 1:]
    planner = WMPlanner(PlannerSettings(planner="one_step", expectation="exact", gamma=0.0))
    probe = type(core)(1, **core.args)                    # one decision at a time
    latent, simulator = LatentModel(model, rules, args.episode_limit, args.wm_chunk_rows), SimulatorModel(probe)
    interaction = torch.tensor(rules.interact_kind)                                   # [A] prey kind or -1
    groups: dict[str, torch.Tensor] = {}
    for snapshot, _env, slot, prev in roots:
        probe.set_state(snapshot)
        sim_root = simulator.root(probe, np.array([0]), np.array([slot]), prev)
        obs, time, _, avail = simulator.observe(sim_root)
        learned = planner.branches(latent, latent.root(obs, time, prev, avail), uniform_coplayers, torch.Generator())
        true = planner.branches(simulator, sim_root, uniform_coplayers, torch.Generator())
        if not torch.equal(learned.joint, true.joint):
            raise RuntimeError("wm_counterfactual: the two models were stepped with different joint actions")
        grid_learned = latent.observe(learned.state)[0] > 0.5
        grid_true = simulator.observe(true.state)[0] > 0.5
        own = int(obs[0, 0].flatten().argmax())
        at_cell = obs[0].flatten(1)[:, own] > 0.5                                    # [C]
        kind = int(torch.nonzero(at_cell[n + 1:])[0, 0])
        on_cell = at_cell[:n]                                                         # [N] ego
        playing = ((interaction[learned.joint] == kind) & on_cell).sum(-1)            # [B]
        prey = n + 1 + kind
        prey_right = grid_learned[:, prey].flatten(1)[:, own] == grid_true[:, prey].flatten(1)[:, own]
        removed = ~grid_true[:, prey].flatten(1)[:, own]
        flags = torch.stack([prey_right, (grid_learned == grid_true).flatten(1).all(-1),
                             (learned.reward - true.reward).abs() < REWARD_TOLERANCE,
                             (learned.cont > 0.5) == (true.cont > 0.5), removed,
                             (learned.reward - true.reward).abs(), true.reward.abs()], dim=-1).float()
        for count in playing.unique().tolist():
            key = f"{kinds[kind]}, on cell {int(on_cell.sum())}, playing it {count}"
            part = flags[playing == count]
            totals = torch.cat([part.sum(0), torch.tensor([float(len(part))])])
            groups[key] = groups.get(key, torch.zeros(len(totals))) + totals
    rows = []
    for key, totals in sorted(groups.items()) + [("all", sum(groups.values()))]:
        branches = float(totals[-1])
        means = (totals[:-1] / branches).tolist()
        rows.append({"group": key, "branches": int(branches), **dict(zip(
            ("prey_cell_acc", "exact_match", "reward_acc", "cont_acc", "true_removed", "reward_abs_error",
             "true_reward_abs"), means))})
    rows[-1]["states"] = len(roots)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a fit saved by scripts/fit_world_model.py (model.pt), or the checkpoint "
                                      "folder of a hop_plus_wm run")
    parser.add_argument("overrides", nargs="*", help="run-config overrides KEY=VALUE (the fit's, e.g. "
                                                     "wm_spatial_fusion=late)")
    parser.add_argument("--env-config", default="stag_hunt_small")
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--states", type=int, default=200, help="decisions on a shared prey cell to score")
    parser.add_argument("--seed", type=int, default=20_000)
    parser.add_argument("--out", help="also write the rows to this new file (JSON lines)")
    options = parser.parse_intermixed_args()
    if options.episodes < 1 or options.states < 1:
        parser.error(f"--episodes ({options.episodes}) and --states ({options.states}) must be >= 1")
    if options.out is not None and os.path.exists(options.out):
        parser.error(f"--out {options.out}: the file exists; give a new file")
    torch.set_num_threads(1)
    from scripts.wm_price import load_world_model_or_exit
    args, model, _ = load_world_model_or_exit(options.model, options.env_config, options.overrides, "wm_counterfactual")
    rows = score(args, model, options.episodes, options.states, options.seed)
    lines = [json.dumps({"env": options.env_config, "model": options.model, **row}) for row in rows]
    print("\n".join(lines), flush=True)
    if options.out is not None:
        with open(options.out, "w") as out:
            out.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
