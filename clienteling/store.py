"""SQL of customer profiles, tags, notes, the tag queue, QR views and bindings.

Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from catalog import store as catalog
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound, missing

__all__ = [
    "add_note",
    "add_view",
    "behaviour",
    "bind",
    "bound_customers",
    "cart",
    "consumption",
    "customer_base",
    "facts_rows",
    "join_session",
    "mark_changed",
    "membership",
    "notes",
    "owned_products",
    "record_search",
    "remove_manual_tag",
    "replace_rule_tags",
    "save_cart",
    "set_manual_tag",
    "tags",
    "take_queue",
    "trail",
    "upsert_profile",
]


def _one(conn: Conn, sql: str, params: Any) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(sql, params).fetchone()
    return row or {}


def _all(conn: Conn, sql: str, params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def mark_changed(conn: Conn, customer_id: int, now: datetime) -> None:
    """Queue the customer for the incremental tag task."""
    conn.execute("INSERT INTO tag_queue (customer_id, since) VALUES (%s, %s) "
                 "ON CONFLICT DO NOTHING", (customer_id, now))


def take_queue(conn: Conn, limit: int) -> list[int]:
    """Take up to ``limit`` queued customers (skipping those another run holds)."""
    return [int(r[0]) for r in conn.execute(
        "DELETE FROM tag_queue WHERE customer_id IN (SELECT customer_id FROM tag_queue "
        "ORDER BY since LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING customer_id", (limit,))]


def customer_base(conn: Conn, customer_id: int) -> dict[str, Any]:
    row = _one(conn, """
        SELECT c.id, c.display_name, c.locale, c.home_store_id, c.points, c.created_at,
               p.birthday, p.age_band, p.city, p.household, coalesce(p.tier, 'member') AS tier,
               coalesce(p.channels, '{push}') AS channels, p.move_in_date, p.floor_plan_id,
               p.rough_in_mm, p.home_style, p.budget_cents
        FROM customers c LEFT JOIN customer_profiles p ON p.customer_id = c.id
        WHERE c.id = %s""", (customer_id,))
    if not row:
        raise NotFound(missing("customer", customer_id))
    return row


PROFILE_FIELDS = ("birthday", "age_band", "city", "household", "tier", "channels",
                  "move_in_date", "floor_plan_id", "rough_in_mm", "home_style", "budget_cents")


def upsert_profile(conn: Conn, customer_id: int, fields: dict[str, Any], now: datetime) -> None:
    fields = {k: v for k, v in fields.items() if k in PROFILE_FIELDS}
    if "floor_plan_id" in fields and fields["floor_plan_id"] is not None:
        owner = conn.execute("SELECT owner_id FROM floor_plans WHERE id = %s",
                             (fields["floor_plan_id"],)).fetchone()
        if owner is None or owner[0] != customer_id:
            raise InvalidInput("that floor plan is not the customer's")
    cols = ["customer_id", *fields, "updated_at"]
    sets = ", ".join(f"{k} = excluded.{k}" for k in [*fields, "updated_at"])
    conn.execute(
        f"INSERT INTO customer_profiles ({', '.join(cols)}) VALUES "
        f"({', '.join(['%s'] * len(cols))}) ON CONFLICT (customer_id) DO UPDATE SET {sets}",
        [customer_id, *fields.values(), now])


def consumption(conn: Conn, customer_id: int) -> dict[str, Any]:
    """Average order value, preferred categories, colours, materials and styles, the price
    band and discount sensitivity, from the customer's orders."""
    return _one(conn, """
        WITH l AS (
            SELECT l.*, s.category, s.attrs FROM orders o
            JOIN order_lines l ON l.order_id = o.id JOIN skus s ON s.sku = l.sku
            WHERE o.customer_id = %(c)s AND o.status <> 'cancelled'
        )
        SELECT
          (SELECT count(*) FROM orders WHERE customer_id = %(c)s AND status <> 'cancelled')
              AS orders,
          (SELECT round(avg(total_cents))::bigint FROM orders
           WHERE customer_id = %(c)s AND status <> 'cancelled') AS average_order_cents,
          (SELECT coalesce(array_agg(category ORDER BY spend DESC), '{}') FROM (
              SELECT category, sum(unit_price_cents * quantity) AS spend FROM l
              GROUP BY category ORDER BY spend DESC LIMIT 3) x) AS categories,
          (SELECT coalesce(array_agg(DISTINCT c), '{}') FROM l,
              jsonb_array_elements_text(coalesce(l.attrs -> 'colours', '[]')) c) AS colours,
          (SELECT coalesce(array_agg(DISTINCT attrs ->> 'material'), '{}') FROM l
           WHERE attrs ? 'material') AS materials,
          (SELECT coalesce(array_agg(DISTINCT attrs ->> 'style'), '{}') FROM l
           WHERE attrs ? 'style') AS styles,
          (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY unit_price_cents) FROM l)
              AS median_price_cents,
          (SELECT round(avg((discount_cents > 0)::int), 2)::float FROM l) AS discount_share""",
        {"c": customer_id})


