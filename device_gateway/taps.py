"""Taps recorded on a product's behalf (not received from its tag). Callers own the
transaction.

A technician's visit that was done is recorded as the tap they would have made on site: an
``nfc_tap`` event naming the service (``data.part``) on each product's active device, which
starts the service's next cycle in the forecast (:mod:`replenishment.items`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from homeloop.db import Conn

__all__ = ["record_parts_done"]


def record_parts_done(conn: Conn, done: Sequence[tuple[int, str]], data: dict[str, Any],
                      now: datetime) -> int:
    """An ``nfc_tap`` naming each (product instance, part) of ``done``, with ``data``, on the
    product's active device; how many were recorded. Two parts on one product are tapped a
    microsecond apart, as events are keyed by (device, kind, time)."""
    if not done:
        return 0
    return conn.execute(
        "INSERT INTO events (time, device_id, kind, data) "
        "SELECT %(now)s + (row_number() OVER (PARTITION BY d.id ORDER BY x.part) - 1) "
        "       * interval '1 microsecond', d.id, 'nfc_tap', "
        "       jsonb_build_object('part', x.part) || %(data)s::jsonb "
        "FROM unnest(%(instances)s::bigint[], %(parts)s::text[]) AS x(instance_id, part) "
        "JOIN devices d ON d.instance_id = x.instance_id AND d.revoked_at IS NULL "
        "ON CONFLICT DO NOTHING",
        {"now": now, "data": json.dumps(data), "instances": [i for i, _ in done],
         "parts": [p for _, p in done]}).rowcount
