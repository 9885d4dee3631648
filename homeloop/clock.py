"""The one clock a rule reads.

Production code takes the time from :func:`now` at its edge (a route, a task, a command) and
hands it down: domain functions take ``now`` as an argument and never read a clock. Where a
rule compares times in SQL, the query binds that ``now`` instead of calling the database's
own ``now()``, so that one clock, not two, decides (a timestamp the database stamps for the
record, such as ``created_at``, decides nothing).

Tests set this clock with time-machine (``tests/clock.py``), which moves ``datetime.now``
and ``time.time`` for the whole test process.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["now"]


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)  # noqa: TID251 (the one place that reads the wall clock)

