"""Personalised points: extra points for a first purchase in a category new to the customer.

Only for customers who have bought before (an earlier order or a registered product): a
first order is not "a new category" for anyone. ``points_awards`` holds one row per
customer and category, so an award is given once, whatever retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from customers import store as customers
from homeloop.db import Conn

__all__ = ["NEW_CATEGORY_POINTS", "award_new_categories"]

NEW_CATEGORY_POINTS = 200


def award_new_categories(conn: Conn, customer_id: int, order_id: int,
                         categories: Sequence[str], now: datetime) -> int:
    """Award the points for each of ``categories`` the customer never bought; returns them."""
    row = conn.execute(
        "WITH known AS ("
        "  SELECT s.category FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "  JOIN skus s ON s.sku = l.sku WHERE o.customer_id = %(c)s AND o.id <> %(o)s "
        "  AND o.status <> 'cancelled' "
        "  UNION SELECT s.category FROM product_instances p JOIN skus s ON s.sku = p.sku "
        "  WHERE p.owner_id = %(c)s "
        "), fresh AS ("
        "  INSERT INTO points_awards (customer_id, category, order_id, points, at) "
        "  SELECT %(c)s, c, %(o)s, %(p)s, %(now)s FROM unnest(%(cats)s::text[]) AS c "
        "  WHERE EXISTS (SELECT 1 FROM known) AND c NOT IN (SELECT category FROM known) "
        "  GROUP BY c ON CONFLICT DO NOTHING RETURNING points"
        ") SELECT coalesce(sum(points), 0) FROM fresh",
        {"c": customer_id, "o": order_id, "p": NEW_CATEGORY_POINTS, "now": now,
         "cats": list(categories)}).fetchone()
    awarded = int(row[0]) if row else 0
    customers.add_points(conn, customer_id, awarded)
    return awarded
