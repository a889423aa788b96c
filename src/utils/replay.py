"""Replays of test episodes: an animated GIF and a per-agent JSON trace per episode."""
from __future__ import annotations

import json
import os

import numpy as np

from envs.render import render_rgb, write_gif
from utils.errors import ConfigError

# Per-step fields written by actors that a trace includes when the batch has them.
TRACE_FIELDS = ("belief", "subgoal", "infer_mu", "mcts_policy", "moa_probs")


def save_replays(runner, directory: str, n_episodes: int, role_names: list[str]) -> list[str]:
    """Play one test batch, write ``episode_<k>.gif`` and ``episode_<k>.json`` for its first
    ``n_episodes`` episodes into ``directory``; returns the written paths."""
    core = getattr(runner.env, "core", None)
    if core is None:
        raise ConfigError("save_replay needs a grid env with a batched core (stag_hunt, snowdrift)")
    count = min(n_episodes, runner.batch_size)
    frames: list[list[np.ndarray]] = [[] for _ in range(count)]

    def record(env, t: int) -> None:
        for b in range(count):
            frames[b].append(render_rgb(env.core, b))

    batch, results = runner.run(test_mode=True, on_step=record)
    os.makedirs(directory, exist_ok=True)
    written = []
    for b in range(count):
        length = int(results.lengths[b])
        gif = write_gif(frames[b][:length + 1], os.path.join(directory, f"episode_{b}.gif"))
        trace = episode_trace(batch, b, length, core.action_names, results, role_names)
        path = os.path.join(directory, f"episode_{b}.json")
        with open(path, "w") as f:
            json.dump(trace, f, indent=1)
        written += [str(gif), path]
    return written


def episode_trace(batch, b: int, length: int, action_names, results, role_names: list[str]) -> dict:
    """Per-agent actions, rewards, alive flags and actor fields (beliefs, subgoals, ...) per step."""
    n_agents = batch["actions"].shape[2]
    agents = [f"agent_{i}" for i in range(n_agents)]
    extra = [key for key in TRACE_FIELDS if key in batch]
    steps = []
    for t in range(length):
        step = {
            "t": t,
            "actions": {a: action_names[int(batch["actions"][b, t, i, 0])] for i, a in enumerate(agents)},
            "rewards": {a: round(float(batch["reward"][b, t, i, 0]), 4) for i, a in enumerate(agents)},
            "alive": {a: int(batch["alive"][b, t, i, 0]) for i, a in enumerate(agents)},
        }
        for key in extra:
            step[key] = {a: np.round(batch[key][b, t, i].numpy(), 4).tolist() for i, a in enumerate(agents)}
        steps.append(step)
    return {
        "roles": {a: role_names[int(results.role_of_slot[b, i])] for i, a in enumerate(agents)},
        "returns": {a: round(float(results.returns[b, i]), 4) for i, a in enumerate(agents)},
        "length": length,
        "terminated": bool(batch["terminated"][b, length - 1, 0]) if length else False,
        "steps": steps,
    }
