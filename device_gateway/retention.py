"""Raw-reading retention on the portable path (TimescaleDB has its own retention policy)."""

from __future__ import annotations

from datetime import timedelta

from homeloop import clock
from homeloop.db import Conn, has_timescaledb


def enforce(conn: Conn, raw_retention_days: int) -> int:
    """Delete raw readings older than the retention; the hourly and daily rollups stay.

    Returns how many rows went. With TimescaleDB the retention policy drops whole chunks, so
    this does nothing there.
    """
    if has_timescaledb(conn):
        return 0
    cur = conn.execute("DELETE FROM readings WHERE time < %s",
                       (clock.now() - timedelta(days=raw_retention_days),))
    return cur.rowcount
