"""Catalog search and availability: SQL. Callers own the transaction.

Free text matches each word of the query, in English or Chinese, as a substring of
``skus.search_text`` (both names, colours, material and style, lower-cased and stored). A
trigram GIN index serves words of three characters or more; Chinese words are usually two,
which the planner answers by scanning the filtered rows: a few milliseconds at 20,000 SKUs
(see the benchmark). Results are ordered by trigram similarity to the whole query, then
price; the items, the count and the facets come from one statement.

Availability of a SKU as seen from a store: on hand there; the nearest other physical store
with stock (great-circle km); the online store's stock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from psycopg.rows import dict_row

from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound

__all__ = ["Availability", "SearchQuery", "availability", "search", "wall_space_mm"]

NEARBY_KM = 50.0
TRANSFER_KM_PER_DAY = 25.0

TEXT = "s.search_text"  # names, colours, material and style: a generated column


@dataclass(frozen=True, slots=True)
class SearchQuery:
    q: str = ""
    category: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    colour: str | None = None
    material: str | None = None
    style: str | None = None
    width_max: int | None = None
    width_min: int | None = None
    depth_max: int | None = None
    height_max: int | None = None
    stock: str | None = None  # here, nearby, online, any
    limit: int = 20


@dataclass(frozen=True, slots=True)
class Availability:
    sku: str
    here: int  # on hand at the store asked about
    nearby_store: str | None
    nearby_name: str | None
    nearby_km: float | None
    online: int
    online_days: int

    @property
    def tier(self) -> int | None:
        """0 here now, 1 a nearby store, 2 online, None: nowhere."""
        if self.here > 0:
            return 0
        if self.nearby_store is not None:
            return 1
        if self.online > 0:
            return 2
        return None

    @property
    def transfer_days(self) -> int | None:
        if self.nearby_km is None:
            return None
        return 1 + math.ceil(self.nearby_km / TRANSFER_KM_PER_DAY)

    def days(self) -> int | None:
        return {0: 0, 1: self.transfer_days, 2: self.online_days}.get(self.tier or 0) \
            if self.tier is not None else None

    def describe(self, today: date) -> str:
        if self.tier == 0:
            return f"in stock here ({self.here})"
        if self.tier == 1:
            when = "tomorrow" if self.transfer_days == 1 else f"in {self.transfer_days} days"
            return f"at {self.nearby_name}, {self.nearby_km:.0f} km away: here {when}"
        if self.tier == 2:
            return (f"online: delivered by "
                    f"{(today + timedelta(days=self.online_days)).isoformat()}")
        return "out of stock everywhere"


AVAILABILITY = """
WITH here AS (SELECT id, lat, lon FROM stores WHERE id = %(store)s),
online AS (SELECT id, lead_days FROM stores WHERE online ORDER BY id LIMIT 1)
SELECT k.sku,
       coalesce((SELECT on_hand FROM inventory i WHERE i.sku = k.sku
                 AND i.store_id = %(store)s), 0) AS here,
       n.id AS nearby_store, n.name AS nearby_name, n.km AS nearby_km,
       coalesce((SELECT on_hand FROM inventory i, online o WHERE i.sku = k.sku
                 AND i.store_id = o.id), 0) AS online,
       coalesce((SELECT lead_days FROM online), 3) AS online_days
