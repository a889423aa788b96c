"""GPU smoke run: every algorithm trains a few hundred env steps with ``use_cuda=True``.

One JSON line per algorithm: env steps done, seconds, env steps/s, the devices its modules and
the buffer ended up on, peak CUDA memory, and the error if it failed. Exit status 1 when any
algorithm failed, 2 when CUDA is unavailable (``--cpu`` runs the same on the CPU, to check the
script itself). Planning algorithms use a small search (``--simulations``); the envs and the
search stay numpy on the CPU, the networks run on the GPU.

    python -m benchmarks.gpu_smoke [--steps 400] [--algs ppo hop ...] [--env stag_hunt_small] [--set KEY=VALUE ...]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import traceback

import torch

from experiment import Experiment
from launch import load_config, prepare_args
from utils.config import parse_overrides
from utils.logging import Logger, get_logger

ALGS = ("ppo", "hop", "direct_om", "hop_plus", "hop_plus_mcts", "hop_plus_wm", "hop_plus_mbrl")


def smoke(alg: str, env: str, steps: int, simulations: int, use_cuda: bool, results: str,
          settings: dict | None = None) -> dict:
    """Train ``alg`` for at least ``steps`` env steps (``settings`` on top of the smoke's own); what ran where, and
    how fast."""
    overrides = {"use_cuda": use_cuda, "t_max": steps, "batch_size_run": 8, "buffer_size": 8, "batch_size": 8,
                 "test_nepisode": 8, "test_interval": steps, "log_interval": steps, "save_model": False,
                 "local_results_path": results}
    if alg in ("hop", "direct_om", "hop_plus_mcts"):
        overrides.update(num_simulations=simulations, tree_num=2)
    overrides.update(settings or {})
    record: dict = {"alg": alg, "env": env, "use_cuda": use_cuda, **({"set": settings} if settings else {})}
    start = time.perf_counter()
    try:
        if use_cuda:
            torch.cuda.reset_peak_memory_stats()
        console = get_logger()
        console.setLevel(logging.WARNING)          # stdout holds the JSON lines only
        exp = Experiment(prepare_args(load_config(alg, env, overrides)), Logger(console))
        exp.train()
        seconds = time.perf_counter() - start
        devices = {name: sorted({p.device.type for p in module.parameters()}) for name, module in exp._modules().items()}
        record.update(ok=True, env_steps=exp.runner.t_env, seconds=round(seconds, 2),
                      env_steps_per_s=round(exp.runner.t_env / seconds, 1), buffer_device=str(exp.buffer.device),
                      module_devices=devices)
        if use_cuda:
            record["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    except Exception as error:  # noqa: BLE001  (one algorithm's failure must not hide the others')
        record.update(ok=False, seconds=round(time.perf_counter() - start, 2), error=f"{type(error).__name__}: {error}",
                      where=traceback.format_exc(limit=-3).strip().splitlines()[-4:])
    return record


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algs", nargs="+", default=list(ALGS), choices=ALGS)
    p.add_argument("--env", default="stag_hunt_small", help="env yaml in config/envs/")
    p.add_argument("--steps", type=int, default=400, help="env steps per algorithm (at least)")
    p.add_argument("--simulations", type=int, default=16, help="num_simulations of the planning algorithms")
    p.add_argument("--cpu", action="store_true", help="run on the CPU instead (checks the script without a GPU)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for every algorithm")
    options = p.parse_args()
    settings = parse_overrides(options.set, "--set")
    if not options.cpu and not torch.cuda.is_available():
        print("gpu_smoke: torch sees no CUDA device (torch.cuda.is_available() is False); install a CUDA build "
              "of torch on a machine with a GPU, or pass --cpu to check the script on the CPU", file=sys.stderr)
        return 2
    failed = 0
    with tempfile.TemporaryDirectory() as results:
        for alg in options.algs:
            record = smoke(alg, options.env, options.steps, options.simulations, not options.cpu, results, settings)
            failed += not record["ok"]
            print(json.dumps(record), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
