"""Interface shared by every learner (docs/design.md: Roles and data flow; adding one: docs/extending.md)."""
from __future__ import annotations

import math
from typing import Any

import torch
from munch import Munch

from utils.errors import ConfigError
from utils.seeding import SEED_OFFSETS


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a NaN loss); the message names the module and step."""


class Learner:
    """Trains from the shared buffer. Subclasses set ``name`` and implement ``train``.

    What a learner declares (read by the config loader and the validator, not by a table elsewhere):

    - ``config_defaults``: config keys this learner adds, with their defaults (types follow the
      defaults). They are merged into ``config/default.yaml``'s keys; a key may be declared once.
    - ``update_counts``: config keys that count updates per rollout; each must be >= 1.
    - ``trains`` / ``reads``: names of the actor's modules this learner trains / only reads; it
      gets each with ``actor_module(name)``, which names the actor when it does not build it.
    """

    name = "learner"
    config_defaults: dict[str, Any] = {}
    update_counts: tuple[str, ...] = ()
    trains: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        self.mac, self.scheme, self.logger, self.args = mac, scheme, logger, args
        self.optimisers: dict[str, torch.optim.Optimizer] = {}
        self.generator: torch.Generator | None = None

    def actor_module(self, name: str, required: bool = True) -> torch.nn.Module | None:
        """The learned role's module ``name`` (declared in ``trains`` or ``reads``); a ConfigError naming
        the actor if it builds none (None instead when not ``required``)."""
        if name not in self.trains + self.reads:
            raise ValueError(f"learner '{self.name}' asks for module '{name}', declared in neither trains "
                             f"{self.trains} nor reads {self.reads}")
        modules = self.mac.modules()
        if name not in modules and required:
            raise ConfigError(f"learner '{self.name}' needs the module '{name}', which actor '{self.args.actor}' "
                              f"does not build (it builds: {', '.join(sorted(modules)) or 'nothing'})")
        return modules.get(name)

    def seed_generator(self) -> torch.Generator:
        """This learner's own random stream, seeded with ``seed + SEED_OFFSETS[name]``; checkpoints carry
        its state (``state_dict``), so a resumed run draws what the uninterrupted one would have."""
        self.generator = torch.Generator().manual_seed(int(self.args.seed) + SEED_OFFSETS[self.name])
        return self.generator

    def state_dict(self) -> dict:
        """Non-module state to checkpoint: the random stream's state."""
        return {} if self.generator is None else {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        if "generator" in state:
            if self.generator is None:
                raise ValueError(f"checkpoint has a random stream for learner '{self.name}', which has none")
            self.generator.set_state(state["generator"])

    @classmethod
    def scheme_fields(cls, args: Munch) -> dict:
        """Extra scheme fields this learner needs the runner to write at every step."""
        return {}

    def train(self, buffer, t_env: int, episode_num: int) -> dict[str, float]:
        raise NotImplementedError

    def modules(self) -> dict[str, torch.nn.Module]:
        """Learned modules owned by this learner (not by the controller), for checkpoints."""
        return {}

    def optimise(self, name: str, loss: torch.Tensor, what: str, t_env: int, parameters) -> torch.Tensor:
        """One gradient step of optimiser ``name`` on ``loss`` (checked finite first, gradients
        clipped to ``grad_norm_clip`` over ``parameters``); returns the gradient norm."""
        self.check_finite(loss, what, t_env)
        opt = self.optimisers[name]
        opt.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(parameters, self.args.grad_norm_clip)
        opt.step()
        return grad_norm

    def check_finite(self, loss: torch.Tensor, what: str, t_env: int) -> None:
        """Stop with the module and step named instead of training on a NaN/inf loss."""
        if not math.isfinite(float(loss.detach())):
            raise TrainingError(f"{self.name}: {what} is {float(loss.detach())} at t_env={t_env}; stopped before the "
                                "update (checkpoints already written are kept)")
