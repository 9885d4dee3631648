"""SQL for floor plans, community layouts, designs, handoff codes and built scenes.

Callers own the transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from shapely.geometry import Polygon

from floorplans.geometry import Product
from floorplans.schemas import FloorPlan, Placement
from homeloop.db import Conn
from homeloop.errors import NotFound, missing


def area_m2(plan: FloorPlan) -> float:
    return round(sum(Polygon(r.polygon).area for r in plan.rooms), 2)


def bedrooms(plan: FloorPlan) -> int:
    return sum(1 for r in plan.rooms if "bed" in r.name.lower())


@dataclass(frozen=True, slots=True)
class PlanRow:
    id: int
    owner_id: int | None
    store_id: str | None
    name: str
    plan: FloorPlan
    source: str
    layout_id: int | None
    area_m2: float
    created_at: datetime


def _plan_row(row: dict[str, Any]) -> PlanRow:
    return PlanRow(id=row["id"], owner_id=row["owner_id"], store_id=row["store_id"],
                   name=row["name"], plan=FloorPlan.model_validate(row["plan"]),
                   source=row["source"], layout_id=row["layout_id"], area_m2=row["area_m2"],
                   created_at=row["created_at"])


PLAN_COLUMNS = "id, owner_id, store_id, name, plan, source, layout_id, area_m2, created_at"


def insert_plan(conn: Conn, plan: FloorPlan, *, owner_id: int | None, store_id: str | None,
                source: str, layout_id: int | None = None, raw: bytes | None = None,
                media_type: str = "application/json") -> PlanRow:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"INSERT INTO floor_plans (owner_id, store_id, name, plan, source, layout_id, "
            f"area_m2) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {PLAN_COLUMNS}",
            (owner_id, store_id, plan.name, Jsonb(plan.model_dump(mode="json")), source,
             layout_id, area_m2(plan))).fetchone()
        assert row is not None
        if raw is not None:
            cur.execute("INSERT INTO floor_plan_sources (floor_plan_id, media_type, raw) "
                        "VALUES (%s, %s, %s)", (row["id"], media_type, raw))
    return _plan_row(row)


def get_plan(conn: Conn, plan_id: int) -> PlanRow:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {PLAN_COLUMNS} FROM floor_plans WHERE id = %s",
                          (plan_id,)).fetchone()
    if row is None:
        raise NotFound(missing("floor plan", plan_id))
    return _plan_row(row)


def plan_holder(conn: Conn, plan_id: int) -> tuple[int | None, str | None]:
    """Who holds a plan, (owner, store), without reading the plan itself."""
    row = conn.execute("SELECT owner_id, store_id FROM floor_plans WHERE id = %s",
                       (plan_id,)).fetchone()
    if row is None:
        raise NotFound(missing("floor plan", plan_id))
    return (None if row[0] is None else int(row[0])), (None if row[1] is None else str(row[1]))


def plans_of(conn: Conn, owner_id: int) -> list[PlanRow]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {PLAN_COLUMNS} FROM floor_plans WHERE owner_id = %s "
                           "ORDER BY id DESC", (owner_id,)).fetchall()
    return [_plan_row(r) for r in rows]


def give_plan_to(conn: Conn, plan_id: int, owner_id: int) -> None:
    conn.execute("UPDATE floor_plans SET owner_id = %s WHERE id = %s AND owner_id IS NULL",
                 (owner_id, plan_id))


# --- communities and their layouts ---

def insert_community(conn: Conn, name: str, city: str, address: str) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "INSERT INTO communities (name, city, address) VALUES (%s, %s, %s) "
            "ON CONFLICT (city, name) DO UPDATE SET address = excluded.address "
            "RETURNING id, name, city, address", (name, city, address)).fetchone()
    assert row is not None
    return row


LAYOUT_SELECT = ("SELECT l.id, l.community_id, c.name AS community, c.city, l.unit_type, "
                 "l.name, l.area_m2, l.bedrooms FROM community_layouts l "
                 "JOIN communities c ON c.id = l.community_id")


def insert_layout(conn: Conn, community_id: int, unit_type: str, name: str,
                  plan: FloorPlan) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        if cur.execute("SELECT 1 FROM communities WHERE id = %s", (community_id,)).fetchone() \
                is None:
            raise NotFound(missing("community", community_id))
        row = cur.execute(
            "INSERT INTO community_layouts (community_id, unit_type, name, plan, area_m2, "
            "bedrooms) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (community_id, unit_type) "
            "DO UPDATE SET name = excluded.name, plan = excluded.plan, "
            "area_m2 = excluded.area_m2, bedrooms = excluded.bedrooms RETURNING id",
            (community_id, unit_type, name, Jsonb(plan.model_dump(mode="json")), area_m2(plan),
             bedrooms(plan))).fetchone()
        assert row is not None
        found = cur.execute(LAYOUT_SELECT + " WHERE l.id = %s", (row["id"],)).fetchone()
    assert found is not None
    return found


def search_layouts(conn: Conn, q: str | None, city: str | None,
                   unit_type: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """Layouts whose community name or address holds ``q``, in ``city``, of ``unit_type``."""
    like = f"%{q.strip()}%" if q else None
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            LAYOUT_SELECT + " WHERE (%(q)s::text IS NULL OR c.name ILIKE %(q)s "
            "OR c.address ILIKE %(q)s OR l.name ILIKE %(q)s) "
            "AND (%(city)s::text IS NULL OR c.city = %(city)s) "
            "AND (%(unit)s::text IS NULL OR l.unit_type = %(unit)s) "
            "ORDER BY c.city, c.name, l.unit_type LIMIT %(limit)s",
            {"q": like, "city": city, "unit": unit_type, "limit": limit}).fetchall()


def get_layout_plan(conn: Conn, layout_id: int) -> tuple[dict[str, Any], FloorPlan]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(LAYOUT_SELECT.replace("l.bedrooms", "l.bedrooms, l.plan")
                          + " WHERE l.id = %s", (layout_id,)).fetchone()
    if row is None:
        raise NotFound(missing("layout", layout_id))
    return row, FloorPlan.model_validate(row.pop("plan"))


# --- designs ---

@dataclass(frozen=True, slots=True)
class DesignRow:
    id: str
    floor_plan_id: int
    owner_id: int | None
    store_id: str | None
    name: str
    version: int
    placements: list[Placement]
    created_at: datetime
    updated_at: datetime


DESIGN_COLUMNS = ("id::text AS id, floor_plan_id, owner_id, store_id, name, version, "
                  "placements, created_at, updated_at")


def _design(row: dict[str, Any]) -> DesignRow:
    return DesignRow(**{**row, "placements": [Placement.model_validate(p)
                                              for p in row["placements"]]})


def _placements_json(placements: list[Placement]) -> Jsonb:
    return Jsonb([p.model_dump(mode="json") for p in placements])


def insert_design(conn: Conn, floor_plan_id: int, owner_id: int | None, store_id: str | None,
                  name: str, placements: list[Placement], author: str) -> DesignRow:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"INSERT INTO designs (floor_plan_id, owner_id, store_id, name, placements) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {DESIGN_COLUMNS}",
            (floor_plan_id, owner_id, store_id, name, _placements_json(placements))).fetchone()
        assert row is not None
        cur.execute("INSERT INTO design_versions (design_id, version, op, content_of, name, "
                    "placements, author) VALUES (%s, 1, 'create', 1, %s, %s, %s)",
                    (row["id"], name, _placements_json(placements), author))
    return _design(row)


def get_design(conn: Conn, design_id: str) -> DesignRow:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {DESIGN_COLUMNS} FROM designs WHERE id::text = %s",
                          (design_id,)).fetchone()
    if row is None:
        raise NotFound(missing("design", design_id))
    return _design(row)


def designs_of(conn: Conn, owner_id: int) -> list[DesignRow]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {DESIGN_COLUMNS} FROM designs WHERE owner_id = %s "
                           "ORDER BY updated_at DESC", (owner_id,)).fetchall()
    return [_design(r) for r in rows]


def update_design(conn: Conn, design_id: str, expected_version: int, name: str,
                  placements: list[Placement], op: str, content_of: int | None,
                  author: str) -> DesignRow | None:
    """The next version, if the design is still at ``expected_version`` (else None)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"UPDATE designs SET version = version + 1, name = %s, placements = %s, "
            f"updated_at = now() WHERE id::text = %s AND version = %s RETURNING {DESIGN_COLUMNS}",
            (name, _placements_json(placements), design_id, expected_version)).fetchone()
        if row is None:
            return None
        cur.execute("INSERT INTO design_versions (design_id, version, op, content_of, name, "
                    "placements, author) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (design_id, row["version"], op, content_of or row["version"], name,
                     _placements_json(placements), author))
    return _design(row)


