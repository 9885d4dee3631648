"""Raw-reading retention on the portable path (TimescaleDB has its own retention policy), and
the anchors of clockless SenML packs on both."""

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


def forget_anchors(conn: Conn, keep_days: int) -> int:
    """Delete the anchors of clockless SenML packs first received more than ``keep_days``
    ago (``max_backlog_age_days``). The broker redelivers a message only within its
    sessions' lifetimes (the gateway's 7 days, the tags' 14), so no copy of such a pack can
    still come and be counted again from a new anchor. Returns how many went."""
    cur = conn.execute("DELETE FROM senml_anchors WHERE anchored_at < %s",
                       (clock.now() - timedelta(days=keep_days),))
    return cur.rowcount
