"""Cost of HOP+'s opponent models per training iteration, against the throughput budget.

Runs one rollout of ``hop_plus`` (B envs), then times each conv trunk's forward and
forward+backward over that batch's observations. The MOA and OMG_AM updates cannot do with less
than the VAE prior's encoder forward (selector targets), the OMG_AM encoder forward+backward and
one MOA forward+backward (MOA's accuracy forward and the selector's policy-trunk forward could in
principle be reused from elsewhere, so they are not counted). Prints one JSON line: seconds per
iteration of the rollout and of each learner (``bench_train``), the time left for MOA and
OMG_AM together if ``hop_plus`` is to reach ``--target`` of PPO's env steps/s, and that floor.

    python benchmarks/bench_opponent_models.py [--threads 2] [--batch-size 64] [--target 0.7]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import torch  # noqa: E402

from bench_train import measure  # noqa: E402
from run import Experiment  # noqa: E402
from utils.config import build_config  # noqa: E402
from utils.experiment import prepare_args  # noqa: E402
from utils.logging import Logger, get_logger  # noqa: E402


def seconds(fn, repeats: int) -> float:
    """Mean seconds of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def conv_passes(batch_size: int, env: str, repeats: int) -> dict[str, float]:
    """Seconds per pass of each opponent-model conv trunk (and the policy's) over one rollout's observations."""
    config = {"batch_size_run": batch_size, "buffer_size": batch_size, "batch_size": batch_size}
    exp = Experiment(prepare_args(build_config("hop_plus", env, config)), Logger(get_logger()))
    batch, _ = exp.runner.run()
    obs = batch["obs"][batch["filled"][..., 0] > 0].flatten(0, 1)          # every agent's observation
    models = exp.mac.modules()
    trunks = {"vae": models["vae"].trunk, "omg_am": models["omg"].encoder, "moa": models["moa"].trunk,
              "policy": models["policy"].nets[0].trunk}

    def forward(trunk):
        with torch.no_grad():
            trunk(obs)

    def forward_backward(trunk):
        trunk(obs).sum().backward()

    out = {"observations": int(obs.shape[0])}
    for name, trunk in trunks.items():
        out[f"{name}_forward_s"] = seconds(lambda: forward(trunk), repeats)
        out[f"{name}_forward_backward_s"] = seconds(lambda: forward_backward(trunk), repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--env", default="stag_hunt_small")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.7, help="hop_plus env steps/s as a fraction of PPO's")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    ppo = measure("ppo", opts.env, opts.batch_size, opts.iterations, {})
    plus = measure("hop_plus", opts.env, opts.batch_size, opts.iterations, {})
    passes = conv_passes(opts.batch_size, opts.env, opts.repeats)
    steps = plus["env_steps"] / opts.iterations                       # env steps per iteration
    budget = steps / (opts.target * ppo["env_steps_per_s"])           # seconds hop_plus may take per iteration
    without_om = plus["rollout_s_per_iteration"] + plus["update_s_per_learner"]["ppo"]
    floor = passes["vae_forward_s"] + passes["omg_am_forward_backward_s"] + passes["moa_forward_backward_s"]
    print(json.dumps({
        "bench": "opponent_models", "env": opts.env, "batch_size_run": opts.batch_size, "threads": opts.threads,
        "ppo_env_steps_per_s": ppo["env_steps_per_s"], "hop_plus_env_steps_per_s": plus["env_steps_per_s"],
        "ratio": round(plus["env_steps_per_s"] / ppo["env_steps_per_s"], 3),
        "hop_plus_s_per_iteration": {"rollout": plus["rollout_s_per_iteration"], **plus["update_s_per_learner"]},
        "budget_s_per_iteration": round(budget, 4),
        "left_for_moa_and_omg_am_s": round(budget - without_om, 4),
        "moa_and_omg_am_s": round(plus["update_s_per_learner"]["moa"] + plus["update_s_per_learner"]["omg_am"], 4),
        "floor_conv_passes_s": round(floor, 4),
        "conv_passes_s": {k: round(v, 4) for k, v in passes.items()},
    }), flush=True)


if __name__ == "__main__":
    main()