def give_design_to(conn: Conn, design_id: str, owner_id: int) -> None:
    conn.execute("UPDATE designs SET owner_id = %s, updated_at = now() WHERE id::text = %s",
                 (owner_id, design_id))


def versions(conn: Conn, design_id: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT version, op, content_of, name, placements, author, created_at "
            "FROM design_versions WHERE design_id::text = %s ORDER BY version DESC",
            (design_id,)).fetchall()


def version(conn: Conn, design_id: str, number: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT version, op, content_of, name, placements FROM design_versions "
            "WHERE design_id::text = %s AND version = %s", (design_id, number)).fetchone()


# --- catalog facts and prices ---

def products(conn: Conn, skus: set[str]) -> dict[str, Product]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT sku, name, category, width_mm, depth_mm, height_mm, box_width_mm, "
            "box_depth_mm, box_height_mm, rough_in_mm, needs FROM skus WHERE sku = ANY(%s) "
            "AND width_mm IS NOT NULL", (sorted(skus),)).fetchall()
    out = {}
    for r in rows:
        box = (r["box_width_mm"], r["box_depth_mm"], r["box_height_mm"])
        out[r["sku"]] = Product(
            sku=r["sku"], name=r["name"], category=r["category"], width_mm=r["width_mm"],
            depth_mm=r["depth_mm"], height_mm=r["height_mm"],
            box_mm=box if all(box) else None, rough_in_mm=r["rough_in_mm"],
            needs=tuple(r["needs"]))
    return out


