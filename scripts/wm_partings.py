"""Why the planner on the learned model parts from the same planner on the true simulator.

At a decision where the learned model's planner picks ``a_L`` and the simulator's picks ``a_S`` ≠ ``a_L``,
the learned model ranks ``a_L`` above ``a_S`` by ``gap = Q_L(a_L) − Q_L(a_S) ≥ 0`` while the simulator
ranks them the other way by ``regret = Q_S(a_S) − Q_S(a_L) ≥ 0``. The learned model's error on that
difference, ``gap + regret``, splits exactly (``one_step``: Q = Σ_j p(j) [r + γ c V(s')]) into three
terms, each taken as (its value at ``a_L`` − at ``a_S``) under the learned model minus the same under the
simulator:

- ``reward``: the first step's expected reward r̂ against r;
- ``continuation``: γ (ĉ − c) V(s'), the predicted probability that the agent goes on against the true one;
- ``next_state``: γ ĉ (V(ŝ') − V(s')), the value of the predicted next grid against the true grid's.

Beside them, over the branches of ``a_L`` and ``a_S`` (weighted by the co-players' joint probability):
the share whose predicted next grid is wrong in at least one cell of each channel, whose reward is off
by more than ``REWARD_TOLERANCE`` and whose predicted continuation is on the wrong side of 0.5; and,
for the branches whose prey is wrong on the agent's own cell, what happened on that cell
(``own_cell_prey_errors``: "on cell k, same action m, left l": k agents stood there at the decision,
the agent included, m of them played the agent's action, l of the others were gone from it after the
true step), with their share.
"""
from __future__ import annotations

import torch

REWARD_TOLERANCE = 0.1
TERMS = ("reward", "continuation", "next_state")


def check_explainable(settings, what: str) -> None:
    """ValueError (prefixed ``what``) unless ``settings`` (a ``PlannerSettings``) allow splitting Q into
    reward, continuation and next state: a one-step planner whose expectation does not draw, so that
    the learned and the true planner step the same branches."""
    from planners.wm_planner import ENUMERATED
    if settings.depth != 1 or settings.draws is not None:
        raise ValueError(f"{what}: the split of Q into reward, continuation and next state needs wm_planner "
                         f"one_step and the same branches in both models, so the co-player expectation must "
                         f"not draw ({' or '.join(ENUMERATED)}); got {settings.planner}, {settings.expectation}")


