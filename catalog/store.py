"""SQL of the catalog: SKUs as shoppers read them, stores and their stock. Callers own the
transaction.

``stores`` and ``inventory`` are read and written here only. Other packages ask
:mod:`catalog.availability`; a statement of theirs that must join stock set-based (the offer
evaluation over every forecast) embeds the fragments below through
:class:`catalog.availability.Sourcing`, which also supplies their parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.rows import class_row

from catalog.reach import Store
from homeloop.db import Conn
from homeloop.errors import Conflict, NotFound, missing

__all__ = ["BEST_SOURCE", "ONLINE_WITH_ALL", "REACH", "STOCKED_AT", "Sku", "find_store",
           "get_sku", "on_hand", "put_back", "store_exists", "stores", "take"]


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
    store_names: dict[str, dict[str, str]]  # those stores' {"name", "name_zh"}, by id


def get_sku(conn: Conn, sku: str) -> Sku:
    with conn.cursor(row_factory=class_row(Sku)) as cur:
        found = cur.execute(
            "SELECT s.sku, s.name, s.name_zh, s.category, s.grade, s.price_cents, s.currency, "
            "s.width_mm, s.depth_mm, s.height_mm, s.attrs, "
            "coalesce((SELECT array_agg(i.store_id ORDER BY i.store_id) FROM inventory i "
            "          WHERE i.sku = s.sku AND i.on_hand > 0), '{}') AS in_stock_at, "
            "coalesce((SELECT jsonb_object_agg(st.id, jsonb_build_object("
            "              'name', st.name, 'name_zh', coalesce(st.name_zh, st.name))) "
            "          FROM inventory i JOIN stores st ON st.id = i.store_id "
            "          WHERE i.sku = s.sku AND i.on_hand > 0), '{}') AS store_names "
            "FROM skus s WHERE s.sku = %s", (sku,)).fetchone()
    if found is None:
        raise NotFound(missing("SKU", sku))
    return found


# --- stores and stock ---

_STORE = "id, name, name_zh, online, lat, lon, lead_days, timezone"


def stores(conn: Conn) -> list[Store]:
    """Every store, physical and online (a few dozen rows)."""
    with conn.cursor(row_factory=class_row(Store)) as cur:
        return cur.execute(f"SELECT {_STORE} FROM stores ORDER BY id").fetchall()  # noqa: S608


def find_store(conn: Conn, store_id: str) -> Store | None:
    with conn.cursor(row_factory=class_row(Store)) as cur:
        return cur.execute(f"SELECT {_STORE} FROM stores WHERE id = %s",  # noqa: S608
                           (store_id,)).fetchone()


def store_exists(conn: Conn, store_id: str) -> bool:
    return conn.execute("SELECT 1 FROM stores WHERE id = %s", (store_id,)).fetchone() is not None


def on_hand(conn: Conn, skus: Iterable[str],
            store_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """What each of ``store_ids`` has of each of ``skus``, by (store id, sku); none: absent."""
    return {(str(s), str(k)): int(n) for s, k, n in conn.execute(
        "SELECT store_id, sku, on_hand FROM inventory "
        "WHERE sku = ANY(%s) AND store_id = ANY(%s) AND on_hand > 0",
        (list(skus), list(store_ids))).fetchall()}


def take(conn: Conn, store_id: str, lines: Sequence[tuple[str, int]]) -> None:
    """Take ``lines`` (sku, quantity) out of the store's stock, or refuse: one just ran out."""
    for sku, quantity in lines:
        done = conn.execute("UPDATE inventory SET on_hand = on_hand - %s "
                            "WHERE store_id = %s AND sku = %s AND on_hand >= %s",
                            (quantity, store_id, sku, quantity)).rowcount
        if not done:
            raise Conflict(f"{sku} just went out of stock at {store_id}")


def put_back(conn: Conn, store_id: str, lines: Sequence[tuple[str, int]]) -> None:
    """Give ``lines`` back to the store that had them taken (a cancelled order)."""
    conn.execute("UPDATE inventory i SET on_hand = i.on_hand + l.quantity "
                 "FROM (SELECT sku, sum(quantity) AS quantity "
                 "      FROM unnest(%s::text[], %s::int[]) AS x(sku, quantity) GROUP BY sku) l "
                 "WHERE i.store_id = %s AND i.sku = l.sku",
                 ([sku for sku, _ in lines], [q for _, q in lines], store_id))


# --- fragments for set-based statements of other packages (see catalog.availability) ---

# Every store's reach (catalog.reach.reach) as a relation: one row per origin (a store id,
# '' for none) and store it can be supplied from, ranked by the caller's policy. Goes into
# the caller's WITH; its rows come as parameters (catalog.availability.Sourcing.params).
REACH = """catalog_reach AS MATERIALIZED (
    SELECT * FROM unnest(%(catalog_origin)s::text[], %(catalog_store)s::text[],
                         %(catalog_kind)s::text[], %(catalog_days)s::int[],
                         %(catalog_rank)s::int[]) AS r(origin, store_id, kind, days, rank)
)"""

# The best source in reach of {origin} (a store id or NULL) with {quantity} of {sku}: columns
# store_id, kind, days. For a LATERAL join.
BEST_SOURCE = """(
    SELECT r.store_id, r.kind, r.days
    FROM catalog_reach r
    JOIN inventory i ON i.store_id = r.store_id AND i.sku = {sku}
    WHERE r.origin = coalesce({origin}, '') AND i.on_hand >= {quantity}
    ORDER BY r.rank
    LIMIT 1
)"""

# The soonest days of an online store that has one of each of {skus} (a text[]); NULL: none.
ONLINE_WITH_ALL = """(
    SELECT min(r.days) FROM catalog_reach r
    WHERE r.origin = '' AND r.kind = 'online'
      AND NOT EXISTS (SELECT 1 FROM unnest({skus}) AS x(sku)
                      WHERE NOT EXISTS (SELECT 1 FROM inventory i WHERE i.store_id = r.store_id
                                        AND i.sku = x.sku AND i.on_hand > 0))
)"""

# {sku} is on hand at one of the stores %(catalog_stocked_at)s (a search's stock facet).
STOCKED_AT = ("EXISTS (SELECT 1 FROM inventory i WHERE i.sku = {sku} "
              "AND i.store_id = ANY(%(catalog_stocked_at)s) AND i.on_hand > 0)")
