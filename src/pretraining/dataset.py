"""Episode datasets of rule-based co-player mixtures: the runner's fields, saved compactly with their env."""
from __future__ import annotations

import os

import torch
from munch import Munch

from components.episode_buffer import BatchData, EpisodeBatch
from runners.parallel_runner import ParallelRunner
from utils.config import saved_settings_differ
from utils.errors import ConfigError
from utils.safe_load import read_torch

COMPACT = {"obs": torch.uint8, "state": torch.uint8}  # 0/1 grids are stored as bytes


def dataset_meta(args: Munch) -> dict:
    """What identifies the env a dataset was collected in (checked when it is read)."""
    return {"env": args.env, "obs_shape": list(args.obs_shape), "n_agents": args.n_agents,
            "n_actions": args.n_actions, "episode_limit": args.episode_limit}


def save_dataset(path: str, batches: list[EpisodeBatch], slot_roles: torch.Tensor, role_vocab: list[str],
                 args: Munch) -> None:
    """Write the episodes of ``batches`` (``slot_roles [E,N]`` indexes ``role_vocab``) to ``path``."""
    fields = {}
    for key in batches[0].scheme:
        value = torch.cat([b[key] for b in batches])
        fields[key] = value.to(COMPACT[key]) if key in COMPACT else value
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({"meta": dataset_meta(args), "fields": fields, "slot_roles": slot_roles, "role_vocab": role_vocab},
               path)


def load_dataset(path: str, args: Munch) -> tuple[EpisodeBatch, dict]:
    """The saved episodes as an EpisodeBatch (the runner's scheme) and the raw file contents.

    A missing file, or one collected in another env / with other shapes, is a ConfigError.
    """
    if not path or not os.path.isfile(path):
        raise ConfigError(f"dataset_path: no dataset file at '{path}' (write one with --config=collect)")
    saved = read_torch(path, "dataset_path", weights_only=False)
    if not isinstance(saved, dict) or "meta" not in saved or "fields" not in saved:
        raise ConfigError(f"dataset_path: '{path}' is not a dataset written by --config=collect")
    expected = dataset_meta(args)
    differ = saved_settings_differ(saved["meta"], expected)
    if differ:
        raise ConfigError(f"dataset_path: '{path}' was collected with a different env: {differ}")
    scheme, groups, preprocess = ParallelRunner.base_scheme(args)
    episodes = saved["fields"]["filled"].shape[0]
    probe = EpisodeBatch(scheme, groups, 0, args.episode_limit + 1, preprocess=preprocess)
    data = BatchData()
    for key, info in probe.scheme.items():
        store = data.episode_data if info["episode_const"] else data.transition_data
        store[key] = saved["fields"][key].to(info["dtype"])
    batch = EpisodeBatch(scheme, groups, episodes, args.episode_limit + 1, data=data, preprocess=preprocess)
    return batch, saved