FROM unnest(%(skus)s::text[]) AS k(sku)
LEFT JOIN LATERAL (
    SELECT s.id, s.name,
           6371 * acos(least(1, cos(radians(h.lat)) * cos(radians(s.lat))
                                * cos(radians(s.lon) - radians(h.lon))
                                + sin(radians(h.lat)) * sin(radians(s.lat)))) AS km
    FROM inventory i JOIN stores s ON s.id = i.store_id CROSS JOIN here h
    WHERE i.sku = k.sku AND i.on_hand > 0 AND NOT s.online AND s.id <> h.id
      AND s.lat IS NOT NULL AND h.lat IS NOT NULL
    ORDER BY km LIMIT 1
) n ON n.km <= %(km)s
"""


def availability(conn: Conn, skus: Sequence[str], store_id: str | None) -> dict[str, Availability]:
    if not skus:
        return {}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(AVAILABILITY, {"skus": list(skus), "store": store_id,
                                          "km": NEARBY_KM}).fetchall()
    return {r["sku"]: Availability(**r) for r in rows}


def _filters(query: SearchQuery, store_id: str | None) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {"store": store_id, "km": NEARBY_KM}
    words = [w.lower() for w in query.q.split() if w][:8]
    for n, word in enumerate(words):
        where.append(f"{TEXT} LIKE %(w{n})s")
        params[f"w{n}"] = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
    simple = {"category": "s.category = %(category)s",
              "price_min": "s.price_cents >= %(price_min)s",
              "price_max": "s.price_cents <= %(price_max)s",
              "width_min": "s.width_mm >= %(width_min)s",
              "width_max": "s.width_mm <= %(width_max)s",
              "depth_max": "s.depth_mm <= %(depth_max)s",
              "height_max": "s.height_mm <= %(height_max)s",
              "material": "s.attrs ->> 'material' = %(material)s",
              "style": "s.attrs ->> 'style' = %(style)s",
              "colour": "s.attrs -> 'colours' ? %(colour)s"}
    for key, sql in simple.items():
        value = getattr(query, key)
        if value is not None:
            where.append(sql)
            params[key] = value
    stock = {
        "here": "EXISTS (SELECT 1 FROM inventory i WHERE i.sku = s.sku AND i.store_id = "
                "%(store)s AND i.on_hand > 0)",
        # the store itself or a physical store within NEARBY_KM (ids found once, below)
        "nearby": "EXISTS (SELECT 1 FROM inventory i WHERE i.sku = s.sku "
                  "AND i.store_id = ANY(%(near)s) AND i.on_hand > 0)",
        "online": "EXISTS (SELECT 1 FROM inventory i WHERE i.sku = s.sku "
                  "AND i.store_id = ANY(%(online)s) AND i.on_hand > 0)",
        "any": "EXISTS (SELECT 1 FROM inventory i WHERE i.sku = s.sku AND i.on_hand > 0)",
    }
    if query.stock is not None:
        if query.stock not in stock:
            raise InvalidInput("stock is one of here, nearby, online, any")
        if query.stock in ("here", "nearby") and store_id is None:
            raise InvalidInput("in stock here or nearby needs a store (store_id)")
        where.append(stock[query.stock])
    return where, params


SEARCH = """
WITH m AS MATERIALIZED (
    SELECT s.sku, s.name, s.name_zh, s.category, s.price_cents, s.width_mm, s.depth_mm,
           s.height_mm, s.attrs, similarity({text}, %(q)s) AS score
    FROM skus s WHERE {cond}
), facets AS (
    SELECT 'category' AS facet, category AS value, count(*) AS n FROM m GROUP BY 2
    UNION ALL SELECT 'colour', c, count(*) FROM m,
        jsonb_array_elements_text(coalesce(attrs -> 'colours', '[]')) c GROUP BY 2
    UNION ALL SELECT 'material', attrs ->> 'material', count(*) FROM m
        WHERE attrs ? 'material' GROUP BY 2
    UNION ALL SELECT 'style', attrs ->> 'style', count(*) FROM m
        WHERE attrs ? 'style' GROUP BY 2
    UNION ALL SELECT 'price_band', CASE WHEN price_cents < 100000 THEN 'under 1000'
        WHEN price_cents < 500000 THEN '1000-5000' ELSE '5000+' END, count(*) FROM m
        GROUP BY 2
)
SELECT (SELECT count(*) FROM m) AS total,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'score'), '[]') FROM (
            SELECT * FROM m ORDER BY score DESC, price_cents, sku LIMIT %(limit)s) x) AS items,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(facet, value, n)
                                  ORDER BY facet, n DESC, value), '[]') FROM facets) AS facets
"""


def search(conn: Conn, query: SearchQuery, store_id: str | None) -> dict[str, Any]:
    """Matching SKUs (best first) and facet counts over all matches, in one statement."""
    where, params = _filters(query, store_id)
    params.update(q=query.q.lower(), limit=query.limit)
    if query.stock in ("nearby", "online"):
        params.update(_stock_places(conn, store_id))
    row = conn.execute(SEARCH.format(text=TEXT, cond=" AND ".join(where) or "true"),
                       params).fetchone()
    assert row is not None
    grouped: dict[str, dict[str, int]] = {}
    for facet, value, n in row[2]:
        grouped.setdefault(facet, {})[str(value)] = int(n)
    return {"items": row[1], "facets": grouped, "total": int(row[0])}


def _stock_places(conn: Conn, store_id: str | None) -> dict[str, list[str]]:
    """The online stores, and the physical stores within NEARBY_KM of ``store_id`` (itself
    included)."""
    rows = conn.execute(
        "SELECT o.id, o.online, o.id = h.id OR 6371 * acos(least(1, cos(radians(h.lat)) "
        "* cos(radians(o.lat)) * cos(radians(o.lon) - radians(h.lon)) + sin(radians(h.lat)) "
        "* sin(radians(o.lat)))) <= %s FROM stores o LEFT JOIN stores h ON h.id = %s",
        (NEARBY_KM, store_id)).fetchall()
    return {"online": [r[0] for r in rows if r[1]],
            "near": [r[0] for r in rows if not r[1] and r[2]]}


def wall_space_mm(conn: Conn, floor_plan_id: int, wall_id: str) -> tuple[int, int]:
    """The usable length along a plan's wall (less its thickness at the corners and its
    openings) and its height, in mm: what "fits this wall" compares widths with."""
    row = conn.execute("SELECT plan FROM floor_plans WHERE id = %s", (floor_plan_id,)).fetchone()
    if row is None:
        raise NotFound(f"floor plan {floor_plan_id} does not exist")
    plan = row[0]
    wall = next((w for w in plan.get("walls", []) if w.get("id") == wall_id), None)
    if wall is None:
        raise NotFound(f"the plan has no wall {wall_id!r}")
    (x0, y0), (x1, y1) = wall["start"], wall["end"]
    length = math.hypot(x1 - x0, y1 - y0) - float(wall.get("thickness", 0.1))
    openings = sum(float(o.get("width", 0)) for o in plan.get("openings", [])
                   if o.get("wall_id") == wall_id and o.get("kind") != "window")
    return int(max(0.0, length - openings) * 1000), int(float(wall.get("height", 2.6)) * 1000)


def owner_of_plan(conn: Conn, floor_plan_id: int) -> int | None:
    row = conn.execute("SELECT owner_id FROM floor_plans WHERE id = %s",
                       (floor_plan_id,)).fetchone()
    if row is None:
        raise NotFound(f"floor plan {floor_plan_id} does not exist")
    return None if row[0] is None else int(row[0])
