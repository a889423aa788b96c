"""Planning decisions/s of HOP's batched PUCT search vs the unbatched reference (tests/reference_mcts.py).

Defaults are HOP's (tree_num 5, num_simulations 200, c_puct 1, discount 0.95) with the hop alg
config's networks (MLP prior/value and co-player model, untrained, initialised from torch seed 0
so that every run searches the same trees). One JSON line per env: batched decisions/s (all
agents of ``--envs`` envs planning together; best wall-clock time of ``--repeats`` searches, and
the same from process CPU time, which other load on the machine disturbs less), reference
decisions/s, their ratio. ``--goal-update MODE`` benches hop_plus_mcts's search (OMG_AM subgoals,
its untrained networks) instead, without a reference. ``--env`` picks one env (repeatable).
``--rollout-depth 0 10`` times the search with those leaf rollout depths alternately and gives
each one's CPU time relative to the first.
Run: ``python -m benchmarks.bench_mcts [--envs 32] [--threads 1] [--env stag_hunt] [--goal-update every_node]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import numpy as np
import torch

from controllers.mcts_actor import MCTSActor
from controllers.subgoal_mcts_actor import SubgoalMCTSActor
from tests.helpers import make_args
from planners.mcts import BatchedMCTS, SearchSettings
from planners.subgoal_goals import GOAL_UPDATES, RootPosterior, make_subgoal_goals
from planners.tree_goals import DiscreteTreeGoals
from tests.reference_mcts import reference_search


ENVS = ("stag_hunt", "stag_hunt_small")


def hop_goals(env: str, n_envs: int, env_idx: np.ndarray, slot_idx: np.ndarray, core) -> tuple:
    """HOP: the hop alg config's networks and random discrete goals per tree."""
    args = make_args("hop", env, roles=["hop"] * 4, batch_size_run=n_envs)
    torch.manual_seed(0)
    actor = MCTSActor(args)
    goals = np.random.default_rng(0).integers(0, actor.goal_spec.n_goals, size=(len(env_idx), args.tree_num, 4))
    models = actor.models
    return args, models, lambda: DiscreteTreeGoals(models.coplayer_logits, goals, models.sparse_inputs), goals


def subgoal_goals(env: str, n_envs: int, env_idx: np.ndarray, slot_idx: np.ndarray, core, goal_update: str) -> tuple:
    """hop_plus_mcts: its networks, the root posterior from a fresh history, sampled subgoals."""
    args = make_args("hop_plus_mcts", env, roles=["hop_plus_mcts"] * 4, batch_size_run=n_envs, goal_update=goal_update)
    torch.manual_seed(0)
    actor = SubgoalMCTSActor(args)
    with torch.inference_mode():
        x = actor.omg.encode(torch.from_numpy(core.observations(env_idx, slot_idx)))
        cond = actor.omg.step(torch.zeros_like(x), torch.zeros_like(x), torch.zeros(len(x), 4, args.n_actions))
        root = RootPosterior(x, cond, *actor.omg.posterior(x, cond))
    return args, actor.models, lambda: make_subgoal_goals(goal_update, actor.omg, actor.coplayer, root, True), None


def bench(env: str, n_envs: int, repeats: int, reference_decisions: int, goal_update: str | None,
          rollout_depths: list[int]) -> list[dict]:
    """One result per leaf rollout depth, the depths' searches timed alternately (interleaved)."""
    import envs
    env_config = make_args("hop", env)
    core = envs.REGISTRY[env_config.env](batch_size=n_envs, **env_config.env_args).core
    core.reset(np.arange(n_envs))
    env_idx, slot_idx = np.repeat(np.arange(n_envs), 4), np.tile(np.arange(4), n_envs)
    if goal_update is None:
        args, models, make_goals, goals = hop_goals(env, n_envs, env_idx, slot_idx, core)
    else:
        args, models, make_goals, goals = subgoal_goals(env, n_envs, env_idx, slot_idx, core, goal_update)
    settings = SearchSettings.from_args(args)
    searches = [BatchedMCTS(core, models, dataclasses.replace(settings, rollout_depth=depth)) for depth in rollout_depths]
    wall, cpu = [[] for _ in searches], [[] for _ in searches]
    for _ in range(repeats):
        for k, search in enumerate(searches):
            start, start_cpu = time.perf_counter(), time.process_time()
            search.search(core, env_idx, slot_idx, make_goals(), torch.Generator().manual_seed(0))
            wall[k].append(time.perf_counter() - start)
            cpu[k].append(time.process_time() - start_cpu)
    results = []
    for k, (search, depth) in enumerate(zip(searches, rollout_depths)):
        settings = search.settings
        results.append({
            "bench": "mcts", "env": env, "planner": "hop" if goal_update is None else f"hop_plus_mcts/{goal_update}",
            "tree_num": settings.tree_num, "num_simulations": settings.num_simulations, "rollout_depth": depth,
            "planning_agents": len(env_idx), "torch_threads": torch.get_num_threads(),
            "batched_decisions_per_s": round(len(env_idx) / min(wall[k]), 2),
            "batched_cpu_decisions_per_s": round(len(env_idx) / min(cpu[k]), 2),
            "cpu_time_vs_first_depth": round(min(cpu[k]) / min(cpu[0]), 2),
            "repeats": repeats, "reference_decisions_per_s": None, "ratio": None})
    if goals is not None and reference_decisions > 0 and rollout_depths[0] == 0:
        start = time.perf_counter()
        reference_search(core, env_idx[:reference_decisions], slot_idx[:reference_decisions], goals, models,
                         searches[0].settings, np.random.default_rng(0))
        reference = reference_decisions / (time.perf_counter() - start)
        results[0].update(reference_decisions_per_s=round(reference, 3),
                          ratio=round(results[0]["batched_decisions_per_s"] / reference, 1))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", type=int, default=32, help="envs planning together (4 agents each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids contention on 2 cores)")
    parser.add_argument("--repeats", type=int, default=3, help="batched searches timed (the best counts)")
    parser.add_argument("--reference-decisions", type=int, default=1,
                        help="decisions timed for the reference (0 = skip; HOP only)")
    parser.add_argument("--goal-update", choices=list(GOAL_UPDATES),
                        help="bench hop_plus_mcts with this goal_update instead of hop")
    parser.add_argument("--env", action="append", choices=ENVS, help="env to bench (repeatable; default both)")
    parser.add_argument("--rollout-depth", type=int, nargs="+", default=[0],
                        help="leaf rollout depths (mcts_rollout_depth) timed alternately; the reference runs with 0 first")
    options = parser.parse_args()
    if min(options.rollout_depth) < 0:
        parser.error(f"--rollout-depth must be >= 0, got {options.rollout_depth}")
    torch.set_num_threads(options.threads)
    for env in options.env or ENVS:
        for result in bench(env, options.envs, options.repeats, options.reference_decisions, options.goal_update,
                            options.rollout_depth):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
