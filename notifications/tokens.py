"""SQL of push tokens. Callers own the transaction.

A token belongs to one app install, so to the customer signed in there last: registering it
again moves it and revives it if it was pruned (the app only registers a token FCM just gave
it). Pruned tokens stay, with when and why, and are never sent to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from homeloop.db import Conn
from homeloop.errors import NotFound

__all__ = ["PushToken", "live_tokens", "prune", "register", "unregister"]


@dataclass(frozen=True, slots=True)
class PushToken:
    customer_id: int
    token: str
    platform: str
    created_at: datetime
    last_seen_at: datetime


_ROW = "customer_id, token, platform, created_at, last_seen_at"


def register(conn: Conn, customer_id: int, token: str, platform: str,
             now: datetime) -> PushToken:
    """Store the token for the customer; registering it again only refreshes it."""
    with conn.cursor(row_factory=class_row(PushToken)) as cur:
        row = cur.execute(
            "INSERT INTO push_tokens (customer_id, token, platform, created_at, last_seen_at) "  # noqa: S608
            "VALUES (%(c)s, %(t)s, %(p)s, %(now)s, %(now)s) "
            "ON CONFLICT (token) DO UPDATE SET customer_id = excluded.customer_id, "
            "platform = excluded.platform, last_seen_at = excluded.last_seen_at, "
            "pruned_at = NULL, pruned_reason = NULL "
            f"RETURNING {_ROW}",
            {"c": customer_id, "t": token, "p": platform, "now": now}).fetchone()
    assert row is not None
    return row


def unregister(conn: Conn, customer_id: int, token: str) -> None:
    """Forget the customer's token (signing out). Another customer's token is "not found"."""
    deleted = conn.execute("DELETE FROM push_tokens WHERE token = %s AND customer_id = %s",
                           (token, customer_id)).rowcount
    if not deleted:
        raise NotFound("push token is not registered")


def live_tokens(conn: Conn, customer_ids: Sequence[int]) -> dict[int, list[str]]:
    """The customers' tokens FCM has not refused, oldest first."""
    rows = conn.execute(
        "SELECT customer_id, token FROM push_tokens "
        "WHERE customer_id = ANY(%s) AND pruned_at IS NULL ORDER BY created_at, id",
        (list(customer_ids),)).fetchall()
    found: dict[int, list[str]] = {}
    for customer_id, token in rows:
        found.setdefault(int(customer_id), []).append(str(token))
    return found


def prune(conn: Conn, reasons: dict[str, str], now: datetime) -> int:
    """Mark the tokens FCM refused as pruned, each with its reason; returns how many."""
    if not reasons:
        return 0
    return conn.execute(
        "UPDATE push_tokens SET pruned_at = %s, pruned_reason = r.reason "
        "FROM unnest(%s::text[], %s::text[]) AS r(token, reason) "
        "WHERE push_tokens.token = r.token AND push_tokens.pruned_at IS NULL",
        (now, list(reasons), list(reasons.values()))).rowcount
