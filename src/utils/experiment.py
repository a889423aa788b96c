"""Turn a merged config into run arguments (derived values set once) and start a Sacred run."""
from __future__ import annotations

import copy
import datetime
import difflib
import os
import secrets
from typing import Any, Mapping

import torch
from munch import Munch, munchify, unmunchify

from utils.errors import ConfigError


UPDATE_COUNTS = ("ppo_epochs", "ppo_minibatches", "moa_epochs", "moa_minibatches", "omg_epochs")


def check_registry(what: str, name: Any, registry: Mapping[str, Any]) -> None:
    """Raise ConfigError if ``name`` is not registered, listing what is."""
    if name not in registry:
        close = difflib.get_close_matches(str(name), list(registry), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown {what} '{name}'. Available: {', '.join(sorted(registry))}.{hint}")


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


def prepare_args(config: dict) -> Munch:
    """Validate registry names and set every derived value (env info, device, token) in one place."""
    import controllers
    import envs
    import learners
    import runners
    from controllers.actors import REGISTRY as ACTORS
    from controllers.roles import validate_roles
    from modules.agents import REGISTRY as AGENT_REGISTRY

    args = munchify(copy.deepcopy(config))
    from run import MODES
    check_registry("run_mode", args.run_mode, MODES)
    check_registry("env", args.env, envs.REGISTRY)
    check_registry("runner", args.runner, runners.REGISTRY)
    check_registry("agent network", args.agent, AGENT_REGISTRY)
    check_registry("controller", "roles", controllers.REGISTRY)
    check_registry("actor", args.actor, ACTORS)
    for slot in args.learners:
        check_registry("learner", args.learner if slot == "policy" else slot, learners.REGISTRY)
    if args.batch_size_run < 1 or args.buffer_size < args.batch_size_run:
        raise ConfigError(f"batch_size_run ({args.batch_size_run}) must be >= 1 and <= buffer_size ({args.buffer_size})")
    for key in UPDATE_COUNTS:
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
    from controllers.subgoal_actor import check_pretrained
    check_pretrained(args)       # a bad vae_load_path / moa_load_path is a config error, not a failed run
    args.device = "cuda" if args.use_cuda else "cpu"
    # The random suffix keeps two runs started in the same second with the same settings apart.
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + "-" + secrets.token_hex(4)
    args.unique_token = f"{args.name}__{args.env_config}__{role_summary(list(args.roles))}__seed{args.seed}__{stamp}"
    return args


def start_sacred_run(args: Munch) -> None:
    """Record the run with Sacred (FileStorageObserver, capture mode sys) and execute it."""
    import warnings
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from sacred import SETTINGS, Experiment
    from sacred.observers import FileStorageObserver
    from sacred.utils import apply_backspaces_and_linefeeds

    from utils.logging import get_logger

    SETTINGS.CAPTURE_MODE = "sys"
    SETTINGS.DISCOVER_SOURCES = "none"
    SETTINGS.DISCOVER_DEPENDENCIES = "none"
    SETTINGS.HOST_INFO.INCLUDE_GPU_INFO = False
    console = get_logger()
    ex = Experiment("hopplus", save_git_info=False, interactive=True)
    ex.logger = console
    ex.captured_out_filter = apply_backspaces_and_linefeeds
    ex.observers.append(FileStorageObserver(os.path.join(args.local_results_path, "sacred")))
    ex.add_config(unmunchify(args))

    @ex.main
    def sacred_main(_run: Any) -> None:
        from run import run
        run(_run, args, console)

    ex.run()
