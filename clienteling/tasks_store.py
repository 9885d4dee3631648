"""SQL of the assistants' tasks. Callers own the transaction.

A task is unique per kind and subject (``order:12``, ``offer:7``, ``instance:3``), so the
rule or event that opens it may run again without opening it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from homeloop.db import Conn
from homeloop.errors import NotFound

__all__ = ["close_task", "open_task", "open_tasks"]


def open_task(conn: Conn, *, store_id: str, assistant: str | None, customer_id: int, kind: str,
              subject: str, body: str, due_at: datetime, now: datetime) -> int:
    row = conn.execute(
        "INSERT INTO assistant_tasks (store_id, assistant, customer_id, kind, subject, body, "
        "due_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (kind, subject) DO UPDATE SET kind = excluded.kind RETURNING id",
        (store_id, assistant, customer_id, kind, subject, body, due_at, now)).fetchone()
    assert row is not None
    return int(row[0])


def open_tasks(conn: Conn, store_id: str | None, assistant: str) -> list[dict[str, Any]]:
    """A store's open tasks: the assistant's own and nobody's, soonest due first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT t.id, t.kind, t.subject, t.body, t.customer_id, c.display_name AS customer, "
            "t.assistant, t.due_at FROM assistant_tasks t JOIN customers c ON c.id = t.customer_id "
            "WHERE t.done_at IS NULL AND (%(s)s::text IS NULL OR t.store_id = %(s)s) "
            "AND (t.assistant IS NULL OR t.assistant = %(a)s OR %(s)s::text IS NULL) "
            "ORDER BY t.due_at, t.id LIMIT 200", {"s": store_id, "a": assistant}).fetchall()


def close_task(conn: Conn, task_id: int, store_id: str | None, now: datetime) -> None:
    done = conn.execute("UPDATE assistant_tasks SET done_at = coalesce(done_at, %s) "
                        "WHERE id = %s AND (%s::text IS NULL OR store_id = %s)",
                        (now, task_id, store_id, store_id)).rowcount
    if not done:
        raise NotFound(f"task {task_id} does not exist")
