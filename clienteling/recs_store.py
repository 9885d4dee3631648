"""SQL of recommendation candidates and the co-purchase counts. Callers own the transaction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from clienteling.recommend import CATEGORY_COMPLEMENTS, Candidate
from homeloop import clock
from homeloop.db import Conn

__all__ = ["SIMILAR_SEEDS", "candidates", "customer_seeds", "refresh_copurchase"]

SIMILAR_SEEDS = 6


def customer_seeds(conn: Conn, customer_id: int) -> tuple[list[str], list[str]]:
    """(what the customer has: owned and bought, newest first; what they looked at lately)."""
    had = [str(r[0]) for r in conn.execute(
        "SELECT sku FROM (SELECT p.sku, coalesce(p.claimed_at, p.created_at) AS at "
        "FROM product_instances p WHERE p.owner_id = %(c)s UNION ALL "
        "SELECT l.sku, o.created_at FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "WHERE o.customer_id = %(c)s AND o.status <> 'cancelled') x "
        "GROUP BY sku ORDER BY max(at) DESC LIMIT 20", {"c": customer_id})]
    viewed = [str(r[0]) for r in conn.execute(
        "SELECT sku FROM product_views WHERE customer_id = %s AND at > %s "
        "GROUP BY sku ORDER BY max(at) DESC LIMIT 10",
        (customer_id, clock.now() - timedelta(days=30)))]
    return had, viewed


def candidates(conn: Conn, seeds: Sequence[str], exclude: Sequence[str]) -> list[Candidate]:
    """Bought together, complements and similar items for ``seeds``, none of ``exclude``
    (durable things the customer has; consumables may come again)."""
    if not seeds:
        return []
    names = {str(r[0]): str(r[1]) for r in conn.execute(
        "SELECT sku, name FROM skus WHERE sku = ANY(%s)", (list(seeds),))}
    out: list[Candidate] = []
    consumable = {str(r[0]) for r in conn.execute(
        "SELECT consumable_sku FROM sku_consumables UNION SELECT service_sku FROM sku_services")}
    skip = {s for s in exclude if s not in consumable}
    # Bought together.
    rows = conn.execute(
        "SELECT DISTINCT ON (c.other_sku) c.other_sku, c.sku, c.n FROM sku_copurchase c "
        "WHERE c.sku = ANY(%s) ORDER BY c.other_sku, c.n DESC", (list(seeds),)).fetchall()
    top = max((int(r[2]) for r in rows), default=1)
    for other, sku, n in sorted(rows, key=lambda r: -int(r[2]))[:60]:
        if other not in skip:
            out.append(Candidate(str(other), 1.0 + 2.0 * math.log1p(int(n)) / math.log1p(top),
                                 f"often bought with {names.get(sku, sku)} ({n} orders)"))
    # Complements: a device's consumables and services, and categories that go together.
    for sku, item in conn.execute(
            "SELECT device_sku, consumable_sku FROM sku_consumables WHERE device_sku = ANY(%s) "
            "UNION ALL SELECT device_sku, service_sku FROM sku_services "
            "WHERE device_sku = ANY(%s)", (list(seeds), list(seeds))):
        out.append(Candidate(str(item), 2.0, f"goes with your {names.get(sku, sku)}"))
    seed_cats = conn.execute("SELECT sku, category, price_cents, attrs FROM skus "
                             "WHERE sku = ANY(%s)", (list(seeds),)).fetchall()
    pairs = [(str(s), c) for s, cat, _, _ in seed_cats for c in CATEGORY_COMPLEMENTS.get(cat, ())]
    if pairs:
        for seed, sku in conn.execute(
                "SELECT p.seed, x.sku FROM unnest(%s::text[], %s::text[]) AS p(seed, cat) "
                "CROSS JOIN LATERAL (SELECT sku FROM skus WHERE category = p.cat "
                "ORDER BY price_cents, sku LIMIT 3) x",
                ([p[0] for p in pairs], [p[1] for p in pairs])):
            if sku not in skip:
                out.append(Candidate(str(sku), 1.5, f"goes with your {names.get(seed, seed)}"))
    # Similar: same category, shared style / material / colour, price within a factor of two;
    # for the most recent seeds only (each scans its category).
    for seed, sku, shared, ratio in conn.execute("""
            SELECT p.sku, x.sku, x.shared, x.ratio
            FROM skus p CROSS JOIN LATERAL (
                SELECT s.sku,
                       (s.attrs ->> 'style' IS NOT DISTINCT FROM p.attrs ->> 'style'
                        AND s.attrs ? 'style')::int
                       + (s.attrs ->> 'material' IS NOT DISTINCT FROM p.attrs ->> 'material'
                          AND s.attrs ? 'material')::int
                       + (coalesce(s.attrs -> 'colours', '[]') ?| ARRAY(
                            SELECT jsonb_array_elements_text(
                                coalesce(p.attrs -> 'colours', '[]'))))::int AS shared,
                       least(s.price_cents, p.price_cents)::float
                           / greatest(s.price_cents, p.price_cents, 1) AS ratio
                FROM skus s
                WHERE s.category = p.category AND s.sku <> p.sku
                  AND s.price_cents BETWEEN p.price_cents / 2 AND p.price_cents * 2
                ORDER BY 2 DESC, 3 DESC, s.sku LIMIT 8) x
            WHERE p.sku = ANY(%s)""", (list(seeds)[:SIMILAR_SEEDS],)):
        if sku not in skip:
            out.append(Candidate(str(sku), 0.5 + 0.3 * int(shared) + 0.3 * float(ratio),
                                 f"similar to {names.get(seed, seed)}"))
    return out


def refresh_copurchase(conn: Conn) -> int:
    """Count, for every pair of SKUs, the orders holding both; replaces the table."""
    conn.execute("DELETE FROM sku_copurchase")
    return conn.execute(
        "INSERT INTO sku_copurchase (sku, other_sku, n) "
        "SELECT a.sku, b.sku, count(DISTINCT a.order_id) FROM order_lines a "
        "JOIN order_lines b ON b.order_id = a.order_id AND b.sku <> a.sku "
        "JOIN orders o ON o.id = a.order_id WHERE o.status <> 'cancelled' "
        "GROUP BY a.sku, b.sku").rowcount
