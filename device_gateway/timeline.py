"""Reading a product's usage timeline, raw or from the hourly and daily rollups.

The rollups are TimescaleDB continuous aggregates (real-time) when the extension is present
and exact tables maintained by the writer when it is not: same names, same columns, so the
queries here do not care which.

A reader may see only some periods of the product's life (``within``: the periods its owner
owned it, :mod:`identity.ownership`). Raw readings are simply filtered. A rollup bucket that
lies wholly inside a period is read from the rollup; a bucket that a period's start or end
cuts (a product sold at 10:30: the seller's 10:00 hour, the buyer's too) is computed from the
raw readings of its part inside the period, so neither side sees the other's part. Once raw
readings are past retention such an edge bucket is empty rather than whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from catalog.metrics import METRICS
from homeloop.db import Conn
from homeloop.errors import InvalidInput

Bucket = Literal["raw", "hour", "day"]
MAX_POINTS = 10_000
ROLLUP = {"hour": "readings_hourly", "day": "readings_daily"}
# UTC buckets, as the rollups' (a day is 24 hours, whatever the session's time zone)
WIDTH = {"hour": timedelta(hours=1), "day": timedelta(hours=24)}
# [start, end), None unbounded: the periods a reader may see
Within = Sequence[tuple[datetime | None, datetime | None]]
EVERYTHING: Within = ((None, None),)


@dataclass(frozen=True, slots=True)
class Point:
    t: datetime
    value: float | None = None
    n: int | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    last: float | None = None


@dataclass(slots=True)
class Series:
    metric: str
    unit: str
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Timeline:
    product_id: int
    bucket: Bucket
    start: datetime
    end: datetime
    series: list[Series]
    truncated: bool


def _floor(t: datetime, bucket: Bucket) -> datetime:
    t = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if bucket == "day" else t


def edge_parts(within: Within, bucket: Bucket
               ) -> list[tuple[datetime, datetime, datetime]]:
    """(bucket, start, end): the parts inside ``within`` of the buckets a period's start or end
    cuts, which the rollup cannot answer for (it holds whole buckets)."""
    width = WIDTH[bucket]
    cut = {_floor(t, bucket) for period in within for t in period
           if t is not None and _floor(t, bucket) != t}
    parts = []
    for b in sorted(cut):
        for lo, hi in within:
            start = b if lo is None else max(b, lo)
            end = b + width if hi is None else min(b + width, hi)
            if start < end:
                parts.append((b, start, end))
    return parts


def _bounds(within: Within) -> tuple[list[datetime | None], list[datetime | None]]:
    return [lo for lo, _ in within], [hi for _, hi in within]


RAW = """
SELECT metric, time, value FROM readings
WHERE device_id = ANY(%(devices)s) AND metric = ANY(%(metrics)s)
  AND time >= %(start)s AND time < %(end)s
  AND EXISTS (SELECT 1 FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) p(lo, hi)
              WHERE (p.lo IS NULL OR time >= p.lo) AND (p.hi IS NULL OR time < p.hi))
ORDER BY metric, time LIMIT %(limit)s
"""

ROLLED = """
SELECT metric, bucket, sum(n)::bigint, sum(total) / sum(n), min(min), max(max),
       (array_agg(last_value ORDER BY last_time DESC))[1]
FROM (
  SELECT metric, bucket, n, total, min, max, last_time, last_value FROM {rollup}
  WHERE device_id = ANY(%(devices)s) AND metric = ANY(%(metrics)s)
    AND bucket >= %(start)s AND bucket < %(end)s
    AND EXISTS (SELECT 1 FROM unnest(%(lo)s::timestamptz[], %(hi)s::timestamptz[]) p(lo, hi)
                WHERE (p.lo IS NULL OR bucket >= p.lo)
                  AND (p.hi IS NULL OR bucket + %(width)s::interval <= p.hi))
  UNION ALL
  SELECT r.metric, x.b, count(*), sum(r.value), min(r.value), max(r.value), max(r.time),
         (array_agg(r.value ORDER BY r.time DESC))[1]
  FROM unnest(%(eb)s::timestamptz[], %(es)s::timestamptz[], %(ee)s::timestamptz[]) x(b, s, e)
  JOIN readings r ON r.time >= x.s AND r.time < x.e
  WHERE r.device_id = ANY(%(devices)s) AND r.metric = ANY(%(metrics)s)
    AND x.b >= %(start)s AND x.b < %(end)s
  GROUP BY r.metric, x.b
) u
GROUP BY metric, bucket ORDER BY metric, bucket LIMIT %(limit)s
"""


def read_timeline(conn: Conn, product_id: int, *, metric: str | None, start: datetime,
                  end: datetime, bucket: Bucket, within: Within = EVERYTHING) -> Timeline:
    """The product's readings in ``[start, end)`` (rollup buckets that begin in it), of the
    periods ``within`` only (the product's whole life by default)."""
    if metric is not None and metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    devices = [r[0] for r in conn.execute(
        "SELECT id FROM devices WHERE instance_id = %s", (product_id,)).fetchall()]
    metrics = [metric] if metric else list(METRICS)
    lo, hi = _bounds(within)
    params = {"devices": devices, "metrics": metrics, "start": start, "end": end,
              "lo": lo, "hi": hi, "limit": MAX_POINTS + 1}
    if not within:
        points: list[tuple[str, Point]] = []
    elif bucket == "raw":
        rows = conn.execute(RAW, params).fetchall()
        points = [(m, Point(t=t, value=v)) for m, t, v in rows]
    else:
        parts = edge_parts(within, bucket)
        rows = conn.execute(ROLLED.format(rollup=ROLLUP[bucket]), {
            **params, "width": f"{WIDTH[bucket] // timedelta(hours=1)} hours",
            "eb": [b for b, _, _ in parts], "es": [s for _, s, _ in parts],
            "ee": [e for _, _, e in parts]}).fetchall()
        points = [(m, Point(t=b, n=n, avg=avg, min=least, max=most, last=last))
                  for m, b, n, avg, least, most, last in rows]
    truncated = len(points) > MAX_POINTS
    by_metric: dict[str, Series] = {}
    for m, point in points[:MAX_POINTS]:
        by_metric.setdefault(m, Series(m, METRICS[m].unit)).points.append(point)
    return Timeline(product_id, bucket, start, end, list(by_metric.values()), truncated)
