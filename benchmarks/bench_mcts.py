"""Planning decisions/s of HOP's batched PUCT search vs the unbatched reference (tests/reference_mcts.py).

Defaults are HOP's (tree_num 5, num_simulations 200, c_puct 1, discount 0.95) with the hop alg
config's networks (MLP prior/value and co-player model, untrained, initialised from torch seed 0
so that every run searches the same trees). One JSON line per env: batched decisions/s (all
agents of ``--envs`` envs planning together; best wall-clock time of ``--repeats`` searches, and
the same from process CPU time, which other load on the machine disturbs less), reference
decisions/s, their ratio. Run: ``python benchmarks/bench_mcts.py [--envs 32] [--threads 1]``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests")]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from controllers.mcts_actor import MCTSActor  # noqa: E402
from helpers import make_args  # noqa: E402
from planners.mcts import BatchedMCTS, SearchSettings  # noqa: E402
from reference_mcts import reference_search  # noqa: E402


def bench(env: str, n_envs: int, repeats: int, reference_decisions: int) -> dict:
    args = make_args("hop", env, roles=["hop"] * 4, batch_size_run=n_envs)
    torch.manual_seed(0)
    actor = MCTSActor(args)
    import envs
    core = envs.REGISTRY[args.env](batch_size=n_envs, **args.env_args).core
    core.reset(np.arange(n_envs))
    settings = SearchSettings(args.num_simulations, args.tree_num, args.c_puct, args.mcts_discount)
    env_idx, slot_idx = np.repeat(np.arange(n_envs), 4), np.tile(np.arange(4), n_envs)
    goals = np.random.default_rng(0).integers(0, actor.goal_spec.n_goals, size=(len(env_idx), settings.tree_num, 4))
    search = BatchedMCTS(core, actor.models, settings)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        search.search(core, env_idx, slot_idx, goals, torch.Generator().manual_seed(0))
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    batched = len(env_idx) / min(wall)
    start = time.perf_counter()
    reference_search(core, env_idx[:reference_decisions], slot_idx[:reference_decisions], goals, actor.models,
                     settings, np.random.default_rng(0))
    reference = reference_decisions / (time.perf_counter() - start)
    return {"bench": "mcts", "env": env, "tree_num": settings.tree_num, "num_simulations": settings.num_simulations,
            "planning_agents": len(env_idx), "torch_threads": torch.get_num_threads(),
            "batched_decisions_per_s": round(batched, 2), "batched_cpu_decisions_per_s": round(len(env_idx) / min(cpu), 2),
            "repeats": repeats, "reference_decisions_per_s": round(reference, 3),
            "ratio": round(batched / reference, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--envs", type=int, default=32, help="envs planning together (4 agents each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids contention on 2 cores)")
    parser.add_argument("--repeats", type=int, default=3, help="batched searches timed (the best counts)")
    parser.add_argument("--reference-decisions", type=int, default=1, help="decisions timed for the reference")
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    for env in ("stag_hunt", "stag_hunt_small"):
        print(json.dumps(bench(env, options.envs, options.repeats, options.reference_decisions)), flush=True)


if __name__ == "__main__":
    main()