def membership(conn: Conn, customer_id: int) -> dict[str, Any]:
    return _one(conn, """
        SELECT (SELECT count(*) FROM discounts WHERE customer_id = %(c)s
                AND status IN ('granted', 'approved') AND order_id IS NULL) AS coupons,
               (SELECT count(*) FROM push_tokens WHERE customer_id = %(c)s
                AND pruned_at IS NULL) AS push_devices""", {"c": customer_id})


def behaviour(conn: Conn, customer_id: int, now: datetime, days: int = 30) -> dict[str, Any]:
    """Views, searches, designs, offers opened in the last ``days``, and the cart."""
    return _one(conn, """
        SELECT (SELECT count(*) FROM product_views WHERE customer_id = %(c)s
                AND at >= %(since)s) AS views_30d,
               (SELECT coalesce(array_agg(sku ORDER BY last DESC), '{}') FROM (
                   SELECT sku, max(at) AS last FROM product_views
                   WHERE customer_id = %(c)s AND at >= %(since)s
                   GROUP BY sku ORDER BY last DESC LIMIT 10) v) AS viewed,
               (SELECT count(*) FROM designs WHERE owner_id = %(c)s) AS kiosk_designs,
               (SELECT count(*) FROM offers WHERE customer_id = %(c)s
                AND status IN ('opened', 'accepted')) AS offers_opened,
               (SELECT count(*) FROM customer_searches WHERE customer_id = %(c)s
                AND at >= %(since)s) AS searches_30d,
               (SELECT coalesce(array_agg(query ORDER BY last DESC), '{}') FROM (
                   SELECT query, max(at) AS last FROM customer_searches
                   WHERE customer_id = %(c)s AND at >= %(since)s AND query <> ''
                   GROUP BY query ORDER BY last DESC LIMIT 5) q) AS searched,
               (SELECT jsonb_build_object(
                   'items', items, 'store_id', store_id, 'updated_at', updated_at,
                   -- a cart left for a day with something in it
                   'abandoned', jsonb_array_length(items) > 0
                                AND updated_at < %(now)s - interval '1 day')
                FROM carts WHERE customer_id = %(c)s) AS cart""",
        {"c": customer_id, "since": now - timedelta(days=days), "now": now})


def owned_products(conn: Conn, customer_id: int) -> list[dict[str, Any]]:
    """Each owned product with its soonest-due consumable or service."""
    return _all(conn, """
        SELECT p.id, p.sku, s.name, s.name_zh, s.category, p.claimed_at,
               f.item_sku, i.name AS item_name, i.name_zh AS item_name_zh, f.kind,
               f.days_left, f.due_at,
               CASE WHEN f.remaining IS NOT NULL AND f.used + f.remaining > 0
                    THEN f.remaining / (f.used + f.remaining) END AS left_fraction
        FROM product_instances p JOIN skus s ON s.sku = p.sku
        LEFT JOIN LATERAL (
            SELECT * FROM instance_forecasts f WHERE f.instance_id = p.id
            ORDER BY f.due_at NULLS LAST LIMIT 1) f ON true
        LEFT JOIN skus i ON i.sku = f.item_sku
        WHERE p.owner_id = %s ORDER BY f.due_at NULLS LAST, p.id""", (customer_id,))


def tags(conn: Conn, customer_id: int) -> list[dict[str, Any]]:
    return _all(conn, "SELECT tag, source, reason, added_by, at FROM customer_tags "
                      "WHERE customer_id = %s ORDER BY source DESC, tag", (customer_id,))


def replace_rule_tags(conn: Conn, customer_id: int, derived: dict[str, str],
                      now: datetime) -> None:
    """Make the customer's rule tags exactly ``derived``; unchanged ones keep their time."""
    conn.execute("DELETE FROM customer_tags WHERE customer_id = %s AND source = 'rule' "
                 "AND tag <> ALL(%s)", (customer_id, list(derived)))
    if derived:
        conn.execute(
            "INSERT INTO customer_tags (customer_id, tag, source, reason, added_by, at) "
            "SELECT %s, t, 'rule', r, 'rules', %s FROM unnest(%s::text[], %s::text[]) AS x(t, r) "
            "ON CONFLICT (customer_id, source, tag) DO UPDATE SET reason = excluded.reason",
            (customer_id, now, list(derived), list(derived.values())))


