"""Cost of EpisodeBatch.update and ReplayBuffer insert/sample for a stag-hunt-sized scheme.

4 agents, obs 7x8x8, 7 actions, 36 steps (episode_limit 35 + 1), 32 envs per rollout.
Prints one JSON line (times in microseconds unless the key says ms).

    python -m benchmarks.bench_buffer [--buffer-size 512] [--batch-size 32] [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from components.episode_buffer import EpisodeBatch, ReplayBuffer
from components.transforms import OneHot

N_AGENTS, N_ACTIONS, OBS_SHAPE, T, B = 4, 7, (7, 8, 8), 36, 32
SCHEME = {
    "state": {"vshape": (7, 8, 8)},
    "obs": {"vshape": OBS_SHAPE, "group": "agents"},
    "time": {"vshape": (1,)},
    "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
    "avail_actions": {"vshape": (N_ACTIONS,), "group": "agents", "dtype": torch.int8},
    "reward": {"vshape": (1,), "group": "agents"},
    "terminated": {"vshape": (1,), "dtype": torch.uint8},
    "alive": {"vshape": (1,), "group": "agents", "dtype": torch.uint8},
}
GROUPS = {"agents": N_AGENTS}


def preprocess() -> dict:
    return {"actions": ("actions_onehot", [OneHot(out_dim=N_ACTIONS)])}


def step_data(rng: np.random.Generator, as_torch: bool) -> tuple[dict, dict]:
    """What a batched runner writes before (pre) and after (post) an env step, as numpy or torch."""
    pre = {
        "state": rng.random((B, *OBS_SHAPE), dtype=np.float32),
        "obs": rng.random((B, N_AGENTS, *OBS_SHAPE), dtype=np.float32),
        "time": rng.random((B, 1), dtype=np.float32),
        "avail_actions": np.ones((B, N_AGENTS, N_ACTIONS), dtype=np.int8),
        "alive": np.ones((B, N_AGENTS), dtype=np.uint8),
        "actions": rng.integers(0, N_ACTIONS, (B, N_AGENTS)),
    }
    post = {"reward": rng.random((B, N_AGENTS), dtype=np.float32), "terminated": np.zeros(B, dtype=np.uint8)}
    if as_torch:
        pre = {k: torch.from_numpy(v) for k, v in pre.items()}
        post = {k: torch.from_numpy(v) for k, v in post.items()}
    return pre, post


def time_updates(as_torch: bool, repeats: int) -> float:
    """Microseconds per env step (two `update` calls, as a runner makes) for all B envs."""
    rng = np.random.default_rng(0)
    steps = [step_data(rng, as_torch) for _ in range(T - 1)]
    best = float("inf")
    for _ in range(repeats):
        batch = EpisodeBatch(SCHEME, GROUPS, B, T, preprocess=preprocess())
        start = time.perf_counter()
        for t, (pre, post) in enumerate(steps):
            batch.update(pre, ts=t)
            batch.update(post, ts=t)
        best = min(best, (time.perf_counter() - start) / (T - 1))
    return best * 1e6


def time_call(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buffer-size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32, help="episodes per sample")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)

    update_np = time_updates(False, args.repeats)
    update_torch = time_updates(True, args.repeats)

    rng = np.random.default_rng(1)
    episode = EpisodeBatch(SCHEME, GROUPS, B, T, preprocess=preprocess())
    for t in range(T - 1):
        pre, post = step_data(rng, True)
        episode.update(pre, ts=t)
        episode.update(post, ts=t)
    buffer = ReplayBuffer(SCHEME, GROUPS, args.buffer_size, T, preprocess=preprocess(), seed=0)
    insert = time_call(lambda: buffer.insert_episode_batch(episode), max(args.repeats, args.buffer_size // B + 1))
    sample = time_call(lambda: buffer.sample(args.batch_size), args.repeats)
    latest = time_call(lambda: buffer.sample_latest(B), args.repeats)
    print(json.dumps({
        "bench": "buffer",
        "n_agents": N_AGENTS, "obs_shape": list(OBS_SHAPE), "max_seq_length": T, "envs": B,
        "buffer_size": args.buffer_size, "sample_batch_size": args.batch_size, "torch_threads": 1,
        "update_per_step_us_numpy": round(update_np, 1),
        "update_per_step_us_torch": round(update_torch, 1),
        "update_per_env_step_us_numpy": round(update_np / B, 2),
        "insert_episode_batch_us": round(insert, 1),
        "sample_us": round(sample, 1),
        "sample_latest_us": round(latest, 1),
        "buffer_memory_mb": round(buffer.memory_bytes() / 2**20, 1),
    }))


if __name__ == "__main__":
    main()
