"""Cost of HOP+'s opponent models per training iteration, against the throughput budget.

Measures ``ppo`` and ``hop_plus`` (``bench_train.measure``) ``--rounds`` times, interleaved, and
takes medians of the seconds per env step of the rollout and of each learner. Then times the
opponent models' own compute on one rollout's data, one batched call per piece, without data
gathering or optimiser steps (``model_passes``): the VAE prior's encoder over every observation
(selector targets), OMG_AM's encoder + GRU unroll + posterior + decoder forward and backward,
the selector's critic values (policy trunk per focal step, head per candidate), MOA's forward
and backward over the focal rows, and OMG_AM inference at every acting step of a rollout.

Prints one JSON line: seconds per iteration of the rollout and of each learner, the time left for
MOA and OMG_AM together if ``hop_plus`` is to reach ``--target`` of PPO's env steps/s, the
updates' compute floor, and three upper bounds on the ratio:
``ratio_if_opponent_model_updates_free`` (MOA and OMG_AM updates cost nothing),
``ratio_if_rollout_inference_free`` (hop_plus's rollout as cheap as PPO's per env step) and
``ratio_at_model_compute_floor`` (updates and inference reduced to the models' own compute).

    python -m benchmarks.bench_opponent_models [--threads 2] [--batch-size 64] [--target 0.7] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from bench_train import measure
from learners.focal_sequences import focal_sequences
from experiment import Experiment
from launch import load_config, prepare_args
from utils.logging import Logger, get_logger


def seconds(fn, repeats: int) -> float:
    """Mean seconds of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def model_passes(batch_size: int, env: str, repeats: int) -> dict[str, float]:
    """Seconds per iteration of the opponent models' own compute, one batched call per model
    piece on one rollout's data (no data gathering, no optimiser step): what the MOA and OMG_AM
    updates cannot do without, and OMG_AM inference over every acting step of the rollout."""
    config = {"batch_size_run": batch_size, "buffer_size": batch_size, "batch_size": batch_size}
    exp = Experiment(prepare_args(load_config("hop_plus", env, config)), Logger(get_logger()))
    batch, _ = exp.runner.run()
    models, args = exp.mac.modules(), exp.args
    omg, vae, moa, policy = models["omg"], models["vae"], models["moa"], models["policy"]
    seq = focal_sequences(batch, exp.mac.role_index[exp.mac.learned_role.name])
    p, t, k = torch.nonzero(seq.coplayer_mask, as_tuple=True)                  # (focal step, co-player) rows
    focal, inverse = torch.unique(p * seq.steps + t, return_inverse=True)
    obs = seq.obs.flatten(0, 1)
    all_obs = batch["obs"][batch["filled"][..., 0] > 0].flatten(0, 1)        # every agent's observation
    rows, horizon = len(p), args.omg_horizon
    extras = torch.randn(rows, horizon, policy.config["extra_dim"])
    fp, ft = torch.nonzero(seq.focal_mask, as_tuple=True)                      # MOA's rows: focal acting steps
    moa_subgoal = batch["subgoal"][seq.env[fp], ft, seq.slot[fp]] if moa.subgoal_dim else None
    acting_rows = exp.runner.batch_size * args.n_agents                        # rows per acting step, at most

    def vae_targets():
        with torch.no_grad():
            vae.encode(all_obs)

    def omg_forward_backward():
        x = omg.encode(obs)
        cond = omg.unroll(x.view(*seq.obs.shape[:2], -1), seq.prev_actions).flatten(0, 1)[focal]
        mu, log_var = omg.posterior(x[focal], cond)
        decoded = omg.decode(mu[inverse, k][:, None], cond[inverse])
        (decoded.sum() + log_var.sum()).backward()

    def selector_values():
        with torch.no_grad():
            features = policy.features(obs[focal], seq.slot[focal // seq.steps])[inverse]
            policy.values_over_extras(features, seq.time[p, t], seq.slot[p], extras)

    def moa_forward_backward():
        moa(seq.obs[fp, ft], seq.time[fp, ft], seq.prev_actions[fp, ft], moa_subgoal).sum().backward()

    def inference():
        with torch.no_grad():
            step_obs, prev = obs[:acting_rows], seq.prev_actions.flatten(0, 1)[:acting_rows]
            hidden = torch.zeros(len(step_obs), omg.hidden_dim)
            for _ in range(seq.steps - 1):
                x = omg.encode(step_obs)
                omg.posterior(x, omg.step(hidden, x, prev))

    pieces = {"vae_targets": vae_targets, "omg_am_forward_backward": omg_forward_backward,
              "selector_values": selector_values, "moa_forward_backward": moa_forward_backward,
              "rollout_inference": inference}
    return {name: seconds(fn, repeats) for name, fn in pieces.items()}


def median_per_step(results: list[dict]) -> dict[str, float]:
    """Medians over ``bench_train.measure`` results of the seconds per env step of the rollout,
    of each learner, and in total."""
    def per_step(result: dict, seconds_per_iteration: float) -> float:
        return seconds_per_iteration * result["iterations"] / result["env_steps"]
    parts = {"rollout": [per_step(r, r["rollout_s_per_iteration"]) for r in results],
             "total": [1.0 / r["env_steps_per_s"] for r in results]}
    for name in results[0]["update_s_per_learner"]:
        parts[name] = [per_step(r, r["update_s_per_learner"][name]) for r in results]
    return {name: statistics.median(values) for name, values in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--env", default="stag_hunt_small")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved ppo / hop_plus measurements (medians)")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per model pass")
    parser.add_argument("--target", type=float, default=0.7, help="hop_plus env steps/s as a fraction of PPO's")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    runs: dict[str, list[dict]] = {"ppo": [], "hop_plus": []}
    for _ in range(opts.rounds):
        for alg in runs:
            runs[alg].append(measure(alg, opts.env, opts.batch_size, opts.iterations, {}))
    ppo, plus = median_per_step(runs["ppo"]), median_per_step(runs["hop_plus"])
    steps = statistics.median(r["env_steps"] for r in runs["hop_plus"]) / opts.iterations   # per iteration
    passes = model_passes(opts.batch_size, opts.env, opts.repeats)
    budget = ppo["total"] / opts.target               # seconds per env step hop_plus may take
    om_updates = plus["moa"] + plus["omg_am"]
    update_floor = sum(v for name, v in passes.items() if name != "rollout_inference") / steps
    best = ppo["total"] / (ppo["rollout"] + passes["rollout_inference"] / steps + plus["ppo"] + update_floor)
    print(json.dumps({
        "bench": "opponent_models", "env": opts.env, "batch_size_run": opts.batch_size, "threads": opts.threads,
        "rounds": opts.rounds, "env_steps_per_iteration": round(steps),
        "ppo_env_steps_per_s": round(1.0 / ppo["total"], 1), "hop_plus_env_steps_per_s": round(1.0 / plus["total"], 1),
        "ratio": round(ppo["total"] / plus["total"], 3),
        "ppo_s_per_iteration": {k: round(v * steps, 4) for k, v in ppo.items()},
        "hop_plus_s_per_iteration": {k: round(v * steps, 4) for k, v in plus.items()},
        "budget_s_per_iteration": round(budget * steps, 4),
        "left_for_moa_and_omg_am_s": round((budget - plus["total"] + om_updates) * steps, 4),
        "moa_and_omg_am_s": round(om_updates * steps, 4),
        "update_floor_s": round(update_floor * steps, 4),
        "ratio_if_opponent_model_updates_free": round(ppo["total"] / (plus["total"] - om_updates), 3),
        "ratio_if_rollout_inference_free": round(ppo["total"] / (plus["total"] - plus["rollout"] + ppo["rollout"]), 3),
        "ratio_at_model_compute_floor": round(best, 3),
        "model_passes_s": {k: round(v, 4) for k, v in passes.items()},
    }), flush=True)


if __name__ == "__main__":
    main()