def prices(conn: Conn, skus: set[str]) -> dict[str, dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("SELECT sku, name, name_zh, price_cents, currency FROM skus "
                           "WHERE sku = ANY(%s)", (sorted(skus),)).fetchall()
    return {r["sku"]: r for r in rows}


# --- handoff codes ---

def _hash(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


def insert_handoff(conn: Conn, code: str, design_id: str, store_id: str | None,
                   kiosk_id: int | None, expires_at: datetime) -> None:
    conn.execute("INSERT INTO handoff_codes (code_hash, design_id, store_id, kiosk_id, "
                 "expires_at) VALUES (%s, %s, %s, %s, %s)",
                 (_hash(code), design_id, store_id, kiosk_id, expires_at))


def claim_handoff(conn: Conn, code: str, customer_id: int,
                  now: datetime) -> tuple[str | None, str]:
    """(design id, '') when claimed now, else (None, why: 'unknown', 'used' or 'expired')."""
    row = conn.execute(
        "UPDATE handoff_codes SET claimed_at = %s, claimed_by = %s WHERE code_hash = %s "
        "AND claimed_at IS NULL AND expires_at > %s RETURNING design_id::text",
        (now, customer_id, _hash(code), now)).fetchone()
    if row is not None:
        return str(row[0]), ""
    found = conn.execute("SELECT claimed_at FROM handoff_codes WHERE code_hash = %s",
                         (_hash(code),)).fetchone()
    if found is None:
        return None, "unknown"
    return None, "used" if found[0] is not None else "expired"


def handoff_state(conn: Conn, code: str, now: datetime) -> tuple[str, datetime | None]:
    """('open', expiry), or ('unknown' | 'used' | 'expired', None); nothing is claimed."""
    found = conn.execute("SELECT claimed_at, expires_at FROM handoff_codes WHERE code_hash = %s",
                         (_hash(code),)).fetchone()
    if found is None:
        return "unknown", None
    if found[0] is not None:
        return "used", None
    return ("expired", None) if found[1] <= now else ("open", found[1])


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def plan_text(conn: Conn, plan_id: int) -> str:
    """The stored plan as PostgreSQL prints its jsonb (the same value, the same text)."""
    row = conn.execute("SELECT plan::text FROM floor_plans WHERE id = %s", (plan_id,)).fetchone()
    if row is None:
        raise NotFound(missing("floor plan", plan_id))
    return str(row[0])


def model_files(conn: Conn, skus: set[str], profile: str) -> dict[str, str | None]:
    """Per SKU, the content hash of its default model's file at ``profile`` (None: no file).

    The same choice as ``ar_assets.service.lod_for_sku`` (the newest ready asset), read in one
    statement so that a cached scene's key costs no blob reads.
    """
    rows = conn.execute(
        "SELECT a.sku, f.sha256 FROM (SELECT DISTINCT ON (sku) id, sku FROM assets "
        "WHERE sku = ANY(%s) AND status = 'ready' ORDER BY sku, updated_at DESC, id DESC) a "
        "LEFT JOIN asset_files f ON f.asset_id = a.id AND f.profile = %s",
        (sorted(skus), profile)).fetchall()
    return {str(sku): sha for sku, sha in rows}