def set_manual_tag(conn: Conn, customer_id: int, tag: str, by: str, now: datetime) -> None:
    conn.execute("INSERT INTO customer_tags (customer_id, tag, source, reason, added_by, at) "
                 "VALUES (%s, %s, 'manual', '', %s, %s) ON CONFLICT DO NOTHING",
                 (customer_id, tag, by, now))


def remove_manual_tag(conn: Conn, customer_id: int, tag: str) -> None:
    """Remove a manual tag; removing one that is not there changes nothing."""
    conn.execute("DELETE FROM customer_tags WHERE customer_id = %s AND source = 'manual' "
                 "AND tag = %s", (customer_id, tag))


def add_note(conn: Conn, customer_id: int, author: str, store_id: str | None, body: str,
             now: datetime) -> dict[str, Any]:
    return _one(conn, "INSERT INTO customer_notes (customer_id, author, store_id, body, "
                      "created_at) VALUES (%s, %s, %s, %s, %s) "
                      "RETURNING id, author, store_id, body, created_at",
                (customer_id, author, store_id, body, now))


def notes(conn: Conn, customer_id: int) -> list[dict[str, Any]]:
    return _all(conn, "SELECT id, author, store_id, body, created_at FROM customer_notes "
                      "WHERE customer_id = %s ORDER BY created_at DESC, id DESC LIMIT 50",
                (customer_id,))


def facts_rows(conn: Conn, customer_ids: Sequence[int], now: datetime) -> dict[str, Any]:
    """Everything the tag rules read for a batch of customers, one query per kind."""
    ids = list(customer_ids)
    since = now - timedelta(days=30)
    return {
        "orders": conn.execute(
            "SELECT o.customer_id, o.created_at, o.total_cents, count(l.*), "
            "count(l.*) FILTER (WHERE l.discount_cents > 0) FROM orders o "
            "JOIN order_lines l ON l.order_id = o.id WHERE o.customer_id = ANY(%s) "
            "AND o.status <> 'cancelled' GROUP BY o.id", (ids,)).fetchall(),
        "tagged": conn.execute(
            "SELECT p.owner_id, count(*) FROM product_instances p JOIN skus s ON s.sku = p.sku "
            "WHERE p.owner_id = ANY(%s) AND s.tagged GROUP BY p.owner_id", (ids,)).fetchall(),
        "due": conn.execute(
            "SELECT p.owner_id, s.name FROM instance_forecasts f "
            "JOIN product_instances p ON p.id = f.instance_id JOIN skus s ON s.sku = f.item_sku "
            "WHERE p.owner_id = ANY(%s) AND f.due_at <= %s ORDER BY f.due_at",
            (ids, now + timedelta(days=14))).fetchall(),
        "profile": conn.execute(
            "SELECT customer_id, move_in_date, birthday FROM customer_profiles "
            "WHERE customer_id = ANY(%s)", (ids,)).fetchall(),
        "views": conn.execute(
            "SELECT v.customer_id, s.category FROM product_views v JOIN skus s ON s.sku = v.sku "
            "WHERE v.customer_id = ANY(%s) AND v.at >= %s", (ids, since)).fetchall(),
        "analytics": conn.execute(
            "SELECT customer_id FROM privacy_consents WHERE customer_id = ANY(%s) "
            "AND purpose = 'usage_analytics' AND granted", (ids,)).fetchall(),
    }


