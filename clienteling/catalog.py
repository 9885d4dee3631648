"""Catalog search: SQL. Callers own the transaction.

Free text matches each word of the query, in English or Chinese, as a substring of
``skus.search_text`` (both names, colours, material and style, lower-cased and stored). A
trigram GIN index serves words of three characters or more; Chinese words are usually two,
which the planner answers by scanning the filtered rows: a few milliseconds at 20,000 SKUs
(see the benchmark). Results are ordered by trigram similarity to the whole query, then
price; the items, the count and the facets come from one statement.

The stock facet (here, nearby, online, anywhere) is the catalog's: which stores it means comes
from :func:`catalog.availability.stocked_at` (the radius is the ``nearby_store_km`` setting),
and the condition on their stock is :data:`catalog.store.STOCKED_AT`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from catalog import availability
from catalog import store as catalog
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound, missing

__all__ = ["STOCK", "SearchQuery", "search", "wall_space_mm"]

STOCK = ("here", "nearby", "online", "any")

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
    placeable: bool = False  # only what stands in a room (see _filters)
    limit: int = 20


def _filters(conn: Conn, query: SearchQuery, store_id: str | None,
             nearby_km: float) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
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
    if query.placeable:
        # delivered as one item to stand in a room: furniture, appliances and fittings, whose
        # delivery box the design checks know; not consumables, services or floor by the m²
        where.append("s.box_width_mm IS NOT NULL")
    if query.stock is not None:
        if query.stock not in STOCK:
            raise InvalidInput("stock is one of here, nearby, online, any")
        if query.stock in ("here", "nearby") and store_id is None:
            raise InvalidInput("in stock here or nearby needs a store (store_id)")
        where.append(catalog.STOCKED_AT.format(sku="s.sku"))
        params["catalog_stocked_at"] = availability.stocked_at(conn, query.stock, store_id,
                                                               nearby_km)
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


def search(conn: Conn, query: SearchQuery, store_id: str | None, *,
           nearby_km: float) -> dict[str, Any]:
    """Matching SKUs (best first) and facet counts over all matches, in one statement."""
    where, params = _filters(conn, query, store_id, nearby_km)
    params.update(q=query.q.lower(), limit=query.limit)
    row = conn.execute(SEARCH.format(text=TEXT, cond=" AND ".join(where) or "true"),
                       params).fetchone()
    assert row is not None
    grouped: dict[str, dict[str, int]] = {}
    for facet, value, n in row[2]:
        grouped.setdefault(facet, {})[str(value)] = int(n)
    return {"items": row[1], "facets": grouped, "total": int(row[0])}


def wall_space_mm(conn: Conn, floor_plan_id: int, wall_id: str) -> tuple[int, int]:
    """The usable length along a plan's wall (less its thickness at the corners and its
    openings) and its height, in mm: what "fits this wall" compares widths with."""
    row = conn.execute("SELECT plan FROM floor_plans WHERE id = %s", (floor_plan_id,)).fetchone()
    if row is None:
        raise NotFound(missing("floor plan", floor_plan_id))
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
        raise NotFound(missing("floor plan", floor_plan_id))
    return None if row[0] is None else int(row[0])
