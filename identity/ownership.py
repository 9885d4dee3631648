"""Ownership periods: when a customer owned a product instance, and so whose its data is.

A product changes hands (a staff transfer, a release and a new claim): the usage it recorded
while someone else owned it is not the new owner's to read, and what it recorded while it was
theirs stays the seller's. Every reader of a product's usage — the timeline, the forecasts
drawn from it, the export — clamps its time range to the periods this module gives.

The periods come from ``ownership_changes`` (one row per claim, transfer or release, with its
time ``at``):

- a customer's period begins at the change that gave them the product and ends at the next
  change that gave it to anyone else (or to no one); a transfer to themselves changes nothing;
- the product's **first** owner (their change is the product's first) owns it from its
  beginning: what the tag recorded before anyone claimed it (installed, then tapped) was
  nobody else's. Anyone later starts at their own change, so a gap after a release is no
  one's to read;
- a product whose owner has no change recorded (data written before changes were kept) is
  theirs from ``claimed_at``, or from its beginning when it has no changes at all.

Periods are half-open, ``[start, end)``; ``None`` is unbounded (from the beginning, until
further notice). Callers own the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from homeloop.db import Conn

__all__ = ["Change", "Period", "current_owner_periods", "owned_instances", "periods",
           "periods_from"]


class Period(NamedTuple):
    """``[start, end)``; ``start`` None: from the product's beginning; ``end`` None: still
    theirs."""

    start: datetime | None
    end: datetime | None


class Change(NamedTuple):
    to_owner: int | None
    at: datetime


def periods_from(changes: Sequence[Change], customer_id: int, *, owner_id: int | None,
                 claimed_at: datetime | None) -> list[Period]:
    """The rule (pure): ``customer_id``'s periods from an instance's changes in time order,
    its current owner and its ``claimed_at``."""
    found: list[Period] = []
    start: datetime | None = None
    holding = False
    for i, change in enumerate(changes):
        if change.to_owner == customer_id:
            if holding:
                continue  # to themselves: nothing changes
            if found and found[-1].end == change.at:  # back the same instant: one period
                start = found.pop().start
            else:
                start = None if i == 0 else change.at
            holding = True
        elif holding:
            found.append(Period(start, change.at))
            holding = False
    if holding:
        found.append(Period(start, None))
    elif owner_id == customer_id:  # theirs, with no change that says since when
        found.append(Period(claimed_at if changes else None, None))
    return found


def _changes(conn: Conn, instance_ids: Sequence[int]) -> dict[int, list[Change]]:
    found: dict[int, list[Change]] = defaultdict(list)
    for instance_id, to_owner, at in conn.execute(
            "SELECT instance_id, to_owner, at FROM ownership_changes WHERE instance_id = ANY(%s) "
            "ORDER BY instance_id, at, id", (list(instance_ids),)).fetchall():
        found[int(instance_id)].append(Change(to_owner, at))
    return found


def periods(conn: Conn, instance_id: int, customer_id: int) -> list[Period]:
    """When ``customer_id`` owned product ``instance_id`` (empty: never), oldest first."""
    row = conn.execute("SELECT owner_id, claimed_at FROM product_instances WHERE id = %s",
                       (instance_id,)).fetchone()
    if row is None:
        return []
    return periods_from(_changes(conn, [instance_id])[instance_id], customer_id,
                        owner_id=row[0], claimed_at=row[1])


def current_owner_periods(conn: Conn, instance_ids: Sequence[int]) -> dict[int, list[Period]]:
    """For each instance that has an owner, its owner's periods (the same rule as
    :func:`periods`, for a batch in two queries); the last one is the current one."""
    rows = conn.execute("SELECT id, owner_id, claimed_at FROM product_instances "
                        "WHERE id = ANY(%s) AND owner_id IS NOT NULL",
                        (list(instance_ids),)).fetchall()
    changes = _changes(conn, [r[0] for r in rows])
    return {int(i): periods_from(changes[int(i)], int(owner), owner_id=int(owner),
                                 claimed_at=claimed_at)
            for i, owner, claimed_at in rows}


def owned_instances(conn: Conn, customer_id: int) -> dict[int, list[Period]]:
    """Every product ``customer_id`` owns or once owned, with their periods of it."""
    ids = [int(r[0]) for r in conn.execute(
        "SELECT id FROM product_instances WHERE owner_id = %s UNION "
        "SELECT instance_id FROM ownership_changes WHERE to_owner = %s ORDER BY 1",
        (customer_id, customer_id)).fetchall()]
    rows = {int(r[0]): (r[1], r[2]) for r in conn.execute(
        "SELECT id, owner_id, claimed_at FROM product_instances WHERE id = ANY(%s)",
        (ids,)).fetchall()}
    changes = _changes(conn, ids)
    found = {i: periods_from(changes[i], customer_id, owner_id=rows[i][0],
                             claimed_at=rows[i][1]) for i in ids}
    return {i: p for i, p in found.items() if p}
