"""The shared Adam: one foreach update, the same numbers as torch's per-tensor loop."""
import torch
import torch.nn as nn

from learners.optimisers import adam


def _train(make_optimiser, steps: int = 25) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 32), nn.ReLU(),
                          nn.Linear(32, 5))
    optimiser = make_optimiser(model.parameters())
    x, y = torch.randn(64, 3, 4, 4), torch.randint(0, 5, (64,))
    for _ in range(steps):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimiser.step()
    return [p.detach().clone() for p in model.parameters()]


def test_shared_adam_updates_exactly_as_per_tensor_adam():
    ours = _train(lambda params: adam(params, 3e-3, 1e-5))
    reference = _train(lambda params: torch.optim.Adam(params, lr=3e-3, eps=1e-5, foreach=False))
    initial = _train(lambda params: adam(params, 3e-3, 1e-5), steps=0)
    assert all(torch.equal(a, b) for a, b in zip(ours, reference))
    assert not all(torch.equal(a, b) for a, b in zip(ours, initial))        # the steps moved the weights


def test_shared_adam_uses_foreach():
    optimiser = adam(nn.Linear(2, 2).parameters(), 1e-3, 1e-8)
    assert optimiser.param_groups[0]["foreach"] is True
    assert optimiser.param_groups[0]["eps"] == 1e-8 and optimiser.param_groups[0]["lr"] == 1e-3