def add_view(conn: Conn, session_id: str, customer_id: int | None, sku: str,
             store_id: str | None, now: datetime) -> int:
    if conn.execute("SELECT 1 FROM skus WHERE sku = %s", (sku,)).fetchone() is None:
        raise NotFound(missing("SKU", sku))
    if store_id is not None and not catalog.store_exists(conn, store_id):
        raise InvalidInput(f"no store {store_id!r}")
    row = conn.execute("INSERT INTO product_views (session_id, customer_id, sku, store_id, at) "
                       "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                       (session_id, customer_id, sku, store_id, now)).fetchone()
    assert row is not None
    return int(row[0])


def join_session(conn: Conn, session_id: str, customer_id: int) -> int:
    """Give the session's anonymous views to the customer who just signed in."""
    return conn.execute("UPDATE product_views SET customer_id = %s WHERE session_id = %s "
                        "AND customer_id IS NULL", (customer_id, session_id)).rowcount


def trail(conn: Conn, customer_id: int, since: datetime,
          store_id: str | None = None) -> list[dict[str, Any]]:
    """The customer's in-store views since ``since`` (newest first, one row per SKU)."""
    return _all(conn, """
        SELECT v.sku, s.name, s.name_zh, s.category, s.price_cents, max(v.at) AS at,
               count(*) AS views, (array_agg(v.store_id ORDER BY v.at DESC))[1] AS store_id
        FROM product_views v JOIN skus s ON s.sku = v.sku
        WHERE v.customer_id = %s AND v.at >= %s AND v.store_id IS NOT NULL
          AND (%s::text IS NULL OR v.store_id = %s)
        GROUP BY v.sku, s.name, s.name_zh, s.category, s.price_cents
        ORDER BY max(v.at) DESC LIMIT 50""", (customer_id, since, store_id, store_id))


def bind(conn: Conn, customer_id: int, store_id: str, assistant: str, now: datetime) -> None:
    conn.execute("INSERT INTO assistant_bindings (customer_id, store_id, assistant, bound_at) "
                 "VALUES (%s, %s, %s, %s) ON CONFLICT (customer_id, store_id) DO UPDATE "
                 "SET assistant = excluded.assistant, bound_at = excluded.bound_at",
                 (customer_id, store_id, assistant, now))


def bound_customers(conn: Conn, assistant: str, store_id: str | None,
                    today: datetime) -> list[dict[str, Any]]:
    """The customers bound to the assistant who still let the store in, with today's views."""
    return _all(conn, """
        SELECT b.customer_id, c.display_name, b.bound_at,
               (SELECT count(*) FROM product_views v WHERE v.customer_id = b.customer_id
                AND v.at >= %(today)s AND v.store_id = b.store_id) AS views_today
        FROM assistant_bindings b JOIN customers c ON c.id = b.customer_id
        WHERE b.assistant = %(a)s AND (%(s)s::text IS NULL OR b.store_id = %(s)s)
          AND EXISTS (SELECT 1 FROM store_consents sc WHERE sc.customer_id = b.customer_id
                      AND sc.store_id = b.store_id AND sc.granted)
        ORDER BY b.bound_at DESC LIMIT 200""", {"a": assistant, "s": store_id, "today": today})


# The stores' own day: a visit's trail, and "today" for delivery dates, begin at the stores'
# midnight, not UTC's (8 hours apart: at 03:00 in Shanghai it is still yesterday in UTC).
STORE_TIMEZONE = ZoneInfo("Asia/Shanghai")


def today_start(now: datetime) -> datetime:
    local = now.astimezone(STORE_TIMEZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def store_today(now: datetime) -> date:
    return now.astimezone(STORE_TIMEZONE).date()


def as_date(value: Any) -> date | None:
    return value if isinstance(value, date) else None


def record_search(conn: Conn, customer_id: int, query: str, filters: dict[str, Any],
                  results: int, store_id: str | None, now: datetime) -> None:
    known = store_id if store_id is not None and catalog.store_exists(conn, store_id) else None
    conn.execute("INSERT INTO customer_searches (customer_id, query, filters, results, "
                 "store_id, at) VALUES (%s, %s, %s, %s, %s, %s)",
                 (customer_id, query[:200], Jsonb(filters), results, known, now))


def save_cart(conn: Conn, customer_id: int, items: list[dict[str, Any]],
              store_id: str | None, now: datetime) -> dict[str, Any]:
    skus = [i["sku"] for i in items]
    known = {r[0] for r in conn.execute("SELECT sku FROM skus WHERE sku = ANY(%s)",
                                        (skus,)).fetchall()}
    if unknown := sorted(set(skus) - known):
        raise InvalidInput(f"not in the catalog: {', '.join(unknown)}")
    if store_id is not None and not catalog.store_exists(conn, store_id):
        raise InvalidInput(f"store {store_id!r} does not exist")
    conn.execute("INSERT INTO carts (customer_id, items, store_id, updated_at) "
                 "VALUES (%s, %s, %s, %s) ON CONFLICT (customer_id) DO UPDATE SET "
                 "items = excluded.items, store_id = excluded.store_id, "
                 "updated_at = excluded.updated_at",
                 (customer_id, Jsonb(items), store_id, now))
    return cart(conn, customer_id)


def cart(conn: Conn, customer_id: int) -> dict[str, Any]:
    found = _all(conn, "SELECT items, store_id, updated_at FROM carts WHERE customer_id = %s",
                 (customer_id,))
    return found[0] if found else {"items": [], "store_id": None, "updated_at": None}
