"""Checks that need files or a guess of resources, run before the Sacred run is created.

``preflight(args)`` makes sure that a mistake records nothing: the results folder is writable,
checkpoints and ``ckpt:`` roles and pretrained models can be read and fit, the replay buffer fits
in memory (``utils.resources.check_buffer_memory``, called where the buffer is built, before allocating), and the
run's objects can be built at all: for ``train`` and ``adapt`` the whole experiment is built once
and the checkpoint loaded into it, so every check a component makes at construction runs here.
"""
from __future__ import annotations

import copy
import gc
import logging
import os
import shutil
import sys
import tempfile

from munch import Munch

from utils.checkpoint import STATE_FILE
from utils.errors import ConfigError

RESULT_DIRS = ("sacred", "models", "tb_logs", "replays")


def _nearest_existing(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _probe_writable(folder: str, what: str) -> None:
    """Create and remove a temporary folder in ``folder``: works for read-only mounts and for root."""
    try:
        probe = tempfile.mkdtemp(prefix=".hopplus-write-test-", dir=folder)
    except OSError as e:
        raise ConfigError(f"{what} '{folder}' is not writable: {e.strerror or e}") from None
    shutil.rmtree(probe, ignore_errors=True)


def check_results_writable(root: str) -> None:
    """ConfigError unless the run can write ``root`` and its sacred/, models/, tb_logs/, replays/."""
    existing = _nearest_existing(root)
    if not os.path.isdir(existing):
        raise ConfigError(f"local_results_path '{root}': '{existing}' is a file, not a folder")
    _probe_writable(existing, "local_results_path" if existing == os.path.abspath(root) else
                    f"local_results_path '{root}': its parent")
    for name in RESULT_DIRS:
        sub = os.path.join(root, name)
        if os.path.exists(sub):
            if not os.path.isdir(sub):
                raise ConfigError(f"local_results_path: '{sub}' is a file; the run writes its {name} folder there")
            _probe_writable(sub, f"local_results_path: '{sub}'")


def resolve_resume(path: str) -> str:
    """The model dir (``models/<token>``) that ``checkpoint_path`` means. A run's results folder
    holding exactly one ``models/<token>`` stands for it; several are ambiguous and refused,
    naming them. A step folder or a model dir is returned as is."""
    if not os.path.isdir(path):
        raise ConfigError(f"checkpoint_path '{path}' is not a directory")
    if os.path.isfile(os.path.join(path, STATE_FILE)):
        return path
    models = os.path.join(path, "models")
    steps = [e for e in os.listdir(path) if e.isdigit()]
    if os.path.isdir(models) and not steps:
        tokens = sorted(os.listdir(models))
        if len(tokens) != 1:
            raise ConfigError(f"checkpoint_path '{path}' holds {len(tokens)} model folders in models/ "
                              f"({', '.join(tokens) or 'none'}); give one of them: {models}/<token>")
        return os.path.join(models, tokens[0])
    return path


def token_to_continue(model_dir: str, results: str) -> str:
    """The run token of ``model_dir`` (``<results>/models/<token>``), which a run resumed in place
    keeps writing to; a folder elsewhere is refused (the run would write outside its results)."""
    parent = os.path.dirname(os.path.abspath(model_dir.rstrip(os.sep)))
    if parent != os.path.abspath(os.path.join(results, "models")):
        raise ConfigError(f"resume_in_place: checkpoint_path '{model_dir}' must be a model folder "
                          f"{os.path.join(results, 'models')}/<token> of this run's local_results_path")
    return os.path.basename(model_dir.rstrip(os.sep))


def _quiet_logger():
    from utils.logging import Logger
    console = logging.getLogger("hopplus.preflight")
    console.propagate = False
    console.setLevel(logging.CRITICAL + 1)
    return Logger(console)


def build_dry(args: Munch) -> None:
    """Build what the run mode builds (and load its checkpoint) once, then drop it."""
    from experiment import Experiment
    logger = _quiet_logger()
    if args.run_mode == "train":
        experiment = Experiment(args, logger)
        if args.checkpoint_path:
            experiment.restore(args.checkpoint_path)
    elif args.run_mode == "adapt":
        from modes.adapt import check_adapt_args, load_focal, resolve_checkpoint
        check_adapt_args(args)
        directory = resolve_checkpoint(args.adapt_checkpoint, args.load_step)
        experiment = Experiment(args, logger)
        load_focal(experiment, directory)
    elif args.run_mode == "probe_subgoals":
        from modes.probe import check_probe_args
        check_probe_args(args)
        experiment = Experiment(args, logger)
        if args.checkpoint_path:
            from modes.adapt import load_focal, resolve_checkpoint
            load_focal(experiment, resolve_checkpoint(args.checkpoint_path, args.load_step, key="checkpoint_path"))
    elif args.run_mode == "collect":
        _check_collect(args)
        return
    elif args.run_mode == "pretrain_vae":
        from pretraining.dataset import load_dataset
        load_dataset(args.dataset_path, args)
        return
    else:
        return
    del experiment
    gc.collect()          # free the dry run's buffer before the real run measures the memory available


def _check_collect(args: Munch) -> None:
    """Every collect mixture: one rule-based role per slot."""
    from controllers.roles import validate_roles
    from pretraining.collect import mixtures
    for plan in mixtures(args):
        plan_args = copy.deepcopy(args)
        plan_args.roles = plan
        kinds = {spec.kind for spec in validate_roles(plan_args)}
        if kinds != {"rule"}:
            raise ConfigError(f"collect_mixtures: {plan} must hold rule-based roles only")


def warnings_for(args: Munch) -> list[str]:
    """Settings that are allowed but almost certainly not meant."""
    found = []
    if args.env == "stag_hunt" and args.n_agents < 2 and args.env_args.n_stags > 0:
        found.append(f"stag_hunt with n_agents={args.n_agents}: a stag needs 2 agents at once, so no stag "
                     "can ever be caught (only hares)")
    return found


def preflight(args: Munch) -> None:
    """Every check that needs a file or memory, before anything is recorded; ConfigError or
    CheckpointError on the first problem. Warnings go to stderr as one line each."""
    check_results_writable(args.local_results_path)
    if args.checkpoint_path:
        args.checkpoint_path = resolve_resume(args.checkpoint_path)
    if args.resume_in_place:
        args.unique_token = token_to_continue(args.checkpoint_path, args.local_results_path)
    for text in warnings_for(args):
        print(f"hopplus: warning: {text}", file=sys.stderr)
    build_dry(copy.deepcopy(args))      # a copy: building must not change what the real run records
