"""Fit a world model offline on episodes of the usual co-player mixtures and score it on held-out ones.

    python -m scripts.fit_world_model --env-config stag_hunt_small --out docs/results/wm/stag_hunt_small

Data: for each mixture (``--mixtures``, default NS NH RAND self), ``--train-batches`` batches of
``--batch-episodes`` training-mode episodes and one batch of test-mode episodes (the test seed stream,
never trained on) with roles [ppo, X, X, X] (``self``: [ppo]*4), the ``ppo`` role an untrained (near
uniform) policy. Every acting agent's transitions are rows (``learners.world_model_learner.transitions``).
The ``--latent`` world model (run config ``hop_plus_wm``: ``wm_*`` keys, overridable as KEY=VALUE) is
trained with ``world_model_losses`` on minibatches of ``--minibatch`` rows for ``--updates`` updates
(Adam at ``wm_lr``, cosine-annealed to zero: reward regression needs the small final steps);
every ``--eval-every`` updates the held-out one-step metrics are appended to the curve. At the end the
held-out metrics per mixture (``learners.world_model_eval.accuracy_metrics``) and the open-loop
rollout exact-match rates up to ``--k`` steps are written to ``<out>/metrics.json``, the curve to
``<out>/curve.json`` and ``<out>.png``, the model to ``<out>/model.pt``. ``use_cuda=True`` fits on
the GPU (the episodes are still played on the CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from utils.errors import ConfigError


def collect(options, mixture: str, test_mode: bool, batches: int, device: str = "cpu"):
    """``batches`` runner batches of mixture ``mixture`` (a list of EpisodeBatch on ``device``; the
    rollouts themselves run on the CPU)."""
    from experiment import Experiment
    from launch import load_config, prepare_args
    from utils.logging import Logger, get_logger

    n_agents = load_config("ppo", options.env_config, {})["env_args"]["n_agents"]
    roles = ["ppo"] * n_agents if mixture == "self" else ["ppo"] + [mixture] * (n_agents - 1)
    overrides = {"roles": roles, "batch_size_run": options.batch_episodes, "buffer_size": options.batch_episodes,
                 "save_model": False, "seed": options.seed + (1000 if test_mode else 0)}
    experiment = Experiment(prepare_args(load_config("ppo", options.env_config, overrides)), Logger(get_logger()))
    return [experiment.runner.run(test_mode=test_mode)[0].to(device) for _ in range(batches)]


def concat(parts):
    from learners.world_model_learner import Transitions
    return Transitions(*(torch.cat([getattr(p, f) for p in parts]) for f in
                         ("obs", "next_obs", "joint", "reward", "done", "returns")))


def subset(data, index):
    from learners.world_model_learner import Transitions
    return Transitions(data.obs[index], data.next_obs[index], data.joint[index], data.reward[index],
                       data.done[index], data.returns[index])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="run-config overrides KEY=VALUE (e.g. wm_spatial_channels=64)")
    parser.add_argument("--env-config", default="stag_hunt_small")
    parser.add_argument("--latent", default="spatial", help="wm_latent: spatial | flat")
    parser.add_argument("--mixtures", nargs="+", default=["NS", "NH", "RAND", "self"])
    parser.add_argument("--train-batches", type=int, default=4, help="training batches per mixture")
    parser.add_argument("--batch-episodes", type=int, default=64)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--minibatch", type=int, default=1024)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--k", type=int, default=5, help="longest open-loop rollout scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output directory")
    options = parser.parse_args()
    torch.set_num_threads(1)
    from learners.world_model_eval import accuracy_metrics, rollout_errors
    from learners.world_model_learner import transitions, world_model_losses
    from controllers.wm_actor import build_world_model
    from modules.world_model.grid_rules import grid_rules
    from modules.world_model.fitted import save_fitted
    from launch import load_config, prepare_args

    from utils.config import parse_yaml_value
    if any("=" not in kv for kv in options.overrides):
        print(f"error: overrides must be KEY=VALUE (yaml values), got {options.overrides}", file=sys.stderr)
        return 2
    try:
        overrides = {"wm_latent": options.latent, "seed": options.seed,
                     **{key: parse_yaml_value(value, f"fit_world_model override {key}")
                        for key, value in (kv.split("=", 1) for kv in options.overrides)}}
        args = prepare_args(load_config("hop_plus_wm", options.env_config, overrides))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    model = build_world_model(args)
    names = grid_rules(args).channel_names
    began = time.time()
    train_parts, test_data, test_batches = [], {}, {}
    for mixture in options.mixtures:
        train_parts += [transitions(b, model, args.gamma) for b in collect(options, mixture, False,
                                                                            options.train_batches, args.device)]
        test_batches[mixture] = collect(options, mixture, True, 1, args.device)[0]
        test_data[mixture] = transitions(test_batches[mixture], model, args.gamma)
    train = concat([p for p in train_parts if p is not None])
    held_out = concat(list(test_data.values()))
    print(f"train rows {len(train.reward)}, held-out rows {len(held_out.reward)}, collected in "
          f"{time.time() - began:.0f} s", flush=True)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.wm_lr, eps=args.optim_eps)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, max(options.updates, 1))
    generator = torch.Generator().manual_seed(options.seed)
    curve, began = [], time.time()
    for update in range(options.updates + 1):
        if update % options.eval_every == 0 or update == options.updates:
            point = {"update": update, "seconds": time.time() - began,
                     **accuracy_metrics(model, held_out, names)}
            curve.append(point)
            print(json.dumps({k: round(v, 5) for k, v in point.items()}), flush=True)
        if update == options.updates:
            break
        index = torch.randint(len(train.reward), (options.minibatch,), generator=generator)
        losses, _ = world_model_losses(model, subset(train, index), args, names)
        optimiser.zero_grad()
        losses["wm_loss"].backward()
        optimiser.step()
        schedule.step()
    os.makedirs(options.out, exist_ok=True)
    final = {"env": options.env_config, "latent": options.latent, "updates": options.updates,
             "train_rows": len(train.reward), "seconds": time.time() - began, "overrides": options.overrides,
             "all": {**accuracy_metrics(model, held_out, names), **_rollouts(model, test_batches, options.k)}}
    for mixture in options.mixtures:
        final[mixture] = {**accuracy_metrics(model, test_data[mixture], names),
                          **rollout_errors(model, test_batches[mixture], options.k)}
    with open(os.path.join(options.out, "metrics.json"), "w") as f:
        json.dump(final, f, indent=1)
    with open(os.path.join(options.out, "curve.json"), "w") as f:
        json.dump(curve, f)
    save_fitted(model, os.path.join(options.out, "model.pt"))
    _plot(curve, names, f"{options.env_config} ({options.latent})", options.out.rstrip("/") + ".png")
    print(json.dumps(final["all"]), flush=True)
    return 0


def _rollouts(model, batches: dict, k: int) -> dict[str, float]:
    """Open-loop rollout exact-match rates over all mixtures (row-weighted)."""
    from learners.world_model_eval import rollout_errors
    per = [rollout_errors(model, b, k) for b in batches.values()]
    out = {}
    for step in range(1, k + 1):
        rows = sum(p.get(f"rollout_rows_k{step}", 0.0) for p in per)
        if rows:
            out[f"rollout_exact_match_k{step}"] = sum(p.get(f"rollout_exact_match_k{step}", 0.0) *
                                                      p.get(f"rollout_rows_k{step}", 0.0) for p in per) / rows
    return out


def _plot(curve: list[dict], names: tuple[str, ...], title: str, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    updates = [p["update"] for p in curve]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key, label in [("exact_match", "exact match"), ("reward_acc", "reward acc"), ("done_acc", "done acc")]:
        ax.plot(updates, [p[key] for p in curve], label=label)
    ax.plot(updates, [min(p[f"cell_acc_{n}"] for n in names if n.startswith(("self", "agent"))) for p in curve],
            label="cell acc, worst agent channel")
    ax.set_xlabel("update")
    ax.set_ylabel("held-out one-step")
    ax.set_ylim(0, 1.01)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
