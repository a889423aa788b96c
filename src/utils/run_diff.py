"""Bit-for-bit comparison of two runs' logged metrics, step by step, over the steps both runs cover."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MetricDiff:
    """How two runs' metric series compare.

    ``window``: the env steps both runs cover (from the later first step to the earlier last step,
    at most ``until``), e.g. a run resumed from a checkpoint covers only the steps after it.
    ``values``: values compared at steps both logged; ``differing``: per series, the first step
    whose values differ (step, value A, value B); ``only_in_one``: series one run never logged;
    ``missing_steps``: per series, ``(run "A" or "B", steps)`` inside the window that that run lacks."""

    series: int = 0
    values: int = 0
    window: tuple[float, float] | None = None
    differing: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    only_in_one: dict[str, str] = field(default_factory=dict)
    missing_steps: dict[str, tuple[str, list[int]]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return self.values > 0 and not self.differing and not self.only_in_one and not self.missing_steps


def _by_step(entry: dict) -> dict[int, list]:
    out: dict[int, list] = {}
    for step, value in zip(entry["steps"], entry["values"]):
        out.setdefault(step, []).append(value)
    return out


def _span(metrics: dict) -> tuple[float, float]:
    steps = [s for entry in metrics.values() for s in entry["steps"]]
    return (min(steps), max(steps)) if steps else (0, -1)


def diff_metrics(a: dict, b: dict, until: int | None = None) -> MetricDiff:
    """Compare Sacred ``metrics.json`` dicts ``a`` and ``b`` value by value at equal steps, over
    the steps both runs cover (at most ``until``); list series and steps only one run has."""
    (lo_a, hi_a), (lo_b, hi_b) = _span(a), _span(b)
    lo, hi = max(lo_a, lo_b), min(hi_a, hi_b)
    if until is not None:
        hi = min(hi, until)
    result = MetricDiff(window=(lo, hi) if lo <= hi else None)
    for name in sorted(set(a) ^ set(b)):
        result.only_in_one[name] = "A" if name in a else "B"
    for name in sorted(set(a) & set(b)):
        steps_a = {s: v for s, v in _by_step(a[name]).items() if lo <= s <= hi}
        steps_b = {s: v for s, v in _by_step(b[name]).items() if lo <= s <= hi}
        result.series += 1
        lacking_b = sorted(set(steps_a) - set(steps_b))
        lacking_a = sorted(set(steps_b) - set(steps_a))
        if lacking_a or lacking_b:
            result.missing_steps[name] = ("A", lacking_a) if lacking_a else ("B", lacking_b)
        for step in sorted(set(steps_a) & set(steps_b)):
            values_a, values_b = steps_a[step], steps_b[step]
            result.values += min(len(values_a), len(values_b))
            if values_a != values_b:
                pair = next(((x, y) for x, y in zip(values_a, values_b) if x != y), (values_a, values_b))
                result.differing[name] = (step, pair[0], pair[1])
                break
    return result


def merge_metrics(parts: list[dict]) -> dict:
    """One metrics dict from the Sacred records of one run resumed in place (oldest first): for a
    step logged by several parts, the later part's value counts (a resumed run logs again every
    step after the checkpoint it started from)."""
    merged: dict[str, dict[int, list]] = {}
    for part in parts:
        for name, entry in part.items():
            later = _by_step(entry)
            merged.setdefault(name, {}).update(later)
    out = {}
    for name, by_step in merged.items():
        steps = sorted(by_step)
        out[name] = {"steps": [s for s in steps for _ in by_step[s]],
                     "values": [v for s in steps for v in by_step[s]]}
    return out
