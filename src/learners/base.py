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
