"""SQL of AR assets. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from homeloop.db import Conn
from homeloop.errors import Conflict, NotFound, missing


@dataclass(frozen=True, slots=True)
class Asset:
    id: int
    sku: str | None
    status: str
    source_name: str
    source_format: str
    source_sha256: str
    source_size: int
    unit: str | None
    up_axis: str | None
    uploaded_by: str
    created_at: datetime
    updated_at: datetime
    attempts: int
    report: dict[str, Any]
    bbox: dict[str, Any] | None
    footprint: list[list[float]] | None
    triangles: int | None
    variants: list[str]
    source_removed_at: datetime | None = None  # a failed asset's upload, deleted since


@dataclass(frozen=True, slots=True)
class AssetFile:
    asset_id: int
    profile: str
    sha256: str
    size: int
    triangles: int
    draw_calls: int
    max_texture: int
    compression: str
    validator: dict[str, Any]


def sku_exists(conn: Conn, sku: str) -> bool:
    return conn.execute("SELECT 1 FROM skus WHERE sku = %s", (sku,)).fetchone() is not None


def create(conn: Conn, *, sku: str | None, source_name: str, source_format: str,
           source_sha256: str, source_size: int, unit: str | None, up_axis: str | None,
           uploaded_by: str) -> int:
    row = conn.execute(
        "INSERT INTO assets (sku, source_name, source_format, source_sha256, source_size, unit, "
        "up_axis, uploaded_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (sku, source_name, source_format, source_sha256, source_size, unit, up_axis,
         uploaded_by)).fetchone()
    assert row is not None
    return int(row[0])


GET = ("SELECT id, sku, status, source_name, source_format, source_sha256, source_size, unit, "
       "up_axis, uploaded_by, created_at, updated_at, attempts, report, bbox, footprint, "
       "triangles, variants, source_removed_at FROM assets WHERE id = %s")
GET_FOR_UPDATE = GET + " FOR UPDATE"


def get(conn: Conn, asset_id: int, *, for_update: bool = False) -> Asset:
    with conn.cursor(row_factory=class_row(Asset)) as cur:
        asset = cur.execute(GET_FOR_UPDATE if for_update else GET, (asset_id,)).fetchone()
    if asset is None:
        raise NotFound(missing("asset", asset_id))
    return asset


def listing(conn: Conn, *, sku: str | None, status: str | None, before_id: int | None,
            limit: int) -> list[Asset]:
    """Assets newest first, by SKU and status when given."""
    with conn.cursor(row_factory=class_row(Asset)) as cur:
        return cur.execute(
            "SELECT id, sku, status, source_name, source_format, source_sha256, source_size, "
            "unit, up_axis, uploaded_by, created_at, updated_at, attempts, report, bbox, "
            "footprint, triangles, variants, source_removed_at FROM assets "
            "WHERE (%(sku)s::text IS NULL OR sku = %(sku)s) "
            "AND (%(status)s::text IS NULL OR status = %(status)s) "
            "AND (%(before)s::bigint IS NULL OR id < %(before)s) ORDER BY id DESC LIMIT %(n)s",
            {"sku": sku, "status": status, "before": before_id, "n": limit}).fetchall()


def files_of(conn: Conn, asset_ids: list[int]) -> dict[int, list[AssetFile]]:
    with conn.cursor(row_factory=class_row(AssetFile)) as cur:
        rows = cur.execute("SELECT asset_id, profile, sha256, size, triangles, draw_calls, "
                           "max_texture, compression, validator FROM asset_files "
                           "WHERE asset_id = ANY(%s) ORDER BY profile", (asset_ids,)).fetchall()
    found: dict[int, list[AssetFile]] = {i: [] for i in asset_ids}
    for row in rows:
        found[row.asset_id].append(row)
    return found


def files(conn: Conn, asset_id: int) -> list[AssetFile]:
    with conn.cursor(row_factory=class_row(AssetFile)) as cur:
        return cur.execute("SELECT asset_id, profile, sha256, size, triangles, draw_calls, "
                           "max_texture, compression, validator FROM asset_files "
                           "WHERE asset_id = %s ORDER BY profile", (asset_id,)).fetchall()


def file_by_sha(conn: Conn, sha256: str) -> AssetFile | None:
    """A file of a ready asset with this content."""
    with conn.cursor(row_factory=class_row(AssetFile)) as cur:
        return cur.execute(
            "SELECT f.asset_id, f.profile, f.sha256, f.size, f.triangles, f.draw_calls, "
            "f.max_texture, f.compression, f.validator FROM asset_files f "
            "JOIN assets a ON a.id = f.asset_id WHERE f.sha256 = %s AND a.status = 'ready' "
            "LIMIT 1", (sha256,)).fetchone()


def start(conn: Conn, asset_id: int) -> Asset | None:
    """Mark a pending (or retried) asset processing; None if it is already done."""
    asset = get(conn, asset_id, for_update=True)
    if asset.status in ("ready", "failed"):
        return None
    conn.execute("UPDATE assets SET status = 'processing', attempts = attempts + 1, "
                 "updated_at = now() WHERE id = %s", (asset_id,))
    return asset


def fail(conn: Conn, asset_id: int, report: dict[str, Any], now: datetime) -> None:
    conn.execute("UPDATE assets SET status = 'failed', report = %s, updated_at = now(), "
                 "failed_at = %s WHERE id = %s", (Jsonb(report), now, asset_id))


def failed_sources(conn: Conn, failed_before: datetime, limit: int = 500) -> list[int]:
    """Failed assets whose uploaded file is still kept, failed before ``failed_before``."""
    rows = conn.execute(
        "SELECT id FROM assets WHERE status = 'failed' AND source_removed_at IS NULL "
        "AND failed_at < %s ORDER BY failed_at, id LIMIT %s", (failed_before, limit)).fetchall()
    return [int(r[0]) for r in rows]


def lock_source(conn: Conn, sha256: str) -> None:
    """Serialise, until the transaction ends, everything that keeps or deletes this blob
    (uploads of these bytes, refusals, the retention of failed sources)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                 ("asset-source:" + sha256,))


