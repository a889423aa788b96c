"""Bit-for-bit comparison of two runs' logged metrics, over the steps both reached."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MetricDiff:
    """How two runs' metric series compare: the values compared, the series that differ (with
    their first differing step and values) and the series only one run logged."""

    series: int = 0
    values: int = 0
    differing: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    only_in_one: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.values > 0 and not self.differing


def diff_metrics(a: dict, b: dict, until: int | None = None) -> MetricDiff:
    """Compare Sacred ``metrics.json`` dicts ``a`` and ``b`` value by value at every step both
    logged (at most ``until``). Series whose steps differ count as differing at the first step
    where they part."""
    result = MetricDiff(only_in_one=sorted(set(a) ^ set(b)))
    for name in sorted(set(a) & set(b)):
        pairs_a = list(zip(a[name]["steps"], a[name]["values"]))
        pairs_b = list(zip(b[name]["steps"], b[name]["values"]))
        common = min(len(pairs_a), len(pairs_b))
        result.series += 1
        for (step_a, value_a), (step_b, value_b) in zip(pairs_a[:common], pairs_b[:common]):
            if until is not None and min(step_a, step_b) > until:
                break
            result.values += 1
            if step_a != step_b or value_a != value_b:
                result.differing[name] = (min(step_a, step_b), value_a, value_b)
                break
    return result
