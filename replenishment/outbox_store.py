"""SQL of the offers' push outbox. Callers own the transaction.

:func:`enqueue` is one set-based statement over the offers that may be pushed now;
:func:`claim` takes a batch of due rows with ``FOR UPDATE SKIP LOCKED`` (a second worker
skips them instead of sending them again, and does not wait either); :func:`record` writes
every claimed row's new state, and the offers that went out, in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row

from homeloop.db import Conn
from replenishment.offer_reasons import PUSH_TITLES

__all__ = ["NO_TOKEN", "Claimed", "NewState", "claim", "enqueue", "enqueue_message", "record",
           "requeue_no_token"]

NO_TOKEN = "no push token"

ENQUEUE = """
INSERT INTO outbox (offer_id, customer_id, payload, next_attempt_at, created_at)
SELECT o.id, o.customer_id,
       jsonb_build_object(
           'title', %(titles)s::jsonb -> l.lang ->> o.kind,
           'body', CASE l.lang WHEN 'zh' THEN o.reason_zh ELSE o.reason_en END,
           -- FCM data values are strings
           'data', jsonb_build_object('offer_id', o.id::text, 'kind', o.kind,
                                      'product_id', coalesce(o.instance_id::text, ''))),
       %(now)s, %(now)s
FROM offers o
JOIN customers c ON c.id = o.customer_id
-- the language rule of replenishment.reasons.language: zh-* reads Chinese, else English
CROSS JOIN LATERAL (SELECT CASE WHEN lower(c.locale) LIKE 'zh%%' THEN 'zh' ELSE 'en' END
                    AS lang) l
WHERE o.status = 'pending' AND o.deliver_after <= %(now)s AND o.expires_at > %(now)s
  AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.offer_id = o.id)
-- a concurrent run that got here first: nothing new
ON CONFLICT (offer_id) DO NOTHING
"""


def enqueue(conn: Conn, now: datetime) -> int:
    """One outbox row per pending offer past its ``deliver_after``; returns how many are new.

    Deferred offers (quiet hours) are not pending until an evaluation releases them.
    """
    return conn.execute(ENQUEUE, {"now": now, "titles": json.dumps(PUSH_TITLES)}).rowcount


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    offer_id: int | None  # None: a transactional message (``topic``)
    customer_id: int
    payload: dict[str, Any]
    attempts: int
    offer_status: str
    offer_lapsed: bool


def enqueue_message(conn: Conn, customer_id: int, topic: str, title: str, body: str,
                    data: dict[str, str], at: datetime, now: datetime) -> bool:
    """Queue a transactional push (not an offer: an order's news) for ``at``; a ``topic``
    already queued is not queued again. True if it was queued now."""
    payload = {"title": title, "body": body, "data": data}
    return conn.execute(
        "INSERT INTO outbox (customer_id, topic, payload, next_attempt_at, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (topic) DO NOTHING",
        (customer_id, topic, json.dumps(payload), at, now)).rowcount == 1


def claim(conn: Conn, now: datetime, limit: int) -> list[Claimed]:
    """Lock up to ``limit`` due queued rows until the transaction ends; skip locked ones."""
    with conn.cursor(row_factory=class_row(Claimed)) as cur:
        return cur.execute(
            # a transactional row (an order's news, no offer) is always still to be said
            "SELECT b.id, b.offer_id, b.customer_id, b.payload, b.attempts, "
            "coalesce(o.status, 'pending') AS offer_status, "
            "coalesce(o.expires_at <= %(now)s, false) AS offer_lapsed "
            "FROM outbox b LEFT JOIN offers o ON o.id = b.offer_id "
            "WHERE b.status = 'queued' AND b.next_attempt_at <= %(now)s "
            "ORDER BY b.next_attempt_at, b.id LIMIT %(limit)s "
            "FOR UPDATE OF b SKIP LOCKED", {"now": now, "limit": limit}).fetchall()


@dataclass(frozen=True, slots=True)
class NewState:
    id: int
    status: str  # queued (to retry), sent, failed, dead
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    message_ids: list[str]


RECORD = """
WITH new AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS x(
        id bigint, status text, attempts integer, next_attempt_at timestamptz,
        last_error text, message_ids text[])
),
updated AS (
    UPDATE outbox b
    SET status = n.status, attempts = n.attempts, next_attempt_at = n.next_attempt_at,
        last_error = n.last_error, fcm_message_ids = b.fcm_message_ids || n.message_ids,
        sent_at = CASE WHEN n.status = 'sent' THEN %(now)s::timestamptz END
    FROM new n
    WHERE b.id = n.id
    RETURNING b.offer_id, b.status
)
-- an offer the customer opened or dismissed meanwhile keeps that status
UPDATE offers o SET status = 'sent', updated_at = %(now)s
FROM updated u
WHERE o.id = u.offer_id AND u.status = 'sent' AND o.status = 'pending'
"""


def record(conn: Conn, states: Sequence[NewState], now: datetime) -> None:
    if not states:
        return
    rows = [{**asdict(s), "next_attempt_at": s.next_attempt_at.isoformat()} for s in states]
    conn.execute(RECORD, {"rows": json.dumps(rows), "now": now})


def requeue_no_token(conn: Conn, customer_id: int, now: datetime) -> int:
    """Queue again the customer's pushes that failed for want of a token; returns how many.

    Only offers still pending and unexpired (the rest have nothing left to say), and
    transactional messages (an order's news) of the last week.
    """
    return conn.execute(
        "UPDATE outbox b SET status = 'queued', next_attempt_at = %(now)s, last_error = NULL "
        "WHERE b.customer_id = %(c)s AND b.status = 'failed' AND b.last_error = %(why)s "
        "AND CASE WHEN b.offer_id IS NULL THEN b.created_at > %(now)s - interval '7 days' "
        "ELSE EXISTS (SELECT 1 FROM offers o WHERE o.id = b.offer_id "
        "AND o.status = 'pending' AND o.expires_at > %(now)s) END",
        {"c": customer_id, "now": now, "why": NO_TOKEN}).rowcount