def blob_needed(conn: Conn, sha256: str, *, besides: int) -> bool:
    """Whether another asset keeps these bytes: as its source (not removed), or as a file."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM assets WHERE source_sha256 = %(sha)s AND id <> %(id)s "
        "AND source_removed_at IS NULL) OR EXISTS (SELECT 1 FROM asset_files "
        "WHERE sha256 = %(sha)s)", {"sha": sha256, "id": besides}).fetchone()
    return bool(row and row[0])


def source_removed(conn: Conn, asset_id: int, report: dict[str, Any], now: datetime) -> None:
    conn.execute("UPDATE assets SET source_removed_at = %s, report = %s WHERE id = %s",
                 (now, Jsonb(report), asset_id))


def finish(conn: Conn, asset_id: int, *, report: dict[str, Any], bbox: dict[str, Any],
           footprint: list[tuple[float, float]], triangles: int, variants: list[str],
           made: list[AssetFile]) -> None:
    conn.execute("DELETE FROM asset_files WHERE asset_id = %s", (asset_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO asset_files (asset_id, profile, sha256, size, triangles, draw_calls, "
            "max_texture, compression, validator) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(asset_id, f.profile, f.sha256, f.size, f.triangles, f.draw_calls, f.max_texture,
              f.compression, Jsonb(f.validator)) for f in made])
    conn.execute("UPDATE assets SET status = 'ready', report = %s, bbox = %s, footprint = %s, "
                 "triangles = %s, variants = %s, updated_at = now(), "
                 "default_at = CASE WHEN sku IS NULL THEN NULL ELSE now() END WHERE id = %s",
                 (Jsonb(report), Jsonb(bbox), Jsonb([list(p) for p in footprint]), triangles,
                  Jsonb(variants), asset_id))


def stale(conn: Conn, pending_s: float, processing_s: float) -> list[int]:
    """Assets whose task was lost: pending this long, or processing this long (a dead worker)."""
    rows = conn.execute(
        "SELECT id FROM assets WHERE (status = 'pending' AND updated_at < now() - "
        "make_interval(secs => %s)) OR (status = 'processing' AND updated_at < now() - "
        "make_interval(secs => %s)) ORDER BY id", (pending_s, processing_s)).fetchall()
    return [int(r[0]) for r in rows]


def default_for_sku(conn: Conn, sku: str) -> int | None:
    """The SKU's default model: its ready asset made default last."""
    row = conn.execute("SELECT id FROM assets WHERE sku = %s AND status = 'ready' "
                       "ORDER BY default_at DESC NULLS LAST, id DESC LIMIT 1", (sku,)).fetchone()
    return int(row[0]) if row else None


def make_default(conn: Conn, sku: str, asset_id: int) -> None:
    """Make a ready asset of ``sku`` its default model again (a rollback to an older one)."""
    asset = get(conn, asset_id, for_update=True)
    if asset.sku != sku:
        raise NotFound(f"asset {asset_id} is not a model of SKU {sku}")
    if asset.status != "ready":
        raise Conflict(f"asset {asset_id} is {asset.status}, not ready")
    conn.execute("UPDATE assets SET default_at = now() WHERE id = %s", (asset_id,))


def file_for(conn: Conn, asset_id: int, profile: str) -> AssetFile | None:
    with conn.cursor(row_factory=class_row(AssetFile)) as cur:
        return cur.execute(
            "SELECT f.asset_id, f.profile, f.sha256, f.size, f.triangles, f.draw_calls, "
            "f.max_texture, f.compression, f.validator FROM asset_files f "
            "JOIN assets a ON a.id = f.asset_id "
            "WHERE f.asset_id = %s AND f.profile = %s AND a.status = 'ready'",
            (asset_id, profile)).fetchone()
