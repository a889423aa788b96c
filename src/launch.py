"""Turn a merged config into run arguments (derived values set once), start a Sacred run and
dispatch it to its run mode (``modes.REGISTRY[args.run_mode]``)."""
from __future__ import annotations

import copy
import datetime
import difflib
import logging
import os
import secrets
from typing import Any, Mapping

import torch
from munch import Munch, munchify, unmunchify

import controllers
import envs
import learners
import modes
import runners
from controllers.roles import validate_roles
from controllers.subgoal_actor import check_pretrained
from modules.agents import REGISTRY as AGENT_REGISTRY
from utils.config import build_config
from utils.errors import ConfigError
from utils.logging import Logger, get_logger


def check_registry(what: str, name: Any, registry: Mapping[str, Any]) -> None:
    """Raise ConfigError if ``name`` is not registered, listing what is."""
    if name not in registry:
        close = difflib.get_close_matches(str(name), list(registry), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown {what} '{name}'. Available: {', '.join(sorted(registry))}.{hint}")


def declared_defaults() -> dict[str, Any]:
    """The config keys that learners and actors declare (``config_defaults``), with their defaults.

    ``build_config`` adds them to ``config/default.yaml``'s keys; a key has one home (declared with
    two defaults, or also in default.yaml, is an error)."""
    declared: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for kind, registry in (("learner", learners.REGISTRY), ("actor", controllers.REGISTRY)):
        for name, cls in registry.items():
            for key, value in cls.config_defaults.items():     # a subclass inherits its parent's declarations
                if key in declared and declared[key] != value:
                    raise ConfigError(f"config key '{key}' is declared by {owner[key]} and, with another default, "
                                      f"by {kind} '{name}'")
                declared.setdefault(key, value)
                owner.setdefault(key, f"{kind} '{name}'")
    return declared


def load_config(alg: str, env: str, overrides: dict | None = None) -> dict:
    """The merged, type-checked config of a run: default.yaml and the declared keys < env < alg < overrides."""
    return build_config(alg, env, overrides, declared=declared_defaults())


def role_summary(roles: list[str]) -> str:
    """Compact role list for run tokens: ['ppo','NS','NS','NS'] -> 'ppo-NSx3'."""
    parts: list[str] = []
    for role in roles:
        name = os.path.basename(role.rstrip("/")) if role.startswith("ckpt:") else role
        if parts and parts[-1].split("x")[0] == name:
            base, _, count = parts[-1].partition("x")
            parts[-1] = f"{base}x{int(count or 1) + 1}"
        else:
            parts.append(name)
    return "-".join(parts)


def check_stream_runner(args: Munch) -> None:
    """The stream runner restarts single envs' episodes: the actor must support it."""
    streaming = sorted(name for name, cls in controllers.REGISTRY.items() if cls.streams)
    if not controllers.REGISTRY[args.actor].streams:
        raise ConfigError(f"runner 'stream' needs an actor that can restart one env's episode while the others "
                          f"run; actor '{args.actor}' cannot. Actors that can: {', '.join(streaming)}; "
                          f"or use runner: parallel")


def prepare_args(config: dict) -> Munch:
    """Validate registry names and set every derived value (env info, device, token) in one place."""
    args = munchify(copy.deepcopy(config))
    check_registry("run_mode", args.run_mode, modes.REGISTRY)
    check_registry("env", args.env, envs.REGISTRY)
    check_registry("runner", args.runner, runners.REGISTRY)
    check_registry("agent network", args.agent, AGENT_REGISTRY)
    check_registry("actor", args.actor, controllers.REGISTRY)
    for slot in args.learners:
        check_registry("learner", args.learner if slot == "policy" else slot, learners.REGISTRY)
    run_learners = [learners.REGISTRY[args.learner if slot == "policy" else slot] for slot in args.learners]
    if args.batch_size_run < 1 or args.buffer_size < args.batch_size_run:
        raise ConfigError(f"batch_size_run ({args.batch_size_run}) must be >= 1 and <= buffer_size ({args.buffer_size})")
    if args.runner == "stream":
        check_stream_runner(args)
    for key in dict.fromkeys(k for cls in run_learners for k in cls.update_counts):
        if args[key] < 1:
            raise ConfigError(f"{key} must be >= 1 (updates per rollout), got {args[key]}")
    if args.checkpoint_path and not os.path.isdir(args.checkpoint_path):
        raise ConfigError(f"checkpoint_path '{args.checkpoint_path}' is not a directory")
    if args.evaluate and not args.checkpoint_path and any(r == args.name for r in args.roles):
        raise ConfigError(f"evaluate=True with the learned role '{args.name}' needs checkpoint_path")
    if args.use_cuda and not torch.cuda.is_available():
        raise ConfigError("use_cuda=True but torch sees no CUDA device; set use_cuda=False")

    if args.env_args.seed is None:
        args.env_args.seed = args.seed
    try:
        env = envs.REGISTRY[args.env](batch_size=1, **args.env_args)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"env_args for env '{args.env}': {e}") from None
    info = env.get_env_info()
    args.n_agents = int(info["n_agents"])
    args.n_actions = int(info["n_actions"])
    args.obs_shape = list(info["obs_shape"])
    args.state_shape = list(info["state_shape"])
    args.episode_limit = int(info["episode_limit"])
    validate_roles(args)
    check_pretrained(args)       # a bad vae_load_path / moa_load_path is a config error, not a failed run
    args.device = "cuda" if args.use_cuda else "cpu"
    # The random suffix keeps two runs started in the same second with the same settings apart.
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + "-" + secrets.token_hex(4)
    args.unique_token = f"{args.name}__{args.env_config}__{role_summary(list(args.roles))}__seed{args.seed}__{stamp}"
    return args


def start_sacred_run(args: Munch) -> None:
    """Record the run with Sacred (a file observer with atomic record files, capture mode sys) and execute it."""
    import warnings
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from sacred import SETTINGS, Experiment
    from sacred.utils import apply_backspaces_and_linefeeds

    from utils.run_records import AtomicFileStorageObserver

    SETTINGS.CAPTURE_MODE = "sys"
    SETTINGS.DISCOVER_SOURCES = "none"
    SETTINGS.DISCOVER_DEPENDENCIES = "none"
    SETTINGS.HOST_INFO.INCLUDE_GPU_INFO = False
    console = get_logger()
    ex = Experiment("hopplus", save_git_info=False, interactive=True)
    ex.logger = console
    ex.captured_out_filter = apply_backspaces_and_linefeeds
    ex.observers.append(AtomicFileStorageObserver(os.path.join(args.local_results_path, "sacred")))
    ex.add_config(unmunchify(args))

    @ex.main
    def sacred_main(_run: Any) -> None:
        run(_run, args, console)

    ex.run()


def run(_run, args: Munch, console: logging.Logger) -> None:
    """Sacred main: set up logging, then run the configured ``run_mode``."""
    logger = Logger(console)
    logger.setup_sacred(_run)
    if args.use_tensorboard:
        logger.setup_tb(os.path.join(args.local_results_path, "tb_logs", args.unique_token))
    try:
        modes.REGISTRY[args.run_mode](_run, args, logger)
    finally:
        logger.close()
