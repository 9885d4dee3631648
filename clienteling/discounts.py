"""What a discount or gift does to the margin and the assistant's commission, and the
monthly budget it draws on. :func:`effect` is pure; the rest is SQL (callers own the
transaction).

- Cost: ``skus.cost_cents``, else the price less the grade's usual margin.
- Commission: ``COMMISSION_RATE`` of what the customer pays; a gift does not change it.
- Budget: each assistant's discretionary amount for the month (``assistant_budgets``, else
  ``DEFAULT_BUDGET_CENTS``); granted, approved and pending amounts count against it. Beyond
  it the discount waits for a manager's approval. Every step is in ``discount_events``.
- Use: a granted (or approved) discount is taken off one order line for that customer and
  SKU (:func:`orders.store.discounts_for`), once; until then it is one of the customer's
  :func:`coupons`. A gift is handed over, not taken off a price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.rows import dict_row

from catalog import store as catalog
from clienteling.store import store_today
from homeloop.db import Conn
from homeloop.errors import Conflict, InvalidInput, NotFound, missing

__all__ = ["COMMISSION_RATE", "DEFAULT_BUDGET_CENTS", "Effect", "approval_queue", "coupons",
           "decide", "effect", "propose", "release_from_order", "use_on_order"]

COMMISSION_RATE = 0.03
DEFAULT_BUDGET_CENTS = 200_000  # ¥2,000 a month
GRADE_MARGIN = {"standard": 0.40, "premium": 0.50}


@dataclass(frozen=True, slots=True)
class Effect:
    price_cents: int
    amount_cents: int
    margin_before_cents: int
    margin_after_cents: int
    margin_rate_after: float
    commission_before_cents: int
    commission_after_cents: int
    budget_cents: int
    budget_used_cents: int
    budget_left_cents: int
    needs_approval: bool


def effect(kind: str, price: int, cost: int, amount: int, budget: int, used: int) -> Effect:
    if kind == "discount" and amount > price:
        raise InvalidInput("a discount cannot be more than the price")
    margin = price - cost
    after = margin - amount
    paid = price - amount if kind == "discount" else price
    left = budget - used
    return Effect(price, amount, margin, after, round(after / paid, 4) if paid else 0.0,
                  round(price * COMMISSION_RATE), round(paid * COMMISSION_RATE), budget, used,
                  left, amount > left)


def month_of(now: datetime) -> date:
    """The budget month: the stores' month (at 03:00 on the 1st in Shanghai, UTC is still in
    the month before)."""
    return store_today(now).replace(day=1)


def _facts(conn: Conn, assistant: str, sku: str, month: date) -> tuple[int, int, int, int]:
    row = conn.execute("SELECT price_cents, coalesce(cost_cents, 0), cost_cents IS NULL, grade "
                       "FROM skus WHERE sku = %s", (sku,)).fetchone()
    if row is None:
        raise InvalidInput(f"no SKU {sku!r} in the catalog")
    price = int(row[0])
    cost = round(price * (1 - GRADE_MARGIN.get(row[3], 0.4))) if row[2] else int(row[1])
    budget_row = conn.execute("SELECT budget_cents FROM assistant_budgets WHERE assistant = %s "
                              "AND month = %s", (assistant, month)).fetchone()
    budget = int(budget_row[0]) if budget_row else DEFAULT_BUDGET_CENTS
    used_row = conn.execute(
        "SELECT coalesce(sum(amount_cents), 0) FROM discounts WHERE assistant = %s AND month = %s "
        "AND status IN ('granted', 'approved', 'pending_approval')", (assistant, month)).fetchone()
    assert used_row is not None
    return price, cost, budget, int(used_row[0])


def propose(conn: Conn, *, assistant: str, store_id: str, customer_id: int, sku: str,
            kind: str, amount: int, dry_run: bool, now: datetime) -> tuple[int | None, str, Effect]:
    """The effect of a discount; unless ``dry_run``, record it: granted within the budget,
    else pending a manager's approval. Serialised per assistant (an advisory lock), so two
    at once cannot both fit in the last of the budget."""
    month = month_of(now)
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('discount-budget:' || %s))", (assistant,))
    price, cost, budget, used = _facts(conn, assistant, sku, month)
    eff = effect(kind, price, cost, amount, budget, used)
    status = "pending_approval" if eff.needs_approval else "granted"
    if dry_run:
        return None, "quote", eff
    row = conn.execute(
        "INSERT INTO discounts (assistant, store_id, customer_id, sku, kind, amount_cents, month, "
        "status, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (assistant, store_id, customer_id, sku, kind, amount, month, status, now)).fetchone()
    assert row is not None
    _event(conn, int(row[0]), assistant, "requested" if eff.needs_approval else "granted", now,
           {"amount_cents": amount, "budget_left_cents": eff.budget_left_cents})
    return int(row[0]), status, eff


def store_of(conn: Conn, discount_id: int) -> str:
    """The store a discount was given at (who may decide it is identity.access's)."""
    found = conn.execute("SELECT store_id FROM discounts WHERE id = %s",
                         (discount_id,)).fetchone()
    if found is None:
        raise NotFound(missing("discount", discount_id))
    return str(found[0])


def decide(conn: Conn, discount_id: int, manager: str, approve: bool,
           now: datetime) -> dict[str, Any]:
    """Approve or reject a discount waiting for it."""
    status = "approved" if approve else "rejected"
    done = conn.execute(
        "UPDATE discounts SET status = %s, decided_by = %s, decided_at = %s "
        "WHERE id = %s AND status = 'pending_approval'",
        (status, manager, now, discount_id)).rowcount
    if not done:
        if conn.execute("SELECT 1 FROM discounts WHERE id = %s", (discount_id,)).fetchone():
            raise Conflict(f"discount {discount_id} is not waiting for approval")
        raise NotFound(missing("discount", discount_id))
    _event(conn, discount_id, manager, status, now, {})
    return trail(conn, discount_id)


def coupons(conn: Conn, customer_id: int) -> list[dict[str, Any]]:
    """The customer's discounts and gifts granted (or approved) and not yet used, newest
    first, with the item's and the store's names."""
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute(
            "SELECT d.id, d.sku, s.name, s.name_zh, d.kind, d.amount_cents, d.store_id, "
            "coalesce(d.decided_at, d.created_at) AS granted_at "
            "FROM discounts d JOIN skus s ON s.sku = d.sku "
            "WHERE d.customer_id = %s AND d.status IN ('granted', 'approved') "
            "AND d.order_id IS NULL ORDER BY granted_at DESC, d.id DESC LIMIT 100",
            (customer_id,)).fetchall()
    names = {s.id: (s.name, s.name_zh or s.name) for s in catalog.stores(conn)}
    return [{**r, "store": names.get(r["store_id"], (r["store_id"],) * 2)[0],
             "store_zh": names.get(r["store_id"], (r["store_id"],) * 2)[1]} for r in found]


def trail(conn: Conn, discount_id: int) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        found = cur.execute("SELECT id, assistant, store_id, customer_id, sku, kind, "
                            "amount_cents, status, decided_by FROM discounts WHERE id = %s",
                            (discount_id,)).fetchone()
        if found is None:
            raise NotFound(missing("discount", discount_id))
        found["events"] = cur.execute("SELECT actor, action, at, data FROM discount_events "
                                      "WHERE discount_id = %s ORDER BY id",
                                      (discount_id,)).fetchall()
    return found


def _event(conn: Conn, discount_id: int, actor: str, action: str, now: datetime,
           data: dict[str, Any]) -> None:
    import json
    conn.execute("INSERT INTO discount_events (discount_id, actor, action, at, data) "
                 "VALUES (%s, %s, %s, %s, %s)", (discount_id, actor, action, now, json.dumps(data)))


def use_on_order(conn: Conn, order_id: int, ids: Sequence[int]) -> None:
    """The discounts (checked by the caller, and locked) are used by ``order_id``."""
    if ids:
        conn.execute("UPDATE discounts SET order_id = %s WHERE id = ANY(%s)",
                     (order_id, list(ids)))


def release_from_order(conn: Conn, order_id: int) -> None:
    """A cancelled order's discounts can be used again."""
    conn.execute("UPDATE discounts SET order_id = NULL WHERE order_id = %s", (order_id,))


def approval_queue(conn: Conn, store_id: str | None, now: datetime) -> dict[str, Any]:
    """A store's discounts waiting for its manager, oldest first, and this month's budget use
    of each assistant who gave one (``store_id`` None: every store's)."""
    month = month_of(now)
    with conn.cursor(row_factory=dict_row) as cur:
        pending = cur.execute(
            "SELECT d.id, d.assistant, coalesce(m.display_name, d.assistant) AS assistant_name, "
            "d.customer_id, d.sku, s.name, s.name_zh, d.kind, d.amount_cents, s.price_cents, "
            "d.created_at FROM discounts d JOIN skus s ON s.sku = d.sku "
            "LEFT JOIN staff_members m ON 'staff:' || m.id = d.assistant "
            "WHERE d.status = 'pending_approval' AND (%s::text IS NULL OR d.store_id = %s) "
            "ORDER BY d.created_at, d.id LIMIT 200", (store_id, store_id)).fetchall()
        budgets = cur.execute(
            "SELECT d.assistant, coalesce(m.display_name, d.assistant) AS assistant_name, "
            "coalesce(b.budget_cents, %s) AS budget_cents, "
            "sum(d.amount_cents) FILTER (WHERE d.status IN ('granted', 'approved'))::bigint "
            "  AS used_cents, "
            "sum(d.amount_cents) FILTER (WHERE d.status = 'pending_approval')::bigint "
            "  AS pending_cents "
            "FROM discounts d LEFT JOIN assistant_budgets b "
            "  ON b.assistant = d.assistant AND b.month = d.month "
            "LEFT JOIN staff_members m ON 'staff:' || m.id = d.assistant "
            "WHERE d.month = %s AND (%s::text IS NULL OR d.store_id = %s) "
            "GROUP BY d.assistant, m.display_name, b.budget_cents ORDER BY d.assistant",
            (DEFAULT_BUDGET_CENTS, month, store_id, store_id)).fetchall()
    for b in budgets:
        b["used_cents"] = int(b["used_cents"] or 0)
        b["pending_cents"] = int(b["pending_cents"] or 0)
    return {"pending": pending, "budgets": budgets}
