"""Runners: B envs of the batched core stepped together, one EpisodeBatch per rollout."""
from __future__ import annotations

from functools import partial

import numpy as np
import torch
from munch import Munch

import envs
from components.episode_buffer import EpisodeBatch
from controllers.actors import StepInputs
from runners.episode_stats import EpisodeResults
from utils.seeding import EPISODE_SEED_STRIDE, SEED_OFFSETS


class ParallelRunner:
    """Rolls out ``batch_size_run`` envs in one process; envs finish at different steps.

    Every field is written at every step of every env still running, straight from the
    env's arrays (``obs``, ``state``, ``avail_actions``, ``alive``, ``time`` before acting;
    ``actions`` and the controller's extras; ``reward`` and ``terminated`` after). An env
    that finished gets its final observation written at its last index (with the learned
    role's per-step extras there, see ``_write_final_extras``) and nothing after, so padding
    stays zero and unfilled. ``t_env`` counts transitions of training episodes.
    """

    def __init__(self, args: Munch, logger=None, batch_size: int | None = None) -> None:
        self.args = args
        self.logger = logger
        self.batch_size = batch_size or args.batch_size_run
        self.env = envs.REGISTRY[args.env](batch_size=self.batch_size, **args.env_args)
        self.episode_limit = args.episode_limit
        self.t_env = 0
        self.train_episodes = 0
        self.test_episodes = 0
        self.mac = None
        self.new_batch = None

    @property
    def in_flight(self) -> int:
        """Training episodes started and not yet returned: none, every rollout plays its episodes to the end."""
        return 0

    @staticmethod
    def base_scheme(args: Munch) -> tuple[dict, dict, dict]:
        """Scheme, groups and preprocess of the fields every runner writes."""
        from components.transforms import OneHot
        scheme = {
            "state": {"vshape": tuple(args.state_shape)},
            "obs": {"vshape": tuple(args.obs_shape), "group": "agents"},
            "time": {"vshape": (1,)},
            "avail_actions": {"vshape": (args.n_actions,), "group": "agents", "dtype": torch.bool},
            "alive": {"vshape": (1,), "group": "agents", "dtype": torch.uint8},
            "actions": {"vshape": (1,), "group": "agents", "dtype": torch.long},
            "reward": {"vshape": (1,), "group": "agents"},
            "terminated": {"vshape": (1,), "dtype": torch.uint8},
            "role": {"vshape": (1,), "group": "agents", "dtype": torch.long, "episode_const": True},
        }
        groups = {"agents": args.n_agents}
        preprocess = {"actions": ("actions_onehot", [OneHot(out_dim=args.n_actions)])}
        return scheme, groups, preprocess

    def setup(self, scheme: dict, groups: dict, preprocess: dict, mac) -> None:
        self.mac = mac
        self.new_batch = partial(EpisodeBatch, scheme, groups, self.batch_size, self.episode_limit + 1,
                                 preprocess=preprocess, device=self.args.device)

    def episode_seeds(self, test_mode: bool) -> np.ndarray:
        """Seeds of the next B episodes: a train stream and a separate, run-independent test stream."""
        if test_mode:
            start = SEED_OFFSETS["test_episodes"] + self.args.seed * EPISODE_SEED_STRIDE + self.test_episodes
        else:
            start = self.args.seed * EPISODE_SEED_STRIDE + self.train_episodes
        return start + np.arange(self.batch_size, dtype=np.int64)

    @staticmethod
    def _observe(env) -> dict[str, torch.Tensor]:
        return {
            "obs": torch.from_numpy(env.get_obs()),
            "state": torch.from_numpy(env.get_state()),
            "avail_actions": torch.from_numpy(env.get_avail_actions()),
            "alive": torch.from_numpy(env.get_alive()),
            "time": torch.from_numpy(env.get_time()),
        }

    def run(self, test_mode: bool = False, on_step=None) -> tuple[EpisodeBatch, EpisodeResults]:
        """Play one batch of episodes to the end; return the filled batch and their results.

        ``on_step(env, t)``, if given, is called after every env step and once before the first
        (e.g. to record frames for replays).
        """
        env, mac, n = self.env, self.mac, self.batch_size
        env.reset(self.episode_seeds(test_mode))
        batch = self.new_batch()
        role_of_slot = mac.init_episode(n)
        batch.update({"role": torch.from_numpy(role_of_slot)})
        returns = np.zeros((n, self.args.n_agents), dtype=np.float64)
        lengths = np.zeros(n, dtype=np.int64)
        rows = np.arange(n)
        active = np.ones(n, dtype=bool)
        prev_actions = torch.full((n, self.args.n_agents), -1, dtype=torch.long)
        t = 0
        if on_step is not None:
            on_step(env, t)
        while True:
            pre = self._observe(env)
            batch.update(_take(pre, rows, n), bs=_index(rows, n), ts=t)
            device = self.args.device       # what the actors read: on the run's device (the env stays numpy)
            inputs = StepInputs(env, pre["obs"].to(device), pre["time"].to(device), pre["avail_actions"].to(device),
                                prev_actions.to(device))
            finished = rows[~active[rows]]            # envs whose final observation is this step's
            if len(finished):
                self._write_final_extras(batch, inputs, finished, t, test_mode)
            if not active.any():
                break
            rows = np.flatnonzero(active)
            actions, extras = mac.select_actions(inputs, test_mode)
            prev_actions = torch.from_numpy(actions)
            rewards, terminated, _ = env.step(actions)
            post = {"actions": torch.from_numpy(actions), "reward": torch.from_numpy(rewards),
                    "terminated": torch.from_numpy(terminated), **extras}
            batch.update(_take(post, rows, n), bs=_index(rows, n), ts=t, mark_filled=False)
            returns += rewards
            lengths[rows] += 1
            t += 1
            if on_step is not None:
                on_step(env, t)
            active = ~env.done
        mac.end_episodes(np.arange(n))
        if test_mode:
            self.test_episodes += n
        else:
            self.train_episodes += n
            self.t_env += int(lengths.sum())
        return batch, EpisodeResults(returns, role_of_slot.copy(), lengths)

    def _write_final_extras(self, batch: EpisodeBatch, inputs: StepInputs, finished: np.ndarray, t: int,
                            test_mode: bool) -> None:
        """Write the learned role's per-step extras at the final observation (index ``t``) of the
        envs ``finished``, where nobody acts: an actor whose policy takes extra inputs provides
        ``final_extras`` so that the bootstrap value V(o_L, extra_L) of a time-limit cut sees them."""
        mac = self.mac
        if mac.actor is None:
            return
        mask = np.zeros_like(mac.role_of_slot, dtype=bool)
        mask[finished] = mac.role_mask(mac.learned_role.name)[finished]
        env_idx, slot_idx = (torch.from_numpy(a).to(self.args.device) for a in np.nonzero(mask))
        extras = mac.actor.final_extras(inputs, env_idx, slot_idx, test_mode, mac.torch_rng) if len(env_idx) else {}
        if not extras:
            return
        index = torch.from_numpy(finished)
        written = {}
        for key, value in extras.items():
            full = value.new_zeros((self.batch_size, self.args.n_agents, *value.shape[1:]))
            full[env_idx.to(value.device), slot_idx.to(value.device)] = value
            written[key] = full[index.to(value.device)]
        batch.update(written, bs=index, ts=t, mark_filled=False)


class EpisodeRunner(ParallelRunner):
    """One env at a time (the parallel runner with B = 1)."""

    def __init__(self, args: Munch, logger=None) -> None:
        super().__init__(args, logger, batch_size=1)


def _index(rows: np.ndarray, n: int):
    return slice(None) if len(rows) == n else torch.from_numpy(rows)


def _take(data: dict[str, torch.Tensor], rows: np.ndarray, n: int) -> dict[str, torch.Tensor]:
    if len(rows) == n:
        return data
    index = torch.from_numpy(rows)
    return {key: value[index] for key, value in data.items()}
