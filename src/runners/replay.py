"""Replays of test episodes: an animated GIF and a per-agent JSON trace per episode."""
from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np

from envs.render import render_rgb, write_gif
from utils.errors import ConfigError


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
    mac = runner.mac
    extra_fields = list(type(mac.actor).scheme_fields(runner.args)) if mac.actor is not None else []
    learned = mac.role_index[mac.learned_role.name] if mac.learned_role is not None else -1
    os.makedirs(directory, exist_ok=True)
    written = []
    for b in range(count):
        length = int(results.lengths[b])
        gif = write_gif(frames[b][:length + 1], os.path.join(directory, f"episode_{b}.gif"))
        trace = episode_trace(batch, b, length, core.action_names, results, role_names, extra_fields, learned)
        path = os.path.join(directory, f"episode_{b}.json")
        with open(path, "w") as f:
            json.dump(trace, f, indent=1)
        written += [str(gif), path]
    return written


def episode_trace(batch, b: int, length: int, action_names, results, role_names: list[str],
                  extra_fields: Sequence[str] = (), learned: int = -1) -> dict:
    """Per-agent actions, rewards and alive flags per step, plus the learned role's actor fields
    ``extra_fields`` (beliefs, subgoals, mcts_policy, ...: whatever its actor writes) for the
    agents of role index ``learned`` (the other agents have none)."""
    n_agents = batch["actions"].shape[2]
    agents = [f"agent_{i}" for i in range(n_agents)]
    learned_agents = [(i, a) for i, a in enumerate(agents) if int(results.role_of_slot[b, i]) == learned]
    steps = []
    for t in range(length):
        step = {
            "t": t,
            "actions": {a: action_names[int(batch["actions"][b, t, i, 0])] for i, a in enumerate(agents)},
            "rewards": {a: round(float(batch["reward"][b, t, i, 0]), 4) for i, a in enumerate(agents)},
            "alive": {a: int(batch["alive"][b, t, i, 0]) for i, a in enumerate(agents)},
        }
        if learned_agents:
            for key in extra_fields:
                step[key] = {a: np.round(batch[key][b, t, i].cpu().numpy(), 4).tolist() for i, a in learned_agents}
        steps.append(step)
    return {
        "roles": {a: role_names[int(results.role_of_slot[b, i])] for i, a in enumerate(agents)},
        "returns": {a: round(float(results.returns[b, i]), 4) for i, a in enumerate(agents)},
        "length": length,
        "terminated": bool(batch["terminated"][b, length - 1, 0]) if length else False,
        "steps": steps,
    }
