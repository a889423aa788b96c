"""Stream runner: training episodes as a stream over ``batch_size_run`` envs (docs/design.md: Runners)."""
from __future__ import annotations

import numpy as np
import torch
from munch import Munch

import envs
from components.episode_buffer import EpisodeBatch
from controllers.actors import StepInputs
from runners.episode_stats import EpisodeResults
from runners.parallel_runner import ParallelRunner


class StreamRunner(ParallelRunner):
    """Plays training episodes as a stream: each of the ``batch_size_run`` envs starts its next
    episode as soon as its own has ended, and episodes still running when ``run`` returns go on
    in the next call, after the learners' update.

    An env in which no learned agent is in play any more (a planner that took its prey has left
    the game) is stepped alone, the other envs held (``GridCore.suspend``), until its episode
    ends; the rule co-players cost little. Every call of the learned actor therefore serves
    the envs whose learned agents still play, and a planner's search batch stays near
    ``batch_size_run`` instead of shrinking over a rollout as episodes end at different steps.

    ``run()`` returns ``batch_size_run`` episodes, in the order they ended (as many per learner
    update as the parallel runner gives; episodes that ended beyond those wait for the next
    call), ``drain()`` at most ``batch_size_run`` of what is left (the experiment calls it until
    nothing is in flight), so the buffer needs no more room than with the parallel runner. Every episode is its own
    seed's (the train seed stream, in the order episodes start) and is written exactly as the
    parallel runner writes it. ``drain()`` plays the running episodes to their end without
    starting new ones; the experiment drains before every checkpoint and at the end of training,
    so a checkpoint never holds a running episode and a resumed run goes on exactly.
    A test run streams the test episodes the parallel runner's whole batches would play
    (``test_nepisode`` rounded up to a multiple of ``batch_size_run``, the same seeds) over envs
    of its own while the training episodes wait: their roles and the actor's per-episode state
    (``RoleController.episode_state``) are set aside and back. Replay runs are played by the
    parallel runner and need a drained stream.
    """

    def __init__(self, args: Munch, logger=None) -> None:
        super().__init__(args, logger)
        self.train_flight: Flight | None = None
        self.test_flight: Flight | None = None
        self.flight: Flight | None = None         # the one being played

    def setup(self, scheme: dict, groups: dict, preprocess: dict, mac) -> None:
        super().setup(scheme, groups, preprocess, mac)
        n, agents = self.batch_size, self.args.n_agents
        self.train_flight = Flight(self.env, n, agents, self.new_batch())
        test_env = envs.REGISTRY[self.args.env](batch_size=n, **self.args.env_args)
        self.test_flight = Flight(test_env, n, agents, self.new_batch())
        self.flight = self.train_flight

    @property
    def in_flight(self) -> int:
        """Training episodes started and not yet returned (running, or ended and waiting)."""
        flight = self.train_flight
        if flight is None:
            return 0
        return int(flight.running.sum()) + sum(len(p[1].lengths) for p in flight.ended)

    def run(self, test_mode: bool = False, on_step=None) -> tuple[EpisodeBatch, EpisodeResults]:
        """Training: the episodes that ended (see the class). Test: the next
        ``ceil(test_nepisode / batch_size_run) * batch_size_run`` test episodes (the ones the
        parallel runner's whole batches would play), streamed over envs of their own, all to
        their end, while the running training episodes wait."""
        if on_step is not None:
            if self.in_flight:
                raise RuntimeError(f"StreamRunner: {self.in_flight} training episodes are still running; "
                                   f"drain() them before a replay run")
            return super().run(test_mode, on_step)
        if not test_mode:
            return self._stream(self.train_flight, test_mode=False, budget=None)
        waiting = self.mac.episode_state()          # the running training episodes' roles and beliefs
        try:
            return self._stream(self.test_flight, test_mode=True,
                                budget=-(-self.args.test_nepisode // self.batch_size) * self.batch_size)
        finally:
            self.mac.set_episode_state(waiting)

    def drain(self) -> tuple[EpisodeBatch, EpisodeResults]:
        """Play the running training episodes to their end, start none; return at most
        ``batch_size_run`` of them (the rest wait for the next call)."""
        return self._stream(self.train_flight, test_mode=False, budget=0)

    # ----------------------------------------------------------------------------------
    def _stream(self, flight: "Flight", test_mode: bool, budget: int | None) -> tuple[EpisodeBatch, EpisodeResults]:
        """Play ``flight`` until ``batch_size_run`` episodes have ended (``budget`` None), or start
        ``budget`` episodes and play everything to its end."""
        self.flight = flight
        parts = flight.ended                            # ended episodes not returned yet come first
        ended = sum(len(p[1].lengths) for p in parts)
        started = 0
        while budget is not None or ended < self.batch_size:
            idle = np.flatnonzero(~flight.running)
            if budget is not None:
                idle = idle[:max(budget - started, 0)]
            started += self._start(idle, test_mode)
            if not flight.running.any():
                break
            ended += self._advance(parts, test_mode)
        flight.ended = []
        if not parts:                                   # drained with nothing running
            agents = self.args.n_agents
            return flight.live[torch.zeros(0, dtype=torch.long)], EpisodeResults(
                np.zeros((0, agents)), np.zeros((0, agents), dtype=np.int64), np.zeros(0, dtype=np.int64))
        batch, results = EpisodeBatch.cat([p[0] for p in parts]), EpisodeResults.concat([p[1] for p in parts])
        if not test_mode and ended > self.batch_size:   # at most batch_size_run; the rest waits for the next call
            n = self.batch_size
            flight.ended = [(batch[n:], EpisodeResults(results.returns[n:], results.role_of_slot[n:],
                                                       results.lengths[n:]))]
            batch, results = batch[:n], EpisodeResults(results.returns[:n], results.role_of_slot[:n], results.lengths[:n])
        return batch, results

    def _start(self, rows: np.ndarray, test_mode: bool) -> int:
        """New episodes in envs ``rows`` (the next seeds of the train or test stream); returns how many."""
        if not len(rows):
            return 0
        seeds = self.episode_seeds(test_mode)[:len(rows)]
        self.flight.env.core.restart(rows, seeds)
        if self.flight.running.any():
            role_of_slot = self.mac.start_episodes(rows)
        else:                                   # nothing running: every env starts (first call, after a drain)
            role_of_slot = self.mac.init_episode(self.batch_size)[rows]
        if test_mode:
            self.test_episodes += len(rows)
        else:
            self.train_episodes += len(rows)
        self.flight.live.clear(torch.from_numpy(rows))
        self.flight.live.update({"role": torch.from_numpy(role_of_slot)}, bs=torch.from_numpy(rows))
        self.flight.running[rows] = True
        self.flight.steps[rows] = 0
        self.flight.returns[rows] = 0.0
        self.flight.prev_actions[rows] = -1
        return len(rows)

    def _advance(self, parts: list, test_mode: bool) -> int:
        """Step the running envs once: first the envs without a learned agent in play, alone,
        to their end; then all envs whose learned agents play, together. Returns how many
        episodes ended (appended to ``parts``)."""
        ended = 0
        while True:
            solo = self._open() & ~self._learned_in_play()
            if not solo.any():
                break
            ended += self._step(solo, parts, test_mode)
        playing = self._open()
        if playing.any():
            ended += self._step(playing, parts, test_mode)
        return ended

    def _open(self) -> np.ndarray:
        return self.flight.running & ~self.flight.env.core.done

    def _learned_in_play(self) -> np.ndarray:
        mac = self.mac
        if mac.learned_role is None:
            return np.zeros(self.batch_size, dtype=bool)
        return (mac.role_mask(mac.learned_role.name) & self.flight.env.core.alive).any(axis=1)

    def _step(self, stepping: np.ndarray, parts: list, test_mode: bool) -> int:
        """One step of the envs ``stepping`` (bool[B]), the others held; write it, and return the
        episodes that ended with it."""
        env, mac = self.flight.env, self.mac
        rows = np.flatnonzero(stepping)
        env.core.suspend(~stepping)
        pre = self._observe(env)
        inputs = self._inputs(pre)
        self._write(pre, rows, mark_filled=True)
        actions, extras = mac.select_actions(inputs, test_mode)
        rewards, terminated, _ = env.step(actions)
        post = {"actions": torch.from_numpy(actions), "reward": torch.from_numpy(rewards),
                "terminated": torch.from_numpy(terminated), **extras}
        self._write(post, rows, mark_filled=False)
        self.flight.prev_actions[rows] = torch.from_numpy(actions[rows])
        self.flight.returns[rows] += rewards[rows]
        self.flight.steps[rows] += 1
        finished = rows[env.done[rows]]
        if len(finished):
            parts.append(self._finish(finished, test_mode))
        return len(finished)

    def _inputs(self, observed: dict[str, torch.Tensor]) -> StepInputs:
        device = self.args.device
        return StepInputs(self.flight.env, observed["obs"].to(device), observed["time"].to(device),
                          observed["avail_actions"].to(device), self.flight.prev_actions.to(device))

    def _write(self, data: dict[str, torch.Tensor], rows: np.ndarray, mark_filled: bool) -> None:
        """Write ``data [B,...]`` of envs ``rows`` into their live episodes at each one's own step."""
        index = torch.from_numpy(rows)
        self.flight.live.update_steps({key: value[index] for key, value in data.items()}, bs=index,
                               ts=torch.from_numpy(self.flight.steps[rows]), mark_filled=mark_filled)

    def _finish(self, rows: np.ndarray, test_mode: bool) -> tuple[EpisodeBatch, EpisodeResults]:
        """Write the final observation of the episodes of envs ``rows`` and take them out."""
        final = self._observe(self.flight.env)
        self._write(final, rows, mark_filled=True)
        inputs = self._inputs(final)
        steps = self.flight.steps[rows]
        for t in np.unique(steps):
            self._write_final_extras(self.flight.live, inputs, rows[steps == t], int(t), test_mode)
        self.mac.end_episodes(rows)
        index = torch.from_numpy(rows)
        episodes = self.flight.live[index]
        results = EpisodeResults(self.flight.returns[rows].copy(), self.mac.role_of_slot[rows].copy(), self.flight.steps[rows].copy())
        self.flight.running[rows] = False
        if not test_mode:
            self.t_env += int(self.flight.steps[rows].sum())
        return episodes, results


class Flight:
    """The envs of a stream and the episodes running in them: whether each env has one
    (``running``), its steps and returns so far, the previous actions, the episodes being
    written (``live``, one row per env), and the episodes that ended and wait to be returned."""

    def __init__(self, env, n_envs: int, n_agents: int, live: EpisodeBatch) -> None:
        self.env = env
        self.running = np.zeros(n_envs, dtype=bool)
        self.steps = np.zeros(n_envs, dtype=np.int64)
        self.returns = np.zeros((n_envs, n_agents), dtype=np.float64)
        self.prev_actions = torch.full((n_envs, n_agents), -1, dtype=torch.long)
        self.live = live
        self.ended: list[tuple[EpisodeBatch, EpisodeResults]] = []   # ended, not returned yet
