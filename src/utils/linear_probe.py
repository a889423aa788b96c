"""A multinomial logistic-regression probe: how linearly decodable a label is from features."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class ProbeResult:
    """Held-out accuracy of the probe, the majority-class baseline and the confusion matrix."""

    accuracy: float
    chance: float                 # share of the most frequent class in the held-out set
    confusion: np.ndarray         # [n_classes, n_classes], rows = true class, columns = predicted
    n_train: int
    n_test: int


def fit_linear_probe(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                     n_classes: int, weight_decay: float = 1e-3, iterations: int = 200) -> ProbeResult:
    """Fit softmax regression on standardised ``x_train [M,D]`` / int ``y_train [M]`` (L-BFGS, L2
    ``weight_decay``) and score it on the held-out ``x_test`` / ``y_test``."""
    if len(x_train) == 0 or len(x_test) == 0:
        raise ValueError(f"linear probe needs training and held-out rows, got {len(x_train)} and {len(x_test)}")
    mean, std = x_train.mean(0), x_train.std(0).clamp(min=1e-6)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    with torch.enable_grad():
        linear = torch.nn.Linear(x_train.shape[1], n_classes)
        optimiser = torch.optim.LBFGS(linear.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(linear(x_train), y_train) + weight_decay * linear.weight.square().sum()
            loss.backward()
            return loss

        optimiser.step(closure)
    with torch.no_grad():
        predicted = linear(x_test).argmax(-1)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (y_test.numpy(), predicted.numpy()), 1)
    counts = np.bincount(y_test.numpy(), minlength=n_classes)
    return ProbeResult(accuracy=float((predicted == y_test).float().mean()), chance=float(counts.max() / counts.sum()),
                       confusion=confusion, n_train=len(x_train), n_test=len(x_test))
