"""SQL of the assistants' tasks. Callers own the transaction.

A task is unique per kind and subject (``order:12``, ``offer:7``, ``instance:3``), so the
rule or event that opens it may run again without opening it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from catalog import store as catalog
from homeloop.db import Conn
from homeloop.errors import NotFound, missing

__all__ = ["close_task", "open_day_tasks", "open_task", "open_tasks"]


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


def task_store(conn: Conn, task_id: int) -> str | None:
    """The store whose task this is."""
    row = conn.execute("SELECT store_id FROM assistant_tasks WHERE id = %s",
                       (task_id,)).fetchone()
    if row is None:
        raise NotFound(missing("task", task_id))
    return None if row[0] is None else str(row[0])


def close_task(conn: Conn, task_id: int, now: datetime) -> None:
    done = conn.execute("UPDATE assistant_tasks SET done_at = coalesce(done_at, %s) "
                        "WHERE id = %s", (now, task_id)).rowcount
    if not done:
        raise NotFound(missing("task", task_id))


OPEN_DAY_TASKS = """
WITH found AS (
    -- an accepted offer: make sure it reaches the customer
    SELECT coalesce(o.store_id, c.home_store_id) AS store_id, c.id AS customer_id,
           'offer_follow_up' AS kind, 'offer:' || o.id AS subject,
           'Follow up the accepted offer: ' || o.reason_en AS body, o.updated_at AS due_at
    FROM offers o JOIN customers c ON c.id = o.customer_id
    WHERE o.status = 'accepted' AND o.updated_at > %(now)s - interval '14 days'
    UNION ALL
    -- a quality notice went out: call the customer before they call us
    SELECT c.home_store_id, c.id, 'quality_call', 'offer:' || o.id,
           'Quality call-back: ' || o.reason_en, o.decided_at
    FROM offers o JOIN customers c ON c.id = o.customer_id
    WHERE o.kind = 'quality' AND o.status <> 'suppressed'
      AND o.decided_at > %(now)s - interval '14 days'
    UNION ALL
    -- a consumable or service due within a week
    SELECT c.home_store_id, c.id, 'maintenance_due',
           'instance:' || f.instance_id || ':' || f.item_sku || ':' || f.cycle_start::date,
           s.name || ' due ' || to_char(f.due_at AT TIME ZONE c.timezone, 'YYYY-MM-DD')
               || ' (' || p.sku || ')', f.due_at - interval '7 days'
    FROM instance_forecasts f JOIN product_instances p ON p.id = f.instance_id
    JOIN customers c ON c.id = p.owner_id JOIN skus s ON s.sku = f.item_sku
    WHERE f.due_at <= %(now)s + interval '7 days'
)
INSERT INTO assistant_tasks (store_id, assistant, customer_id, kind, subject, body, due_at,
                             created_at)
SELECT f.store_id, b.assistant, f.customer_id, f.kind, f.subject, f.body,
       greatest(f.due_at, %(now)s), %(now)s
FROM found f
-- the assistant the customer is bound to at that store, if any; the store's otherwise
LEFT JOIN assistant_bindings b ON b.customer_id = f.customer_id AND b.store_id = f.store_id
WHERE f.store_id IS NOT NULL
  AND f.store_id = ANY(%(physical)s)
ON CONFLICT (kind, subject) DO NOTHING
"""


def open_day_tasks(conn: Conn, now: datetime) -> int:
    """Open the tasks rules find (accepted offers, quality notices, items due within a week)
    for the customers' home store (their bound assistant there, else anyone); a task already
    open or done for the same subject is not opened again. Returns how many are new."""
    physical = [s.id for s in catalog.stores(conn) if not s.online]
    return conn.execute(OPEN_DAY_TASKS, {"now": now, "physical": physical}).rowcount
