"""Interface shared by every learner (SPEC §5)."""
from __future__ import annotations

import math
import os

import torch
from munch import Munch


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a NaN loss); the message names the module and step."""


class Learner:
    """Trains from the shared buffer. Subclasses set ``name`` and implement ``train``."""

    name = "learner"

    def __init__(self, mac, scheme: dict, logger, args: Munch) -> None:
        self.mac, self.scheme, self.logger, self.args = mac, scheme, logger, args
        self.optimisers: dict[str, torch.optim.Optimizer] = {}
        self.generator: torch.Generator | None = None

    def seed_generator(self, offset: int) -> torch.Generator:
        """This learner's own random stream, seeded with ``seed + offset``; checkpoints carry its
        state (``state_dict``), so a resumed run draws what the uninterrupted one would have."""
        self.generator = torch.Generator().manual_seed(int(self.args.seed) + offset)
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

    def cuda(self) -> None:
        for module in self.modules().values():
            module.cuda()

    def save_models(self, path: str) -> None:
        """Write this learner's own modules and optimisers to ``path/<learner>_<name>.th``."""
        os.makedirs(path, exist_ok=True)
        for name, obj in {**self.modules(), **{f"{k}_opt": o for k, o in self.optimisers.items()}}.items():
            torch.save(obj.state_dict(), os.path.join(path, f"{self.name}_{name}.th"))

    def load_models(self, path: str) -> None:
        """Read back what ``save_models`` wrote."""
        for name, obj in {**self.modules(), **{f"{k}_opt": o for k, o in self.optimisers.items()}}.items():
            obj.load_state_dict(torch.load(os.path.join(path, f"{self.name}_{name}.th"), map_location="cpu"))

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
