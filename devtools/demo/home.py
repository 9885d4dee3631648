"""A customer's home with a history, for the home app's benchmark: a purifier they have had for
six months, a month of its readings put in through the gateway's own writer (as the broker
delivers them), its forecasts and offers as the hourly tasks make them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from customers import store as customers
from device_gateway.gateway import limits_from
from device_gateway.provisioning import provision
from device_gateway.writer import BatchWriter, Incoming
from homeloop.db import Conn, has_timescaledb
from homeloop.settings import Settings
from replenishment import offers
from replenishment import service as forecasting

__all__ = ["seed_home_history"]

DAYS = 30


def _readings(start: datetime) -> list[tuple[datetime, dict[str, float]]]:
    """Hourly: more water by day than by night, the room's temperature."""
    return [(start + timedelta(hours=h),
             {"flow_l": round(0.1 + 0.5 * (h % 24 in range(7, 22)) + (h % 5) / 20, 3),
              "temp_c": round(17 + (h % 24) / 8, 2)}) for h in range(DAYS * 24)]


def seed_home_history(conn: Conn, settings: Settings, customer_id: int, now: datetime) -> int:
    """The purifier's product id. ``conn`` must be in autocommit (the rollups are refreshed)."""
    [tag] = provision(conn, "WP-500", 1)
    customers.claim(conn, customer_id, device_id=tag.device_id, via="nfc_tap")
    conn.execute("UPDATE product_instances SET claimed_at = %s WHERE id = %s",
                 (now - timedelta(days=182), tag.instance_id))
    limits = replace(limits_from(settings), max_age_ms=(DAYS + 5) * 86_400_000)
    writer = BatchWriter(settings.database_url, limits)
    try:
        batch = [Incoming(i, f"tags/{tag.device_id}/readings",
                          json.dumps({"ts": int(t.timestamp() * 1000), "m": m}).encode(), 1,
                          t.timestamp())
                 for i, (t, m) in enumerate(_readings(now - timedelta(days=DAYS)))]
        writer.write(batch)
    finally:
        writer.close()
    if has_timescaledb(conn):  # the rollups as far as their policies go
        conn.execute("CALL refresh_continuous_aggregate('readings_hourly', NULL, "
                     "date_trunc('hour', now() - interval '1 hour'))")
        conn.execute("CALL refresh_continuous_aggregate('readings_daily', NULL, "
                     "date_trunc('day', now() - interval '1 day'))")
    forecasting.forecast_instances(conn, [tag.instance_id], now)
    offers.evaluate(conn, now)
    return tag.instance_id
