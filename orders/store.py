"""SQL of orders, slots, notifications, installers and ratings. Callers own the transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from psycopg.rows import class_row, dict_row

from homeloop.db import Conn
from homeloop.errors import Conflict, InvalidInput, NotFound, missing

__all__ = [
    "Addressee",
    "OrderRow",
    "Priced",
    "add_event",
    "add_line",
    "anonymise_customer",
    "book_slot",
    "customer_addressee",
    "discounts_for",
    "events",
    "get_order",
    "insert_order",
    "installer_name",
    "installers",
    "lines",
    "mark_read",
    "notify_assistant",
    "offer_slots",
    "points_costs",
    "price_lines",
    "rate",
    "rating_totals",
    "release_slot",
    "set_fields",
    "visit_taps",
]


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    customer_id: int | None  # None: the customer had their data deleted
    store_id: str
    assistant: str | None
    fulfil_store_id: str
    needs_slot: bool
    slot_starts_at: datetime | None
    slot_ends_at: datetime | None
    installer_id: int | None
    install_at: datetime | None
    status: str
    total_cents: int
    created_at: datetime
    fulfilment: str = "delivery"  # delivery, pickup or visit (see orders.lifecycle)
    points_spent: int = 0


@dataclass(frozen=True, slots=True)
class Priced:
    sku: str
    category: str
    quantity: int
    unit_price_cents: int
    discount_cents: int


def price_lines(conn: Conn, wanted: Sequence[tuple[str, int, int]]) -> list[Priced]:
    """The catalog's price and category for each ``(sku, quantity, discount)``; 422 for an
    unknown SKU or a discount above the line's price."""
    skus = [w[0] for w in wanted]
    found = {r[0]: (int(r[1]), str(r[2])) for r in conn.execute(
        "SELECT sku, price_cents, category FROM skus WHERE sku = ANY(%s)", (skus,))}
    out = []
    for sku, quantity, discount in wanted:
        if sku not in found:
            raise InvalidInput(f"no SKU {sku!r} in the catalog")
        price, category = found[sku]
        if discount > price * quantity:
            raise InvalidInput(f"the discount on {sku} is more than the line's price")
        out.append(Priced(sku, category, quantity, price, discount))
    return out


def insert_order(conn: Conn, customer_id: int, store_id: str, assistant: str | None,
                 fulfil_store_id: str, total_cents: int, now: datetime, *,
                 fulfilment: str = "delivery", points_spent: int = 0) -> int:
    row = conn.execute(
        "INSERT INTO orders (customer_id, store_id, assistant, fulfil_store_id, needs_slot, "
        "total_cents, created_at, updated_at, fulfilment, points_spent) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (customer_id, store_id, assistant, fulfil_store_id, fulfil_store_id != store_id,
         total_cents, now, now, fulfilment, points_spent)).fetchone()
    assert row is not None
    return int(row[0])


def add_line(conn: Conn, order_id: int, line_no: int, line: Priced) -> None:
    conn.execute("INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents, "
                 "discount_cents) VALUES (%s, %s, %s, %s, %s, %s)",
                 (order_id, line_no, line.sku, line.quantity, line.unit_price_cents,
                  line.discount_cents))


def get_order(conn: Conn, order_id: int, *, lock: bool = False) -> OrderRow:
    with conn.cursor(row_factory=class_row(OrderRow)) as cur:
        found = cur.execute(
            "SELECT id, customer_id, store_id, assistant, fulfil_store_id, needs_slot, "
            "slot_starts_at, slot_ends_at, installer_id, install_at, status, total_cents, "
            "created_at, fulfilment, points_spent FROM orders WHERE id = %s"
            + (" FOR UPDATE" if lock else ""),
            (order_id,)).fetchone()
    if found is None:
        raise NotFound(missing("order", order_id))
    return found


def customer_orders(conn: Conn, customer_id: int) -> list[int]:
    return [int(r[0]) for r in conn.execute(
        "SELECT id FROM orders WHERE customer_id = %s ORDER BY created_at DESC, id DESC "
        "LIMIT 100", (customer_id,))]


def lines(conn: Conn, order_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT l.sku, s.name, l.quantity, l.unit_price_cents, l.discount_cents "
            "FROM order_lines l JOIN skus s USING (sku) WHERE l.order_id = %s "
            "ORDER BY l.line_no", (order_id,)).fetchall()


def events(conn: Conn, order_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT seq, status, at, actor, data FROM order_events "
                           "WHERE order_id = %s ORDER BY seq", (order_id,)).fetchall()


