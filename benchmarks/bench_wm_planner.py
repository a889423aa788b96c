"""World-model planner decisions/s (docs/methods.md: World-model planning): one JSON line per setting.

A decision is one planning agent's action at one step: ``WMPlannerActor.act`` for every agent of
``--envs`` envs of stag_hunt (the default env config; 4 agents each), i.e. OMG-free MOA co-player predictions plus the
batched lookahead in the (untrained, torch seed 0) latent world model. Settings: one_step and h_step
(horizon 3) with the exact (216 co-player joint actions), sampled (16) or stratified (16, the default)
expectation. ``wall`` is
elapsed time, ``cpu`` process time (less disturbed by other load); best of ``--repeats`` steps.

    python -m benchmarks.bench_wm_planner [--envs 16] [--threads 1] [--repeats 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import envs
from controllers.actors import StepInputs
from controllers.wm_actor import WMPlannerActor
from tests.helpers import make_args

SETTINGS = [(planner, horizon, expectation) for planner, horizon in (("one_step", 1), ("h_step", 3))
            for expectation in ("exact", "sampled", "stratified")]


def bench(planner: str, horizon: int, expectation: str, n_envs: int, repeats: int, device: str) -> dict:
    args = make_args("hop_plus_wm", wm_planner=planner, wm_horizon=horizon, wm_coplayer_expectation=expectation,
                     batch_size_run=n_envs, use_cuda=device == "cuda")
    torch.manual_seed(0)
    actor = WMPlannerActor(args)
    env = envs.REGISTRY[args.env](batch_size=n_envs, **args.env_args)
    env.reset(np.arange(n_envs))
    actor.init_episode(n_envs, np.ones((n_envs, 4), dtype=bool))
    to = lambda a: torch.from_numpy(a).to(args.device)  # noqa: E731
    inputs = StepInputs(env, to(env.get_obs()), to(env.get_time()), to(env.get_avail_actions()),
                        torch.full((n_envs, 4), -1, dtype=torch.long, device=args.device))
    env_idx = torch.arange(n_envs, device=args.device).repeat_interleave(4)
    slot_idx = torch.arange(4, device=args.device).repeat(n_envs)
    generator = torch.Generator(device=args.device).manual_seed(0)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        actor.act(inputs, env_idx, slot_idx, False, generator)
        if device == "cuda":
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    decisions = len(env_idx)
    return {"bench": "wm_planner", "env": args.env, "planner": planner, "horizon": horizon,
            "expectation": expectation, "samples": actor.planner.settings.draws,
            "planning_agents": decisions, "device": device, "torch_threads": torch.get_num_threads(),
            "decisions_per_s": round(decisions / min(wall), 1), "cpu_decisions_per_s": round(decisions / min(cpu), 1),
            "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=16, help="envs planning together (4 agents each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids contention on 2 cores)")
    parser.add_argument("--repeats", type=int, default=3, help="steps timed (the best counts)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    for planner, horizon, expectation in SETTINGS:
        print(json.dumps(bench(planner, horizon, expectation, options.envs, options.repeats, options.device)),
              flush=True)


if __name__ == "__main__":
    main()
