"""Shared test helpers: build validated run arguments and experiments without Sacred."""
from __future__ import annotations

import contextlib
import subprocess

from experiment import Experiment
from launch import load_config, prepare_args
from utils.logging import Logger, get_logger


def make_args(alg: str = "ppo", env: str = "stag_hunt_small", **overrides):
    """Validated run arguments (as main.py builds them) with dotted ``env_args__key`` overrides."""
    nested: dict = {}
    for key, value in overrides.items():
        if "__" in key:
            outer, inner = key.split("__", 1)
            nested.setdefault(outer, {})[inner] = value
        else:
            nested[key] = value
    return prepare_args(load_config(alg, env, nested))


def make_experiment(alg: str = "ppo", env: str = "stag_hunt_small", **overrides):
    """An ``experiment.Experiment`` ready to train, logging to the console only."""
    return Experiment(make_args(alg, env, **overrides), Logger(get_logger()))


@contextlib.contextmanager
def reaped(proc: subprocess.Popen):
    """Kill ``proc`` on the way out if it still runs: a failed test must not leave an endless run behind."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
