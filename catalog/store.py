"""SQL of the catalog as shoppers read it. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import class_row

from homeloop.db import Conn
from homeloop.errors import NotFound

__all__ = ["Sku", "get_sku"]


@dataclass(frozen=True, slots=True)
class Sku:
    sku: str
    name: str
    name_zh: str
    category: str
    grade: str
    price_cents: int
    currency: str
    width_mm: int | None
    depth_mm: int | None
    height_mm: int | None
    attrs: dict[str, Any]
    in_stock_at: list[str]  # stores with it on hand now


def get_sku(conn: Conn, sku: str) -> Sku:
    with conn.cursor(row_factory=class_row(Sku)) as cur:
        found = cur.execute(
            "SELECT s.sku, s.name, s.name_zh, s.category, s.grade, s.price_cents, s.currency, "
            "s.width_mm, s.depth_mm, s.height_mm, s.attrs, "
            "coalesce((SELECT array_agg(i.store_id ORDER BY i.store_id) FROM inventory i "
            "          WHERE i.sku = s.sku AND i.on_hand > 0), '{}') AS in_stock_at "
            "FROM skus s WHERE s.sku = %s", (sku,)).fetchone()
    if found is None:
        raise NotFound(f"SKU {sku} does not exist")
    return found
