"""End-to-end planning throughput of HOP next to the search benchmark, measured interleaved.

For each ``--envs`` value and each ``--runners`` entry (``parallel``: every rollout plays its
episodes to the end; ``stream``: episodes stream over the envs, see ``runners.stream_runner``): a
``hop`` training run (``--roles``, default one planner next to three NS on ``--env``) plays
``--rollouts`` training rollouts of that many envs, each followed by its learners' updates (a
stream's running episodes are drained at the end, and count); its decisions/s is the number of
searches (one per planning agent and step) over the wall time of rollouts and updates. In the same loop, ``benchmarks.bench_mcts`` times the
bare batched search on fresh maps with as many planning agents as the run plans for at its first
step. ``mean_agents_per_search`` is how many planning agents one search call of the run served
on average (episodes end at different steps, so the batch shrinks as a rollout goes on), and
``bench_cpu_decisions_per_s_at_mean_agents`` the bare search's figure at that many agents. Each
triple is measured ``--repeats`` times alternately; one JSON line per ``--envs`` value
with the medians and ``ratio`` = end-to-end / bench (process CPU time, which the machine's other
load disturbs less, and wall time).
Run: ``python -m benchmarks.bench_planner_e2e [--env stag_hunt] [--envs 8 32] [--rollouts 1]``.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import envs
from benchmarks.bench_mcts import hop_goals
from planners.mcts import BatchedMCTS, SearchSettings
from tests.helpers import make_args, make_experiment


def end_to_end(env: str, roles: list[str], n_envs: int, rollouts: int, runner: str) -> tuple[float, float, int, float]:
    """(decisions per wall second, per CPU second, decisions, mean planning agents per search call)
    of ``rollouts`` training steps with ``runner``."""
    experiment = make_experiment("hop", env, roles=roles, batch_size_run=n_envs, buffer_size=max(64, 2 * n_envs),
                                 batch_size=min(32, n_envs), seed=0, runner=runner)
    actor = experiment.mac.actor
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(rollouts):
        experiment.train_step()
    experiment.drain()
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    decisions = actor.planned_decisions
    return decisions / wall, decisions / cpu, decisions, decisions / max(actor.search_calls, 1)


def bare_search(env: str, n_agents: int) -> tuple[float, float]:
    """(decisions per wall second, per CPU second) of one search for ``n_agents`` planning agents."""
    n_envs = -(-n_agents // 4)
    args = make_args("hop", env)
    core = envs.REGISTRY[args.env](batch_size=n_envs, **args.env_args).core
    core.reset(np.arange(n_envs))
    env_idx, slot_idx = np.repeat(np.arange(n_envs), 4)[:n_agents], np.tile(np.arange(4), n_envs)[:n_agents]
    args, models, make_goals, _ = hop_goals(env, n_envs, env_idx, slot_idx, core)
    search = BatchedMCTS(core, models, SearchSettings(args.num_simulations, args.tree_num, args.c_puct,
                                                      args.mcts_discount))
    start, start_cpu = time.perf_counter(), time.process_time()
    search.search(core, env_idx, slot_idx, make_goals(), torch.Generator().manual_seed(0))
    return n_agents / (time.perf_counter() - start), n_agents / (time.process_time() - start_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", default="stag_hunt")
    parser.add_argument("--roles", default="hop,NS,NS,NS", help="comma-separated roles of the hop run")
    parser.add_argument("--envs", type=int, nargs="+", default=[8, 32], help="batch_size_run values")
    parser.add_argument("--rollouts", type=int, default=1)
    parser.add_argument("--runners", nargs="+", default=["parallel", "stream"], choices=["parallel", "stream"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    roles = options.roles.split(",")
    for n_envs in options.envs:
        agents = n_envs * sum(role == "hop" for role in roles)
        e2e = {runner: [] for runner in options.runners}
        bench, bench_shrunk = [], {runner: [] for runner in options.runners}
        for _ in range(options.repeats):
            bench.append(bare_search(options.env, agents))
            for runner in options.runners:
                e2e[runner].append(end_to_end(options.env, roles, n_envs, options.rollouts, runner))
                bench_shrunk[runner].append(bare_search(options.env, max(1, round(e2e[runner][-1][3]))))
        bench_wall, bench_cpu = np.median([b[0] for b in bench]), np.median([b[1] for b in bench])
        for runner in options.runners:
            runs = e2e[runner]
            e2e_wall, e2e_cpu = np.median([e[0] for e in runs]), np.median([e[1] for e in runs])
            print(json.dumps({"bench": "planner_e2e", "env": options.env, "roles": roles, "runner": runner,
                              "batch_size_run": n_envs, "planning_agents_at_start": agents, "decisions": int(runs[0][2]),
                              "mean_agents_per_search": round(float(np.median([e[3] for e in runs])), 1),
                              "e2e_decisions_per_s": round(e2e_wall, 2), "bench_decisions_per_s": round(bench_wall, 2),
                              "e2e_cpu_decisions_per_s": round(e2e_cpu, 2), "bench_cpu_decisions_per_s": round(bench_cpu, 2),
                              "bench_cpu_decisions_per_s_at_mean_agents":
                                  round(float(np.median([b[1] for b in bench_shrunk[runner]])), 2),
                              "ratio_cpu": round(e2e_cpu / bench_cpu, 3), "ratio_wall": round(e2e_wall / bench_wall, 3),
                              "rollouts": options.rollouts, "repeats": options.repeats,
                              "torch_threads": options.threads}), flush=True)


if __name__ == "__main__":
    main()
