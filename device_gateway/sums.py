"""Interval readings from SenML sums, each litre counted once. Pure, no I/O.

A tag may report an interval metric (``flow_l``: litres since the previous report) as a
running sum instead (RFC 8428 §4.2: "litres through the filter so far"). The timeline
stores the differences of consecutive sums, at the later sum's time. Sums arrive late, out
of order and more than once (redelivery, a tag's backlog), so the writer keeps, per device
and metric, only the earliest and the latest sum it has seen (:class:`Bounds`): the span
between them has been counted, interval by interval. New sums add the intervals outside
that span — after the latest, before the earliest — and nothing inside it: a sum arriving
late between two counted ones would split an interval that is already stored.

A sum smaller than the one before it means the tag's counter was reset or wrapped (RFC 8428
§10): the litres since then are the new sum itself, the litres before the reset are not
known and are not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["Bounds", "amount", "intervals"]


@dataclass(frozen=True, slots=True)
class Bounds:
    first_ms: int
    first_sum: float
    last_ms: int
    last_sum: float


def amount(before: float, after: float) -> float:
    """What flowed between two consecutive sums."""
    return after - before if after >= before else after


def intervals(bounds: Bounds | None, sums: Iterable[tuple[int, float]],
              ) -> tuple[list[tuple[int, float]], Bounds | None]:
    """The interval readings ``(ms, amount)`` that ``sums`` add, and the new bounds."""
    points: dict[int, float] = {}
    if bounds is not None:
        points[bounds.first_ms] = bounds.first_sum
        points[bounds.last_ms] = bounds.last_sum
    for ms, value in sums:
        points.setdefault(ms, value)  # a time seen before keeps its first sum
    if not points:
        return [], bounds
    ordered = sorted(points.items())
    added: list[tuple[int, float]] = []
    for (t0, s0), (t1, s1) in pairwise(ordered):
        if bounds is None or t1 <= bounds.first_ms or t0 >= bounds.last_ms:
            added.append((t1, amount(s0, s1)))
    (first_ms, first_sum), (last_ms, last_sum) = ordered[0], ordered[-1]
    return added, Bounds(first_ms, first_sum, last_ms, last_sum)
