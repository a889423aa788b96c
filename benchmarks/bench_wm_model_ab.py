"""The spatial world model of another checkout against this one's, on the same planner calls, in one process.

Machine load drifts between runs, so a change to ``modules/world_model/spatial.py`` is timed here by
alternating the two versions of ``SpatialWorldModel`` on one model (same weights, same calls): the
``hop_plus_wm`` planner acts for every agent of ``--envs`` fresh stag_hunt_small envs at their first
step, ``--repeats`` times per version, and the median of the per-repeat time ratios is printed with
both medians (process time, one thread), one JSON line per fusion. It also checks that both versions
pick the same greedy actions. The other version must build the same parameters and attributes
(the class of one built model is swapped), as a change inside a model step does.

    git worktree add /tmp/before <commit>
    python -m benchmarks.bench_wm_model_ab --before /tmp/before [--fusions stem late] [--envs 8] [--repeats 7]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time

import numpy as np
import torch

import envs
from controllers.actors import StepInputs
from controllers.wm_actor import WMPlannerActor
from modules.world_model.spatial import SpatialWorldModel
from tests.helpers import make_args


def _class_of_checkout(checkout: str) -> type:
    path = os.path.join(checkout, "src", "modules", "world_model", "spatial.py")
    if not os.path.isfile(path):
        raise SystemExit(f"bench_wm_model_ab: --before {checkout!r} holds no src/modules/world_model/spatial.py")
    spec = importlib.util.spec_from_file_location("spatial_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SpatialWorldModel


def bench(before: type, fusion: str, n_envs: int, repeats: int) -> dict:
    args = make_args("hop_plus_wm", batch_size_run=n_envs, wm_spatial_fusion=fusion)
    torch.manual_seed(0)
    actor = WMPlannerActor(args)
    model = actor.world_model
    env = envs.REGISTRY[args.env](batch_size=n_envs, **args.env_args)
    env.reset(np.arange(n_envs))
    actor.init_episode(n_envs, np.ones((n_envs, args.n_agents), dtype=bool))
    inputs = StepInputs(env, torch.from_numpy(env.get_obs()), torch.from_numpy(env.get_time()),
                        torch.from_numpy(env.get_avail_actions()), torch.full((n_envs, args.n_agents), -1))
    env_idx = torch.arange(n_envs).repeat_interleave(args.n_agents)
    slot_idx = torch.arange(args.n_agents).repeat(n_envs)
    seconds, actions = {"before": [], "after": []}, {}
    for _ in range(repeats):
        for name, cls in (("before", before), ("after", SpatialWorldModel)):
            model.__class__ = cls
            start = time.process_time()
            actions[name], _ = actor.act(inputs, env_idx, slot_idx, True, torch.Generator().manual_seed(0))  # greedy
            seconds[name].append(time.process_time() - start)
    model.__class__ = SpatialWorldModel
    ratios = [b / a for b, a in zip(seconds["before"], seconds["after"])]
    return {"bench": "wm_model_ab", "fusion": fusion, "envs": n_envs, "repeats": repeats,
            "before_s": round(float(np.median(seconds["before"])), 4),
            "after_s": round(float(np.median(seconds["after"])), 4),
            "before_over_after": round(float(np.median(ratios)), 3),
            "before_over_after_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "same_actions": bool(torch.equal(actions["before"], actions["after"]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a checkout (e.g. a git worktree) of the other commit")
    parser.add_argument("--fusions", nargs="+", default=["stem", "late"], choices=["stem", "late"])
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args()
    torch.set_num_threads(1)
    before = _class_of_checkout(options.before)
    for fusion in options.fusions:
        print(json.dumps(bench(before, fusion, options.envs, options.repeats)), flush=True)


if __name__ == "__main__":
    main()