def explain_partings(planner, latent, latent_root, simulator, simulator_root, coplayers, generator,
                     channel_names: tuple[str, ...]) -> list[dict]:
    """One record per row of the two roots (the same decisions) whose argmaxes differ; [] if none."""
    check_explainable(planner.settings, "explain_partings")
    learned = planner.branches(latent, latent_root, coplayers, generator)
    true = planner.branches(simulator, simulator_root, coplayers, generator)
    if not (torch.equal(learned.row, true.row) and torch.equal(learned.joint, true.joint)):
        raise RuntimeError("explain_partings: the two planners stepped different branches from the same decisions")
    gamma = planner.settings.gamma
    v_true, v_learned = simulator.value(true.state), latent.value(learned.state)
    q_learned, q_true = learned.q(), true.q()
    chosen_learned, chosen_true = q_learned.argmax(-1), q_true.argmax(-1)
    terms_learned = {"reward": learned.reward, "continuation": gamma * learned.cont * v_true,
                     "next_state": gamma * learned.cont * (v_learned - v_true)}
    terms_true = {"reward": true.reward, "continuation": gamma * true.cont * v_true,
                  "next_state": torch.zeros_like(v_true)}
    grid_learned = latent.observe(learned.state)[0] > 0.5
    grid_true = simulator.observe(true.state)[0] > 0.5
    wrong = {name: (grid_learned[:, c] != grid_true[:, c]).flatten(1).any(-1).float()
             for c, name in enumerate(channel_names)}
    wrong["reward"] = ((learned.reward - true.reward).abs() > REWARD_TOLERANCE).float()
    wrong["continuation"] = ((learned.cont > 0.5) != (true.cont > 0.5)).float()
    cell_keys = _own_cell_keys(latent.observe(latent_root)[0] > 0.5, learned, grid_true, grid_learned)
    per_term = {term: (learned.per_action(terms_learned[term]), true.per_action(terms_true[term])) for term in TERMS}
    records = []
    for row in torch.nonzero(chosen_learned != chosen_true)[:, 0].tolist():
        a_l, a_s = int(chosen_learned[row]), int(chosen_true[row])
        record = {"row": row, "learned_action": a_l, "simulator_action": a_s,
                  "gap": float(q_learned[row, a_l] - q_learned[row, a_s]),
                  "regret": float(q_true[row, a_s] - q_true[row, a_l])}
        for term, (learned_at, true_at) in per_term.items():
            record[f"error_{term}"] = float((learned_at[row, a_l] - learned_at[row, a_s])
                                            - (true_at[row, a_l] - true_at[row, a_s]))
        reward_learned, reward_true = per_term["reward"]
        for side, action in (("learned", a_l), ("simulator", a_s)):
            record[f"expected_reward_at_{side}_action"] = {"learned": float(reward_learned[row, action]),
                                                           "true": float(reward_true[row, action])}
        mine = (learned.row == row) & ((learned.own == a_l) | (learned.own == a_s))
        weight = learned.weight[mine] / learned.weight[mine].sum()
        record["wrong_branches"] = {name: float((flags[mine] * weight).sum()) for name, flags in wrong.items()}
        shares: dict[str, float] = {}
        for key, share in zip((cell_keys[b] for b in torch.nonzero(mine)[:, 0].tolist()), weight.tolist()):
            if key is not None:
                shares[key] = shares.get(key, 0.0) + share
        record["own_cell_prey_errors"] = shares
        records.append(record)
    return records


def _own_cell_keys(root_grid: torch.Tensor, branches, grid_true: torch.Tensor, grid_learned: torch.Tensor
                   ) -> list[str | None]:
    """Per branch: None when every prey channel is right on the agent's own (root) cell, else what
    happened there (see the module's docstring). Grids ``[B,C,H,W]`` bool; ``root_grid [R,C,H,W]``."""
    n = branches.joint.shape[1]
    own = root_grid[:, 0].flatten(1).float().argmax(-1)                              # [R] the agent's cell
    cell = own[branches.row]                                                          # [B]
    b = torch.arange(len(cell))
    prey_wrong = (grid_true[:, n + 1:].flatten(2)[b, :, cell] != grid_learned[:, n + 1:].flatten(2)[b, :, cell]).any(-1)
    on_cell = root_grid[:, :n].flatten(2)[branches.row, :, cell]                      # [B,N]
    same = on_cell & (branches.joint == branches.joint[:, :1])
    left = on_cell[:, 1:] & ~grid_true[:, 1:n].flatten(2)[b, :, cell]
    keys = [f"on cell {k}, same action {m}, left {l}"
            for k, m, l in zip(on_cell.sum(-1).tolist(), same.sum(-1).tolist(), left.sum(-1).tolist())]
    return [key if bad else None for key, bad in zip(keys, prey_wrong.tolist())]


def summarise(records: list[dict]) -> dict:
    """Mean error terms over partings, how many each term leads (the largest of the three), the mean
    share of wrong branches per channel, reward and continuation, and of each own-cell prey error."""
    if not records:
        return {"partings": 0}
    count = len(records)
    out: dict = {"partings": count}
    for term in TERMS:
        out[f"mean_error_{term}"] = sum(r[f"error_{term}"] for r in records) / count
        out[f"led_by_{term}"] = sum(max(TERMS, key=lambda t: r[f"error_{t}"]) == term for r in records)
    names = records[0]["wrong_branches"].keys()
    out["wrong_branches"] = {name: sum(r["wrong_branches"][name] for r in records) / count for name in names}
    cells: dict[str, float] = {}
    for record in records:
        for key, share in record["own_cell_prey_errors"].items():
            cells[key] = cells.get(key, 0.0) + share / count
    out["own_cell_prey_errors"] = dict(sorted(cells.items(), key=lambda item: -item[1]))
    return out