def add_event(conn: Conn, order_id: int, status: str, actor: str, now: datetime,
              data: dict[str, Any]) -> int:
    """Append a step (``seq`` one past the last) and make it the order's status."""
    row = conn.execute(
        "INSERT INTO order_events (order_id, seq, status, at, actor, data) "
        "SELECT %s, coalesce(max(seq), 0) + 1, %s, %s, %s, %s FROM order_events "
        "WHERE order_id = %s RETURNING seq",
        (order_id, status, now, actor, json.dumps(data), order_id)).fetchone()
    assert row is not None
    conn.execute("UPDATE orders SET status = %s, updated_at = %s WHERE id = %s",
                 (status, now, order_id))
    return int(row[0])


def discounts_for(conn: Conn, customer_id: int, wanted: Sequence[tuple[str, int | None]],
                  ) -> list[int]:
    """The amount off each ``(sku, discount id)`` line: 0 without one, else the discount's,
    once it is checked to be this customer's, for this SKU, granted or approved, a price
    discount (a gift is handed over, not taken off) and not used by another order. The
    discounts are locked until the caller commits."""
    ids = [d for _, d in wanted if d is not None]
    if len(ids) != len(set(ids)):
        raise Conflict("a discount is taken off one line only")
    found = {int(r[0]): r[1:] for r in conn.execute(
        "SELECT id, customer_id, sku, kind, status, amount_cents, order_id FROM discounts "
        "WHERE id = ANY(%s) FOR UPDATE", (ids,)).fetchall()}
    amounts = []
    for sku, discount_id in wanted:
        if discount_id is None:
            amounts.append(0)
            continue
        if discount_id not in found or found[discount_id][0] != customer_id:
            raise InvalidInput(f"discount {discount_id} is not one of this customer's")
        _, for_sku, kind, status, amount, used_by = found[discount_id]
        if for_sku != sku:
            raise InvalidInput(f"discount {discount_id} is for {for_sku}, not {sku}")
        if kind != "discount":
            raise InvalidInput(f"discount {discount_id} is a gift: it is handed over, "
                               "not taken off the price")
        if status not in ("granted", "approved"):
            raise Conflict(f"discount {discount_id} is {status.replace('_', ' ')}")
        if used_by is not None:
            raise Conflict(f"discount {discount_id} was already used on order {used_by}")
        amounts.append(int(amount))
    return amounts


def points_costs(conn: Conn, skus: Sequence[str]) -> dict[str, int]:
    """Each item's cost in points; 409 for one that points do not redeem."""
    costs = {str(s): int(c) for s, c in conn.execute(
        "SELECT sku, points_cost FROM skus WHERE sku = ANY(%s) AND points_cost IS NOT NULL",
        (list(skus),)).fetchall()}
    if missing := [s for s in skus if s not in costs]:
        raise Conflict(f"points do not redeem {', '.join(missing)}")
    return {s: costs[s] for s in skus}


def visit_taps(conn: Conn, order_id: int) -> list[tuple[int, str]]:
    """A visit's (product instance, service) pairs: what its offer was for."""
    return [(int(r[0]), str(r[1])) for r in conn.execute(
        "SELECT l.instance_id, l.item_sku FROM order_requests r "
        "JOIN offer_lines l ON l.offer_id = r.offer_id WHERE r.order_id = %s "
        "ORDER BY l.instance_id, l.item_sku", (order_id,)).fetchall()]


def set_fields(conn: Conn, order_id: int, **fields: Any) -> None:
    allowed = {"installer_id", "install_at", "slot_starts_at", "slot_ends_at"}
    assert set(fields) <= allowed
    sets = ", ".join(f"{k} = %({k})s" for k in fields)
    conn.execute(f"UPDATE orders SET {sets} WHERE id = %(id)s", {**fields, "id": order_id})


def offer_slots(conn: Conn, store_id: str, windows: Sequence[tuple[datetime, datetime]],
                capacity: int) -> list[tuple[datetime, datetime, int]]:
    """Make sure the windows exist for the store, and return those with room left."""
    starts = [w[0] for w in windows]
    conn.execute(
        "INSERT INTO delivery_slots (store_id, starts_at, ends_at, capacity) "
        "SELECT %s, s, e, %s FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS w(s, e) "
        "ON CONFLICT DO NOTHING", (store_id, capacity, starts, [w[1] for w in windows]))
    return [(r[0], r[1], int(r[2])) for r in conn.execute(
        "SELECT starts_at, ends_at, capacity - booked FROM delivery_slots "
        "WHERE store_id = %s AND starts_at = ANY(%s) AND booked < capacity ORDER BY starts_at",
        (store_id, starts))]


def book_slot(conn: Conn, store_id: str, starts_at: datetime,
              previous: datetime | None) -> datetime:
    """Take a place in the window starting ``starts_at``; give back ``previous``'s place."""
    row = conn.execute("UPDATE delivery_slots SET booked = booked + 1 WHERE store_id = %s "
                       "AND starts_at = %s AND booked < capacity RETURNING ends_at",
                       (store_id, starts_at)).fetchone()
    if row is None:
        raise Conflict("that delivery slot is full or not offered")
    if previous is not None:
        release_slot(conn, store_id, previous)
    ends_at: datetime = row[0]
    return ends_at


