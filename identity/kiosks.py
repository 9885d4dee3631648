"""Store kiosks, the handoff codes they show, and the grants that let them open a customer.

A kiosk is trusted as its store's kiosk and nothing more. It reaches one customer's data only
through a grant, which expires (``kiosk_grant_minutes``) and which the customer can end:

- **handoff**: the kiosk shows a short-lived, single-use code as a QR; the customer scans it in
  the app, which claims it with their own sign-in;
- **assistant**: a store assistant of the kiosk's store signs the customer in, if the customer
  has let that store see their profile.

Callers own the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.rows import class_row

from catalog import store as catalog
from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import Conflict, Gone, InvalidInput, NotFound, Unauthorized, missing
from homeloop.settings import Settings
from identity.keys import secret_hash

__all__ = ["Grant", "Kiosk", "active_grant", "authenticate", "claim_handoff", "create_handoff",
           "create_kiosk", "end_grant", "grant_by_assistant", "grants_of_kiosk", "revoke_kiosk"]


@dataclass(frozen=True, slots=True)
class Kiosk:
    id: int
    store_id: str
    name: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class Grant:
    id: int
    kiosk_id: int
    customer_id: int
    via: str
    expires_at: datetime


def create_kiosk(conn: Conn, settings: Settings, store_id: str, name: str,
                 by: str) -> tuple[Kiosk, str]:
    """A new kiosk and its secret (shown once; only a keyed hash is stored)."""
    if not catalog.store_exists(conn, store_id):
        raise InvalidInput(f"store {store_id!r} does not exist")
    secret = secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO kiosks (store_id, name, secret_hash, created_by) VALUES (%s, %s, %s, %s) "
        "RETURNING id", (store_id, name, secret_hash(settings, secret), by)).fetchone()
    assert row is not None
    return Kiosk(int(row[0]), store_id, name, False), secret


def get_kiosk(conn: Conn, kiosk_id: int) -> Kiosk:
    with conn.cursor(row_factory=class_row(Kiosk)) as cur:
        kiosk = cur.execute("SELECT id, store_id, name, revoked_at IS NOT NULL AS revoked "
                            "FROM kiosks WHERE id = %s", (kiosk_id,)).fetchone()
    if kiosk is None:
        raise NotFound(missing("kiosk", kiosk_id))
    return kiosk


def revoke_kiosk(conn: Conn, kiosk_id: int) -> Kiosk:
    """Revoke a kiosk: its sessions stop at their next request, its grants end now."""
    now = clock.now()
    conn.execute("UPDATE kiosks SET revoked_at = coalesce(revoked_at, %s) WHERE id = %s",
                 (now, kiosk_id))
    conn.execute("UPDATE kiosk_grants SET ended_at = %s WHERE kiosk_id = %s "
                 "AND ended_at IS NULL", (now, kiosk_id))
    return get_kiosk(conn, kiosk_id)


def authenticate(conn: Conn, settings: Settings, kiosk_id: int, secret: str) -> Kiosk:
    row = conn.execute("SELECT secret_hash FROM kiosks WHERE id = %s AND revoked_at IS NULL",
                       (kiosk_id,)).fetchone()
    if row is None or not secrets.compare_digest(bytes(row[0]), secret_hash(settings, secret)):
        raise Unauthorized("unknown kiosk, revoked kiosk or wrong secret")
    return get_kiosk(conn, kiosk_id)


def create_handoff(conn: Conn, settings: Settings, kiosk_id: int) -> tuple[str, datetime]:
    """A code for the kiosk to show as a QR: whoever claims it in the app lets this kiosk in."""
    code = secrets.token_urlsafe(16)
    row = conn.execute(
        "INSERT INTO kiosk_handoffs (code_hash, kiosk_id, expires_at) "
        "VALUES (%s, %s, %s) RETURNING expires_at",
        (secret_hash(settings, code), kiosk_id,
         clock.now() + timedelta(minutes=settings.handoff_code_minutes))).fetchone()
    assert row is not None
    return code, row[0]


def _grant(conn: Conn, settings: Settings, kiosk_id: int, customer_id: int, via: str,
           by: str) -> Grant:
    now = clock.now()
    conn.execute("UPDATE kiosk_grants SET ended_at = %s WHERE kiosk_id = %s "
                 "AND customer_id = %s AND ended_at IS NULL", (now, kiosk_id, customer_id))
    with conn.cursor(row_factory=class_row(Grant)) as cur:
        grant = cur.execute(
            "INSERT INTO kiosk_grants (kiosk_id, customer_id, via, granted_by, expires_at) "
            "VALUES (%s, %s, %s, %s, %s) "
            "RETURNING id, kiosk_id, customer_id, via, expires_at",
            (kiosk_id, customer_id, via, by,
             now + timedelta(minutes=settings.kiosk_grant_minutes))).fetchone()
    assert grant is not None
    return grant


def claim_handoff(conn: Conn, settings: Settings, code: str, customer_id: int) -> Grant:
    """The customer scanned a kiosk's code: single use, and only before it expires."""
    row = conn.execute(
        "UPDATE kiosk_handoffs SET claimed_by = %(customer)s, claimed_at = %(now)s "
        "WHERE code_hash = %(code)s AND claimed_at IS NULL "
        "RETURNING kiosk_id, expires_at > %(now)s",
        {"customer": customer_id, "code": secret_hash(settings, code),
         "now": clock.now()}).fetchone()
    if row is None:
        used = conn.execute("SELECT 1 FROM kiosk_handoffs WHERE code_hash = %s",
                            (secret_hash(settings, code),)).fetchone()
        if used:
            raise Conflict("this code was already used: ask the kiosk for a new one")
        raise NotFound("no such code: scan the kiosk's QR code again")
    if not row[1]:
        raise Gone("this code has expired: ask the kiosk for a new one")
    kiosk = get_kiosk(conn, int(row[0]))
    if kiosk.revoked:
        raise Gone("this kiosk is no longer in service")
    return _grant(conn, settings, kiosk.id, customer_id, "handoff", f"customer:{customer_id}")


