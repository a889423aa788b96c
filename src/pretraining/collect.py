"""``run_mode: collect``: roll out rule-based co-player mixtures and save their episodes (docs/methods.md: OMG_AM)."""
from __future__ import annotations

import copy
import os

import torch
from munch import Munch

from controllers.role_controller import RoleController
from pretraining.dataset import save_dataset
from runners.parallel_runner import ParallelRunner
from utils.errors import ConfigError


# The default ladder per env: 0..n_agents of the first role with the second filling the rest.
DEFAULT_LADDER = {"stag_hunt": ("NS", "NH"), "snowdrift": ("ND", "FIX")}


def mixtures(args: Munch) -> list[list[str]]:
    """``collect_mixtures``, or the env's default ladder (stag hunt: 0..n_agents NS with NH
    filling the rest; snowdrift: ND with FIX)."""
    if args.collect_mixtures:
        return [list(m) for m in args.collect_mixtures]
    if args.env not in DEFAULT_LADDER:
        raise ConfigError(f"collect: no default mixtures for env '{args.env}'; set collect_mixtures "
                          f"(a list of role lists, one role per slot)")
    first, second = DEFAULT_LADDER[args.env]
    return [[first] * k + [second] * (args.n_agents - k) for k in range(args.n_agents + 1)]


def collect(_run, args: Munch, logger) -> None:
    """Roll out ``collect_episodes`` episodes spread over the mixtures; write them to ``dataset_path``."""
    plans = mixtures(args)
    vocab = sorted({role for plan in plans for role in plan})
    runner = ParallelRunner(args, logger)
    scheme, groups, preprocess = runner.base_scheme(args)
    per_mixture = -(-args.collect_episodes // len(plans))
    batches, slot_roles = [], []
    for plan in plans:
        plan_args = copy.deepcopy(args)
        plan_args.roles = plan
        mac = RoleController(plan_args)
        if mac.learned_role is not None or any(r.kind != "rule" for r in mac.roles):
            raise ConfigError(f"collect_mixtures: {plan} must hold rule-based roles only")
        runner.setup(scheme, groups, preprocess, mac)
        done = 0
        while done < per_mixture:
            batch, _ = runner.run(test_mode=False)
            keep = min(batch.batch_size, per_mixture - done)      # exactly per_mixture episodes
            batch = batch[:keep] if keep < batch.batch_size else batch
            batches.append(batch)
            slot_roles.append(torch.tensor([vocab.index(r) for r in plan]).repeat(keep, 1))
            done += keep
        logger.console.info(f"collect: {done} episodes with roles {plan}")
    path = args.dataset_path or os.path.join(args.local_results_path, "datasets", f"{args.unique_token}.pt")
    save_dataset(path, batches, torch.cat(slot_roles), vocab, args)
    logger.console.info(f"collect: wrote {sum(b.batch_size for b in batches)} episodes to {path}")
    _run.info["dataset_path"] = path
