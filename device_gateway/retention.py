"""Raw-reading retention on the portable path (TimescaleDB has its own retention policy), and
the anchors of clockless SenML packs on both.

Retention never holds up ingest. On the portable path it deletes old readings one time range
at a time (``retention_batch_hours``, found through the BRIN index on ``time``), each range
in a transaction of its own: a DELETE takes row locks on the rows it removes and a ``ROW
EXCLUSIVE`` lock on the table, which conflicts with no insert (the gateway's own statement
takes the same), and the rows it removes are older than any reading the gateway accepts
(``max_backlog_age_days``), so no insert waits for one of them. Short transactions also let
autovacuum reclaim the space as the run goes, instead of one transaction the size of a day
of the whole fleet. The rollups are kept; the gateway maintains them in the same statement
as each insert, so there is nothing to refresh on this path.

On TimescaleDB the retention policy drops whole chunks (``drop_chunks``: an exclusive lock
on those old chunks only, which receive no inserts for the reason above), and the
continuous aggregates are refreshed by their policies as background jobs, which read the
raw chunks and write the materialized ones: inserts into ``readings`` go on meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from homeloop import clock
from homeloop.db import Conn, has_timescaledb

__all__ = ["delete_between", "enforce", "forget_anchors"]


def delete_between(conn: Conn, start: datetime, end: datetime) -> int:
    """Delete the raw readings timed in ``[start, end)``; the caller commits."""
    return conn.execute("DELETE FROM readings WHERE time >= %s AND time < %s",
                        (start, end)).rowcount


def enforce(conn: Conn, raw_retention_days: int, batch: timedelta = timedelta(hours=1)) -> int:
    """Delete raw readings older than the retention, ``batch`` of time per transaction (this
    commits after each: call it with no transaction of yours open); the hourly and daily
    rollups stay.

    Returns how many rows went. With TimescaleDB the retention policy drops whole chunks, so
    this does nothing there.
    """
    if has_timescaledb(conn):
        return 0
    cutoff = clock.now() - timedelta(days=raw_retention_days)
    # The oldest reading: the BRIN index finds the ranges before the cutoff, so this reads
    # what is about to be deleted, not the table.
    row = conn.execute("SELECT min(time) FROM readings WHERE time < %s", (cutoff,)).fetchone()
    conn.commit()
    if row is None or row[0] is None:
        return 0
    start, deleted = row[0], 0
    while start < cutoff:
        end = min(start + batch, cutoff)
        deleted += delete_between(conn, start, end)
        conn.commit()
        start = end
    return deleted


def forget_anchors(conn: Conn, keep_days: int) -> int:
    """Delete the anchors of clockless SenML packs first received more than ``keep_days``
    ago (``max_backlog_age_days``). The broker redelivers a message only within its
    sessions' lifetimes (the gateway's 7 days, the tags' 14), so no copy of such a pack can
    still come and be counted again from a new anchor. Returns how many went."""
    cur = conn.execute("DELETE FROM senml_anchors WHERE anchored_at < %s",
                       (clock.now() - timedelta(days=keep_days),))
    return cur.rowcount
