"""``Experiment``: one run's runner, role controller, shared buffer and ordered learners (docs/design.md: Roles and data flow)."""
from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from munch import Munch

import controllers
import learners as learner_family
import runners
from components.episode_buffer import ReplayBuffer
from controllers.role_controller import RoleController
from runners.episode_stats import EpisodeResults, summarise
from utils.checkpoint import find_checkpoint, load_checkpoint, save_checkpoint
from utils.logging import Logger
from utils.resources import check_buffer_memory
from utils.seeding import seed_everything


class Experiment:
    """One run: runner, controller, the shared buffer and the ordered learners."""

    def __init__(self, args: Munch, logger: Logger) -> None:
        self.args, self.logger = args, logger
        seed_everything(args.seed)
        self.runner = runners.REGISTRY[args.runner](args, logger)
        self.mac = RoleController(args)
        scheme, groups, preprocess = self.runner.base_scheme(args)
        learner_classes = [learner_family.REGISTRY[args.learner if s == "policy" else s] for s in args.learners]
        for cls in learner_classes:
            scheme.update(cls.scheme_fields(args))
        scheme.update(controllers.REGISTRY[args.actor].scheme_fields(args))
        check_buffer_memory(ReplayBuffer(scheme, groups, 1, args.episode_limit + 1, preprocess=preprocess,
                                         device="cpu").memory_bytes(), args.buffer_size)
        self.buffer = ReplayBuffer(scheme, groups, args.buffer_size, args.episode_limit + 1,
                                   preprocess=preprocess, device=args.device, seed=args.seed)
        self.runner.setup(self.buffer.scheme, groups, preprocess, self.mac)
        self.learners = [cls(self.mac, self.buffer.scheme, logger, args) for cls in learner_classes]
        self.episode = 0
        self.last_test = -math.inf
        self.last_log = 0
        self.last_save = 0
        self.train_results: list[EpisodeResults] = []
        self.learner_stats: dict[str, list[float]] = {}
        logger.console.info(f"buffer holds {args.buffer_size} episodes, {self.buffer.memory_bytes() / 2**20:.1f} MiB")

    # ---------------------------------------------------------------- checkpoints
    def _modules(self) -> dict[str, torch.nn.Module]:
        modules = dict(self.mac.modules())
        for learner in self.learners:
            modules.update({f"{learner.name}.{k}": m for k, m in learner.modules().items()})
        return modules

    def _optimisers(self) -> dict[str, torch.optim.Optimizer]:
        return {f"{l.name}.{k}": o for l in self.learners for k, o in l.optimisers.items()}

    def save(self) -> str:
        """Write a checkpoint of everything needed to resume exactly (docs/design.md: Configuration and runs)."""
        args, runner = self.args, self.runner
        self.logger.flush()       # metrics first: after a kill, nothing logged before this checkpoint is lost
        directory = os.path.join(args.local_results_path, "models", args.unique_token, str(runner.t_env))
        state = {"t_env": runner.t_env, "episode": self.episode, "train_episodes": runner.train_episodes,
                 "test_episodes": runner.test_episodes, "last_test": self.last_test, "last_log": self.last_log,
                 "mac": self.mac.state_dict(), "buffer_rng": self.buffer.rng_state(),
                 "learners": {learner.name: learner.state_dict() for learner in self.learners}}
        if args.save_buffer:
            state["buffer"] = self.buffer.state_dict()
        save_checkpoint(directory, self._modules(), self._optimisers(), state)
        self.mac.save_models(directory)
        self.last_save = runner.t_env
        self.logger.console.info(f"saved checkpoint {directory}")
        return directory

    def restore(self, path: str) -> None:
        directory, step = find_checkpoint(path, self.args.load_step)
        state = load_checkpoint(directory, self._modules(), self._optimisers())
        runner = self.runner
        runner.t_env, runner.train_episodes, runner.test_episodes = state["t_env"], state["train_episodes"], state["test_episodes"]
        self.episode, self.last_test, self.last_log = state["episode"], state["last_test"], state["last_log"]
        self.last_save = runner.t_env
        self.mac.load_state_dict(state["mac"])
        self.buffer.set_rng_state(state["buffer_rng"])
        for learner in self.learners:                  # absent in older checkpoints
            learner.load_state_dict(state.get("learners", {}).get(learner.name, {}))
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])
        self.logger.console.info(f"resumed from {directory} at t_env={step}")

    # ---------------------------------------------------------------- loop
    def test(self) -> dict[str, float]:
        """Run ``test_nepisode`` test episodes (whole batches) and log their summary."""
        results = []
        while sum(len(r.lengths) for r in results) < self.args.test_nepisode:
            results.append(self.runner.run(test_mode=True)[1])
        stats = summarise(EpisodeResults.concat(results), [r.name for r in self.mac.roles], prefix="test_")
        for key, value in stats.items():
            self.logger.log_stat(key, value, self.runner.t_env)
        return stats

    def train_step(self) -> None:
        """One rollout into the shared buffer, then every learner in order from that buffer."""
        self._learn_from(*self.runner.run(test_mode=False))

    def drain(self) -> None:
        """Finish a streaming runner's running training episodes (and learn from them), so that a
        checkpoint holds no episode in progress; nothing to do for the other runners."""
        while self.runner.in_flight:
            self._learn_from(*self.runner.drain())

    def _learn_from(self, batch, results: EpisodeResults) -> None:
        self.buffer.insert_episode_batch(batch)
        self.episode += len(results.lengths)
        self.train_results.append(results)
        for key, values in self.mac.actor.episode_stats().items():
            self.learner_stats.setdefault(key, []).extend(values)
        for learner in self.learners:
            for key, value in learner.train(self.buffer, self.runner.t_env, self.episode).items():
                self.learner_stats.setdefault(key, []).append(value)

    def log(self) -> None:
        t_env = self.runner.t_env
        if self.train_results:
            stats = summarise(EpisodeResults.concat(self.train_results), [r.name for r in self.mac.roles])
            for key, value in stats.items():
                self.logger.log_stat(key, value, t_env)
        for key, values in self.learner_stats.items():
            self.logger.log_stat(key, float(np.nanmean(values)) if values else float("nan"), t_env)
        self.logger.log_stat("episode", self.episode, t_env)
        self.train_results, self.learner_stats = [], {}
        self.logger.print_recent_stats(t_env, self.episode, self.args.t_max)
        self.last_log = t_env

    def train(self) -> None:
        args, runner = self.args, self.runner
        self.logger.console.info(f"training {args.unique_token} for {args.t_max} env steps")
        start = time.time()
        while runner.t_env < args.t_max:
            if runner.t_env - self.last_test >= args.test_interval:
                self.test()
                self.last_test = runner.t_env
            self.train_step()
            if runner.t_env - self.last_log >= args.log_interval:
                self.log()
            if args.save_model and runner.t_env - self.last_save >= args.save_model_interval:
                self.drain()
                self.save()
        self.drain()
        self.test()
        self.log()
        if args.save_model:
            self.save()
        self.logger.console.info(f"finished {runner.t_env} env steps in {time.time() - start:.1f}s")
