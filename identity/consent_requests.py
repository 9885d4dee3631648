"""A store asks a customer on the spot to let its assistants see their profile; the customer
answers in their app.

An assistant names the customer by the member QR (the card number it holds) or their phone
number. A request is stored whether or not anybody has it, and its state says ``granted``
(with the customer) only once the customer said yes: the assistant's screen learns nothing
about a number whose owner did not let the store in. Callers own the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from catalog import store as catalog
from homeloop.db import Conn
from homeloop.errors import Conflict, Gone, NotFound
from homeloop.settings import Settings
from identity.customers import find_customer
from identity.privacy import set_store_consent

__all__ = ["VALID_MINUTES", "answer", "ask", "pending_for", "state"]

VALID_MINUTES = 10


def ask(conn: Conn, settings: Settings, store_id: str, kind: str, value: str, actor: str,
        now: datetime) -> dict[str, Any]:
    """A request from ``store_id`` to whoever has this card or number."""
    customer = find_customer(conn, settings, kind, value)
    row = conn.execute(
        "INSERT INTO consent_requests (store_id, customer_id, asked_by, created_at, expires_at) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id, expires_at",
        (store_id, customer, actor, now, now + timedelta(minutes=VALID_MINUTES))).fetchone()
    assert row is not None
    return {"id": int(row[0]), "status": "pending", "expires_at": row[1], "customer_id": None}


def state(conn: Conn, request_id: int, now: datetime) -> tuple[str, dict[str, Any]]:
    """The request's store and its state as the store may see it: the customer only once
    they granted it; ``expired`` once unanswered past its time."""
    row = conn.execute("SELECT store_id, status, customer_id, expires_at FROM consent_requests "
                       "WHERE id = %s", (request_id,)).fetchone()
    if row is None:
        raise NotFound(f"consent request {request_id} does not exist")
    store_id, status, customer, expires = row
    if status == "pending" and expires <= now:
        status = "expired"
    return str(store_id), {"id": request_id, "status": status, "expires_at": expires,
                           "customer_id": customer if status == "granted" else None}


def pending_for(conn: Conn, customer_id: int, now: datetime) -> list[dict[str, Any]]:
    """The requests waiting for the customer's answer, newest first, with the store's name."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            "SELECT id, store_id, created_at, expires_at FROM consent_requests "
            "WHERE customer_id = %s AND status = 'pending' AND expires_at > %s "
            "ORDER BY id DESC", (customer_id, now)).fetchall()
    names = {s.id: (s.name, s.name_zh) for s in catalog.stores(conn)} if found else {}
    return [{**r, "store": names.get(r["store_id"], (r["store_id"],))[0],
             "store_zh": names.get(r["store_id"], (r["store_id"], r["store_id"]))[1]}
            for r in found]


def answer(conn: Conn, customer_id: int, request_id: int, granted: bool,
           now: datetime) -> dict[str, Any]:
    """The customer's answer; yes lets the store's assistants see their profile."""
    row = conn.execute("SELECT store_id, status, expires_at FROM consent_requests "
                       "WHERE id = %s AND customer_id = %s FOR UPDATE",
                       (request_id, customer_id)).fetchone()
    if row is None:
        raise NotFound(f"consent request {request_id} does not exist")
    store_id, status, expires = row
    if status != "pending":
        raise Conflict(f"consent request {request_id} is already answered ({status})")
    if expires <= now:
        raise Gone(f"consent request {request_id} expired; the store may ask again")
    new = "granted" if granted else "declined"
    conn.execute("UPDATE consent_requests SET status = %s, answered_at = %s WHERE id = %s",
                 (new, now, request_id))
    if granted:
        set_store_consent(conn, customer_id, str(store_id), True)
    return {"id": request_id, "status": new, "store_id": store_id}
