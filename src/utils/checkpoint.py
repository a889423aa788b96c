"""Atomic checkpoints of modules, optimizers, counters and RNG states.

A checkpoint is one folder holding `<module>.th` (state_dict), `<optimizer>_opt.th`,
`state.pt` (picklable counters, numpy arrays, ...) and `rng.pt` (global RNG states). A module
whose settings change what it computes without changing its parameters (a world model's reward
gate) declares ``checkpoint_config_defaults``; its ``config`` is then written as
`<module>.config.json` and a load refuses a module built with other settings (a checkpoint
written before the file existed holds the declared defaults).
Run checkpoints live in `<root>/<t_env>/`; `find_checkpoint` picks one of them.
Checkpoints are trusted local files: they are loaded with full unpickling.
"""

import json
import os
import random
import shutil
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Iterator

import numpy as np
import torch

from utils.config import saved_settings_differ

STATE_FILE = "state.pt"
RNG_FILE = "rng.pt"


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable, or does not match the modules/optimizers given."""


def get_rng_states() -> dict[str, Any]:
    """Return the states of python `random`, numpy's global RNG, torch CPU and (if available) CUDA."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore RNG states returned by `get_rng_states` (CUDA states only where devices exist)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    cuda_states = states.get("torch_cuda")
    if cuda_states and torch.cuda.is_available():
        for device, cuda_state in enumerate(cuda_states[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, device)


def _file_names(modules: dict[str, Any], optimizers: dict[str, Any]) -> dict[str, str]:
    """Map each file name to what it holds, rejecting names that are not plain or collide."""
    files = {STATE_FILE: "state", RNG_FILE: "rng"}
    entries = [(f"{n}.th", f"module '{n}'", n) for n in modules]
    entries += [(f"{n}_opt.th", f"optimizer '{n}'", n) for n in optimizers]
    for file_name, what, name in entries:
        if not name or name != os.path.basename(name) or name.startswith("."):
            raise ValueError(f"checkpoint: {what} must be a plain file name")
        if file_name in files:
            raise ValueError(f"checkpoint: {what} and {files[file_name]} both map to {file_name}")
        files[file_name] = what
    return files


def _recorded_config(module: Any) -> dict | None:
    """The config a checkpoint records for ``module``: its ``config`` in JSON form when it declares
    ``checkpoint_config_defaults``, else None."""
    if getattr(module, "checkpoint_config_defaults", None) is None:
        return None
    return json.loads(json.dumps(module.config))


def recorded_module_config(directory: str, name: str) -> dict:
    """The config the checkpoint in ``directory`` records for module ``name`` (``{}`` when it records
    none: a module without one, or a checkpoint saved before configs were recorded)."""
    path = os.path.join(directory, f"{name}.config.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read the config of module '{name}' from {path}: {exc}") from exc


def _check_config(directory: str, module: Any, name: str) -> None:
    """Raise CheckpointError naming every recorded setting of module ``name`` in ``directory`` that
    differs from the module's own (settings a checkpoint predates: ``checkpoint_config_defaults``)."""
    config = _recorded_config(module)
    if config is None:
        return
    saved = {**module.checkpoint_config_defaults, **recorded_module_config(directory, name)}
    differ = saved_settings_differ(saved, {k: v for k, v in config.items() if k in saved},
                                   getattr(module, "config_arg_names", {}))
    if differ:
        raise CheckpointError(f"checkpoint {directory}: module '{name}' was saved with {differ}; "
                              f"set these options to the saved values to load it")


@contextmanager
def _synced(path: str, mode: str) -> Iterator[IO]:
    """``open(path, mode)``, flushed and fsynced once the block has written it."""
    with open(path, mode) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def _write(obj: Any, path: str) -> None:
    """torch.save `obj` to `path` and fsync it."""
    with _synced(path, "wb") as f:
        torch.save(obj, f)


def save_checkpoint(
    directory: str,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    state: dict,
) -> str:
    """Write a checkpoint folder at `directory` atomically and return its path.

    Files go to a hidden temp folder beside it which is renamed into place only when
    complete; on error the temp folder is removed and any existing checkpoint is untouched.
    """
    directory = os.path.abspath(directory)
    _file_names(modules, optimizers)
    parent, base = os.path.split(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    try:
        for name, module in modules.items():
            _write(module.state_dict(), os.path.join(tmp, f"{name}.th"))
            config = _recorded_config(module)
            if config is not None:
                with _synced(os.path.join(tmp, f"{name}.config.json"), "w") as f:
                    json.dump(config, f, indent=1, sort_keys=True)
        for name, optimizer in optimizers.items():
            _write(optimizer.state_dict(), os.path.join(tmp, f"{name}_opt.th"))
        _write(state, os.path.join(tmp, STATE_FILE))
        _write(get_rng_states(), os.path.join(tmp, RNG_FILE))
        if os.path.exists(directory):
            # Overwriting: move the old folder aside first (a directory cannot be renamed
            # over a non-empty one), then drop it once the new one is in place.
            old = tempfile.mkdtemp(prefix=f".{base}.old-", dir=parent)
            os.replace(directory, os.path.join(old, base))
            os.replace(tmp, directory)
            shutil.rmtree(old)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _load(path: str, what: str) -> Any:
    """torch.load `path` onto the CPU, turning a missing or unreadable file into CheckpointError."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file for {what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"cannot read {what} from {path}: {exc}") from exc


def _check_module(saved: dict, module: torch.nn.Module, name: str, path: str) -> None:
    """Raise CheckpointError naming the keys and shapes where `saved` does not fit `module`."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    shapes = [
        f"{k} (checkpoint {tuple(saved[k].shape)} vs module {tuple(v.shape)})"
        for k, v in expected.items()
        if k in saved
        and isinstance(v, torch.Tensor)
        and isinstance(saved[k], torch.Tensor)
        and saved[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if shapes:
        problems.append(f"shape mismatch: {', '.join(shapes)}")
    if problems:
        raise CheckpointError(f"checkpoint {path} does not match module '{name}': {'; '.join(problems)}")


def _check_optimizer(saved: dict, optimizer: torch.optim.Optimizer, name: str, path: str) -> None:
    """Raise CheckpointError if `saved` has other parameter groups or state shapes than `optimizer`."""
    try:
        saved_groups = [len(g["params"]) for g in saved["param_groups"]]
        saved_ids = [i for g in saved["param_groups"] for i in g["params"]]
        saved_state = saved["state"]
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path}: not an optimizer state for '{name}'") from exc
    groups = [len(g["params"]) for g in optimizer.param_groups]
    if saved_groups != groups:
        raise CheckpointError(
            f"checkpoint {path} does not match optimizer '{name}': parameters per group "
            f"{saved_groups} in checkpoint vs {groups}"
        )
    params = [p for g in optimizer.param_groups for p in g["params"]]
    shapes = [
        f"param {index} {key} (checkpoint {tuple(value.shape)} vs parameter {tuple(param.shape)})"
        for index, (param_id, param) in enumerate(zip(saved_ids, params))
        for key, value in saved_state.get(param_id, {}).items()
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != param.shape
    ]
    if shapes:
        raise CheckpointError(
            f"checkpoint {path} does not match optimizer '{name}': shape mismatch: {', '.join(shapes)}"
        )


def load_checkpoint(
    directory: str,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    restore_rng: bool = True,
) -> dict:
    """Load a checkpoint written by `save_checkpoint` into `modules`/`optimizers` and return its state.

    Every file is read and checked against its module/optimizer before anything is
    modified, so a CheckpointError leaves them as they were.
    """
    if not os.path.isdir(directory):
        raise CheckpointError(f"checkpoint folder not found: {directory}")
    _file_names(modules, optimizers)
    module_states = {}
    for name, module in modules.items():
        path = os.path.join(directory, f"{name}.th")
        module_states[name] = _load(path, f"module '{name}'")
        _check_config(directory, module, name)       # first: names the options, where shapes only follow from them
        _check_module(module_states[name], module, name, path)
    optimizer_states = {}
    for name, optimizer in optimizers.items():
        path = os.path.join(directory, f"{name}_opt.th")
        optimizer_states[name] = _load(path, f"optimizer '{name}'")
        _check_optimizer(optimizer_states[name], optimizer, name, path)
    state = _load(os.path.join(directory, STATE_FILE), "state")
    rng_states = _load(os.path.join(directory, RNG_FILE), "RNG states") if restore_rng else None

    for name, module in modules.items():
        module.load_state_dict(module_states[name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(optimizer_states[name])
    if rng_states is not None:
        set_rng_states(rng_states)
    return state


def find_checkpoint(root: str, load_step: int = 0) -> tuple[str, int]:
    """Return (path, t_env) of the checkpoint under `root` (numeric subfolders named by t_env):
    the latest when `load_step` is 0, else the one closest to `load_step` (the later one on ties)."""
    if not os.path.isdir(root):
        raise CheckpointError(f"checkpoint root not found: {root}")
    steps = [
        int(entry.name) for entry in os.scandir(root) if entry.is_dir() and entry.name.isdigit()
    ]
    if not steps:
        raise CheckpointError(f"no checkpoints in {root}: expected subfolders named by t_env, e.g. {root}/10000")
    if load_step == 0:
        step = max(steps)
    else:
        step = min(steps, key=lambda s: (abs(s - load_step), -s))
    return os.path.join(root, str(step)), step
