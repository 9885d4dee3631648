"""Reading a product's usage timeline, raw or from the hourly and daily rollups.

The rollups are TimescaleDB continuous aggregates (real-time) when the extension is present
and exact tables maintained by the writer when it is not: same names, same columns, so the
queries here do not care which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from device_gateway.payloads import METRICS
from homeloop.db import Conn
from homeloop.errors import InvalidInput

Bucket = Literal["raw", "hour", "day"]
MAX_POINTS = 10_000
ROLLUP = {"hour": "readings_hourly", "day": "readings_daily"}


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


def read_timeline(conn: Conn, product_id: int, *, metric: str | None, start: datetime,
                  end: datetime, bucket: Bucket) -> Timeline:
    if metric is not None and metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    devices = [r[0] for r in conn.execute(
        "SELECT id FROM devices WHERE instance_id = %s", (product_id,)).fetchall()]
    metrics = [metric] if metric else list(METRICS)
    if bucket == "raw":
        rows = conn.execute(
            "SELECT metric, time, value FROM readings WHERE device_id = ANY(%s) "
            "AND metric = ANY(%s) AND time >= %s AND time < %s ORDER BY metric, time LIMIT %s",
            (devices, metrics, start, end, MAX_POINTS + 1)).fetchall()
        points = [(m, Point(t=t, value=v)) for m, t, v in rows]
    else:
        rows = conn.execute(
            "SELECT metric, bucket, sum(n)::bigint, sum(total) / sum(n), min(min), max(max), "  # noqa: S608
            "(array_agg(last_value ORDER BY last_time DESC))[1] "
            f"FROM {ROLLUP[bucket]} WHERE device_id = ANY(%s) AND metric = ANY(%s) "
            "AND bucket >= %s AND bucket < %s GROUP BY metric, bucket ORDER BY metric, bucket "
            "LIMIT %s", (devices, metrics, start, end, MAX_POINTS + 1)).fetchall()
        points = [(m, Point(t=b, n=n, avg=avg, min=lo, max=hi, last=last))
                  for m, b, n, avg, lo, hi, last in rows]
    truncated = len(points) > MAX_POINTS
    by_metric: dict[str, Series] = {}
    for m, point in points[:MAX_POINTS]:
        by_metric.setdefault(m, Series(m, METRICS[m])).points.append(point)
    return Timeline(product_id, bucket, start, end, list(by_metric.values()), truncated)
