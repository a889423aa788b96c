"""How a planning actor acts on a search result and what it writes as the prior's training target.

Acting: softmax(``q_temperature`` × root Q) over the available actions, Q on the trees'
normalised scale (``SearchResult.greedy`` in greedy test mode). The ``mcts_policy`` written into
the batch, the alphazero learner's target for the prior, is chosen by ``mcts_policy_target``:
``visits`` (default, as in AlphaZero: the root visit distribution summed over trees) or
``q_softmax`` (the acting distribution itself).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from munch import Munch

from planners.mcts import SearchResult, masked_softmax
from utils.errors import ConfigError

POLICY_TARGETS: dict[str, Callable[[SearchResult, np.ndarray], np.ndarray]] = {
    "visits": lambda result, acting: result.visit_policy(),
    "q_softmax": lambda result, acting: acting,
}


def check_policy_target(args: Munch) -> None:
    """``mcts_policy_target`` must name one of ``POLICY_TARGETS``."""
    if args.mcts_policy_target not in POLICY_TARGETS:
        raise ConfigError(f"unknown mcts_policy_target '{args.mcts_policy_target}'. Available: "
                          f"{', '.join(POLICY_TARGETS)}")


def act_on_search(result: SearchResult, args: Munch, greedy: bool, generator: torch.Generator,
                  diagnostics: dict[str, list[float]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Actions ``[M]`` and the prior's training target ``[M,A]`` from one search; with
    ``diagnostics`` (a training step's), each decision's ``acting_diagnostics`` are appended to it."""
    acting = masked_softmax(args.q_temperature * result.q, result.avail)
    if greedy:
        actions = result.greedy()
    else:
        actions = torch.multinomial(torch.from_numpy(acting), 1, generator=generator)[:, 0].numpy()
    if diagnostics is not None:
        for key, values in acting_diagnostics(result, acting).items():
            diagnostics.setdefault(key, []).extend(values.tolist())
    return actions, POLICY_TARGETS[args.mcts_policy_target](result, acting)


def acting_diagnostics(result: SearchResult, acting: np.ndarray) -> dict[str, np.ndarray]:
    """Per decision ``[M]``: ``search_one_action`` (1 when every tree spent every simulation on
    one root action, as a sharp prior makes it) and ``acting_top_prob`` (the largest probability
    of the acting softmax). Together they show whether the acting follows a confident search."""
    tried = (result.visits.sum(axis=1) > 0).sum(axis=1)
    return {"search_one_action": (tried == 1).astype(np.float64), "acting_top_prob": acting.max(axis=1)}