def grant_by_assistant(conn: Conn, settings: Settings, kiosk_id: int, customer_id: int, *,
                       staff: str) -> Grant:
    """A store assistant signs a customer in at one of their store's kiosks (whether they
    may is identity.access's: the kiosk's store, and the customer's consent for it)."""
    kiosk = get_kiosk(conn, kiosk_id)
    if kiosk.revoked:
        raise Gone("this kiosk is no longer in service")
    return _grant(conn, settings, kiosk.id, customer_id, "assistant", staff)


def active_grant(conn: Conn, kiosk_id: int, customer_id: int) -> bool:
    return conn.execute(
        "SELECT 1 FROM kiosk_grants WHERE kiosk_id = %s AND customer_id = %s "
        "AND ended_at IS NULL AND expires_at > %s", (kiosk_id, customer_id, clock.now())
    ).fetchone() \
        is not None


def grants_of_kiosk(conn: Conn, kiosk_id: int) -> list[Grant]:
    with conn.cursor(row_factory=class_row(Grant)) as cur:
        return cur.execute(
            "SELECT id, kiosk_id, customer_id, via, expires_at FROM kiosk_grants "
            "WHERE kiosk_id = %s AND ended_at IS NULL AND expires_at > %s ORDER BY id",
            (kiosk_id, clock.now())).fetchall()


def open_grant(conn: Conn, grant_id: int) -> Grant:
    """A grant that has not ended or expired."""
    with conn.cursor(row_factory=class_row(Grant)) as cur:
        grant = cur.execute(
            "SELECT id, kiosk_id, customer_id, via, expires_at FROM kiosk_grants "
            "WHERE id = %s AND ended_at IS NULL AND expires_at > %s",
            (grant_id, clock.now())).fetchone()
    if grant is None:
        raise NotFound(f"no open grant {grant_id}")
    return grant


def end_grant(conn: Conn, grant_id: int, *, customer_id: int | None = None,
              kiosk_id: int | None = None) -> None:
    """End a grant early: the customer's own, or the kiosk's own (sign out)."""
    done = conn.execute(
        "UPDATE kiosk_grants SET ended_at = %s WHERE id = %s AND ended_at IS NULL "
        "AND (%s::bigint IS NULL OR customer_id = %s) AND (%s::bigint IS NULL OR kiosk_id = %s)",
        (clock.now(), grant_id, customer_id, customer_id, kiosk_id, kiosk_id)).rowcount
    if not done:
        raise NotFound(f"no open grant {grant_id}")


def store_consented(conn: Conn, customer_id: int, store_id: str | None) -> bool:
    return conn.execute("SELECT granted FROM store_consents WHERE customer_id = %s "
                        "AND store_id = %s", (customer_id, store_id)).fetchone() == (True,)
