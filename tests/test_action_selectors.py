"""Action selection: only available actions, and sampling follows the masked softmax."""
import torch

from components.action_selectors import REGISTRY, greedy_actions, sample_actions


def test_sampling_matches_masked_softmax_and_never_picks_unavailable():
    logits = torch.tensor([[0.0, 1.0, 2.0, 5.0]]).repeat(200_000, 1)
    avail = torch.tensor([[True, True, True, False]]).repeat(200_000, 1)
    actions = sample_actions(logits, avail, torch.Generator().manual_seed(0))
    counts = torch.bincount(actions, minlength=4).float() / len(actions)
    expected = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0)
    assert counts[3] == 0
    assert torch.allclose(counts[:3], expected, atol=0.005)


def test_sampling_is_reproducible_with_a_seeded_generator():
    logits, avail = torch.randn(64, 7), torch.rand(64, 7) > 0.3
    avail[:, 4] = True
    a = sample_actions(logits, avail, torch.Generator().manual_seed(3))
    b = sample_actions(logits, avail, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and avail.gather(1, a[:, None]).all()


def test_greedy_takes_best_available():
    logits = torch.tensor([[9.0, 1.0, 3.0]])
    assert greedy_actions(logits, torch.tensor([[False, True, True]])).item() == 2
    assert set(REGISTRY) == {"multinomial", "greedy"}
