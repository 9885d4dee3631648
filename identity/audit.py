"""The audit log of staff and kiosk access to customers' data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from homeloop.db import Conn

__all__ = ["AuditEntry", "entries_for", "record"]


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


def entries_for(conn: Conn, customer_id: int, limit: int = 200) -> list[AuditEntry]:
    with conn.cursor(row_factory=class_row(AuditEntry)) as cur:
        return cur.execute(
            "SELECT id, at, actor, role, store_id, customer_id, action, request_id "
            "FROM access_audit WHERE customer_id = %s ORDER BY at DESC, id DESC LIMIT %s",
            (customer_id, limit)).fetchall()
