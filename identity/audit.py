"""The audit log of staff and kiosk access to customers' data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from homeloop.db import Conn

__all__ = ["Actor", "AuditEntry", "entries_for", "record", "record_as"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something the audit log keeps: ``staff:<id>``, ``kiosk:<id>``,
    ``customer:<id>``, or a process's name; with the staff role and store, and the request."""

    actor: str
    role: str | None = None
    store_id: str | None = None
    request_id: str | None = None

    @property
    def is_customer(self) -> bool:
        return self.actor.startswith("customer:")

    @property
    def shown(self) -> str:
        """The actor as written to another customer's log: a customer's id is not shown."""
        return "customer" if self.is_customer else self.actor


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str | None
    store_id: str | None
    customer_id: int | None
    action: str
    request_id: str | None


def record(conn: Conn, *, actor: str, role: str | None, store_id: str | None,
           customer_id: int, action: str, request_id: str | None) -> None:
    conn.execute("INSERT INTO access_audit (actor, role, store_id, customer_id, action, "
                 "request_id) VALUES (%s, %s, %s, %s, %s, %s)",
                 (actor, role, store_id, customer_id, action[:300], request_id))


def record_as(conn: Conn, by: Actor, customer_id: int, action: str, *,
              anonymous: bool = False) -> None:
    """An entry by ``by``; ``anonymous`` leaves a customer actor's id out (another customer's
    log must not name them)."""
    record(conn, actor=by.shown if anonymous else by.actor, role=by.role, store_id=by.store_id,
           customer_id=customer_id, action=action, request_id=by.request_id)


def entries_for(conn: Conn, customer_id: int, limit: int = 200) -> list[AuditEntry]:
    with conn.cursor(row_factory=class_row(AuditEntry)) as cur:
        return cur.execute(
            "SELECT id, at, actor, role, store_id, customer_id, action, request_id "
            "FROM access_audit WHERE customer_id = %s ORDER BY at DESC, id DESC LIMIT %s",
            (customer_id, limit)).fetchall()