def release_slot(conn: Conn, store_id: str, starts_at: datetime) -> None:
    conn.execute("UPDATE delivery_slots SET booked = booked - 1 WHERE store_id = %s "
                 "AND starts_at = %s AND booked > 0", (store_id, starts_at))


@dataclass(frozen=True, slots=True)
class Addressee:
    locale: str
    timezone: str
    quiet_start: time
    quiet_end: time


def customer_addressee(conn: Conn, customer_id: int) -> Addressee:
    with conn.cursor(row_factory=class_row(Addressee)) as cur:
        found = cur.execute("SELECT locale, timezone, quiet_start, quiet_end FROM customers "
                            "WHERE id = %s", (customer_id,)).fetchone()
    assert found is not None
    return found


def notify_assistant(conn: Conn, assistant: str, customer_id: int, order_id: int, topic: str,
                     body: str, now: datetime) -> None:
    conn.execute("INSERT INTO assistant_inbox (assistant, customer_id, order_id, topic, body, "
                 "created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (topic) DO NOTHING",
                 (assistant, customer_id, order_id, topic, body, now))


def inbox_owner(conn: Conn, item_id: int) -> str:
    """Whose inbox an item is in (the assistant's actor label)."""
    row = conn.execute("SELECT assistant FROM assistant_inbox WHERE id = %s",
                       (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no item {item_id} in your inbox")
    return str(row[0])


def mark_read(conn: Conn, item_id: int, now: datetime) -> None:
    """Mark an inbox item read (again: no change)."""
    done = conn.execute("UPDATE assistant_inbox SET read_at = coalesce(read_at, %s) "
                        "WHERE id = %s", (now, item_id)).rowcount
    if not done:
        raise NotFound(f"no item {item_id} in your inbox")


def anonymise_customer(conn: Conn, customer_id: int) -> dict[str, int]:
    """Before a customer's personal data goes: the sales records stay, anonymous (their keys
    are ON DELETE SET NULL); clear what in them could still point at the person. Rows changed
    per table and column."""
    return {
        "installation_ratings.comment": conn.execute(
            "UPDATE installation_ratings SET comment = '' WHERE customer_id = %s "
            "AND comment <> ''", (customer_id,)).rowcount,
        "order_events.actor": conn.execute(
            "UPDATE order_events SET actor = 'customer' WHERE actor = %s",
            (f"customer:{customer_id}",)).rowcount,
    }


def installer_name(conn: Conn, installer_id: int) -> str:
    row = conn.execute("SELECT i.name || ' (' || c.name || ')' FROM installers i "
                       "JOIN installer_companies c ON c.id = i.company_id WHERE i.id = %s",
                       (installer_id,)).fetchone()
    if row is None:
        raise InvalidInput(f"no installer {installer_id}")
    return str(row[0])


def rate(conn: Conn, order_id: int, customer_id: int, installer_id: int, stars: int,
         problems: Sequence[str], comment: str, now: datetime) -> None:
    done = conn.execute(
        "INSERT INTO installation_ratings (order_id, customer_id, installer_id, stars, "
        "problems, comment, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (order_id) DO NOTHING",
        (order_id, customer_id, installer_id, stars, list(problems), comment, now)).rowcount
    if not done:
        raise Conflict(f"order {order_id}'s installation is already rated")


def rating_totals(conn: Conn) -> tuple[int, float]:
    row = conn.execute("SELECT count(*), coalesce(sum(stars), 0) FROM installation_ratings"
                       ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def installers(conn: Conn, store_id: str | None) -> list[dict[str, Any]]:
    """Every installer (of a store, or with none), with their ratings' count, sum and problems,
    and their company's."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("""
            WITH per AS (
                SELECT i.id, i.name, i.company_id, i.store_id, c.name AS company,
                       count(r.stars) AS n, coalesce(sum(r.stars), 0) AS total,
                       coalesce((SELECT jsonb_object_agg(p, k) FROM (
                           SELECT p, count(*) AS k FROM installation_ratings r2,
                                  unnest(r2.problems) AS p
                           WHERE r2.installer_id = i.id GROUP BY p) x), '{}') AS problems
                FROM installers i JOIN installer_companies c ON c.id = i.company_id
                LEFT JOIN installation_ratings r ON r.installer_id = i.id
                GROUP BY i.id, c.name
            ), companies AS (
                SELECT per.*, sum(n) OVER (PARTITION BY company_id) AS company_n,
                       sum(total) OVER (PARTITION BY company_id) AS company_total
                FROM per
            )
            SELECT * FROM companies
            WHERE %(store)s::text IS NULL OR store_id IS NULL OR store_id = %(store)s
            ORDER BY id""", {"store": store_id}).fetchall()
