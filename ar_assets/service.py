"""AR assets, one unit of work at a time: take an upload, process it, hand out its files.

- :func:`accept_upload` checks a stored upload cheaply (format, container, JSON, zip paths,
  URIs, images) and records it as ``pending``; a refusal raises
  :class:`~ar_assets.sources.Rejected` (422 with the report). The caller enqueues processing
  after its transaction commits.
- :func:`process` (the Celery task's body) turns the upload into a normalised master and one
  file per profile, every one validated by the Khronos validator with 0 errors, and stores
  them; a model that cannot be used ends ``failed`` with the report.
- :func:`lod_for_sku` gives other packages (floor-plan scenes) a SKU's model at a profile.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from ar_assets import decode, geometry, glbfile, meshfiles, sources, store, textures, variants
from ar_assets.lod import Lod, Tools, make_lod, texture_sizes
from ar_assets.profiles import PROFILES, Profile
from ar_assets.report import Report
from ar_assets.storage import open_blob_store
from ar_assets.validator import ToolError, ValidationReport, validate_path
from catalog.colours import Colour, colour
from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound, missing
from homeloop.settings import Settings

__all__ = ["Built", "accept_upload", "build", "lod_for_sku", "process", "tools_from",
           "within_budget"]

log = logging.getLogger(__name__)
MAX_TEXTURE_INPUT = 8192
# Textures are decoded one at a time, but their pixels still bound the work: at most four
# 8192 px textures (a full PBR set), or sixteen of 4096 px, per model.
MAX_TEXTURE_PIXELS = 4 * MAX_TEXTURE_INPUT**2
# The peak memory of the whole processing tree (API, one worker process and its Node and
# gltfpack children) for the worst inputs the limits accept, in MB, as measured by
# `homeloop bench assets --big` (docs/BENCHMARKS.md): the worker's default concurrency is
# the memory given to workers divided by this.
WORST_TREE_MB = 950
MAX_ATTEMPTS = 3  # processing runs that end in a tool error before the asset fails


def tools_from(settings: Settings) -> Tools:
    return Tools(settings.asset_node, settings.asset_gltfpack, settings.asset_tool_timeout_s)


def accept_upload(conn: Conn, settings: Settings, *, sha256: str, size: int, head: bytes,
                  filename: str, sku: str | None, unit: str | None, up: str | None,
                  uploaded_by: str, place: Callable[[], object] | None = None) -> int:
    """Check an upload and record it as a pending asset; its id.

    ``place`` puts the upload's bytes into the blob store (without it they are there
    already). It runs under the blob's lock, held until the caller's transaction ends: an
    upload of the same bytes that is refused meanwhile, or the retention of failed sources,
    waits, then sees this asset and keeps the bytes; one that went first and deleted them is
    followed by this placing them again.
    """
    blobs = open_blob_store(settings)
    store.lock_source(conn, sha256)
    try:
        if place is not None:
            place()
        if sku is not None and not store.sku_exists(conn, sku):
            raise NotFound(missing("SKU", sku))
        if unit is not None and unit not in geometry.UNITS:
            raise InvalidInput(f"unit must be one of {', '.join(geometry.UNITS)}")
        if up is not None and up not in ("y", "z"):
            raise InvalidInput("up must be y or z")
        path = blobs.local_path(sha256)
        assert path is not None
        fmt = sources.detect(head, filename)
        if fmt == "glb":
            sources.check_glb(path)
        elif fmt in ("zip", "gltf"):
            with tempfile.TemporaryDirectory(dir=_work_root(settings)) as tmp:
                sources.to_glb(path, fmt, Path(tmp), settings.asset_max_upload_bytes * 4,
                               max_model=settings.asset_max_upload_bytes)
        elif fmt in ("obj", "stl", "ply"):
            meshfiles.check_mesh_file(path, fmt)
    except BaseException:
        # Whatever refused the upload, its bytes go too (unless another asset has them).
        if not _source_in_use(conn, sha256):
            blobs.delete(sha256)
        raise
    return store.create(conn, sku=sku, source_name=filename[:200], source_format=fmt,
                        source_sha256=sha256, source_size=size, unit=unit, up_axis=up,
                        uploaded_by=uploaded_by)


def _source_in_use(conn: Conn, sha256: str) -> bool:
    """Whether an asset keeps these bytes (as its source, or as a file we made: our own
    phone file uploaded again and refused must not lose the served file)."""
    try:
        return store.blob_needed(conn, sha256, besides=0)
    except psycopg.Error:  # the transaction is broken: keep the blob rather than guess
        log.exception("could not tell whether upload %s is in use", sha256)
        return True


def _work_root(settings: Settings) -> Path:
    root = settings.asset_dir / "work"
    root.mkdir(parents=True, exist_ok=True)
    return root


def process(conn: Conn, settings: Settings, asset_id: int) -> str:
    """Process one asset in its own transactions; its final status.

    A refusal (the model is broken or implausible) is the ``failed`` status with a report. A
    tool error (validator or gltfpack missing, crashed, or an output they reject, raised as
    :class:`~ar_assets.validator.ToolError`) or any other error is raised, so the task is
    retried; the third run that ends in an error marks the asset failed with it.
    """
    with conn.transaction():
        asset = store.start(conn, asset_id)
    if asset is None:
        return store.get(conn, asset_id).status
    try:
        with tempfile.TemporaryDirectory(dir=_work_root(settings)) as tmp:
            result = _process(settings, asset, Path(tmp))
            with conn.transaction():
                store.finish(conn, asset_id, **result)
    except sources.Rejected as exc:
        with conn.transaction():
            store.fail(conn, asset_id, exc.report.to_json(), clock.now())
        return "failed"
    except Exception as exc:  # a tool error, or one nobody foresaw: retried, then failed
        if asset.attempts + 1 < MAX_ATTEMPTS:
            raise  # the task retries later (a tool missing or killed, the disk full...)
        log.exception("asset %s failed %s times", asset_id, MAX_ATTEMPTS)
        report = Report()
        report.error("PROCESSING_FAILED", f"processing failed {MAX_ATTEMPTS} times: "
                     f"{type(exc).__name__}: {exc}")
        with conn.transaction():
            store.fail(conn, asset_id, report.to_json(), clock.now())
        return "failed"
    return "ready"


def _points(model: Path, report: Report) -> Any:
    """World-space vertices of every mesh instance, and degenerate-triangle counts in report.

    Read from a memory map of the (decoded) GLB: positions and indices are never copied
    whole, and textures are not decoded at all.
    """
    clouds = []
    faces = degenerate = 0
    try:
        for name, matrix, verts, tris in glbfile.meshes(model):
            if not np.isfinite(verts).all():
                raise sources.reject("POSITION_NOT_FINITE", f"mesh {name!r} has vertex "
                                     "positions that are not finite numbers (NaN or infinity)")
            clouds.append(geometry.transform(verts, matrix))
            if tris is not None and len(tris):
                faces += len(tris)
                degenerate += geometry.degenerate_triangles(verts, tris)
    except (glbfile.GlbError, IndexError, ValueError, KeyError, TypeError) as exc:
        raise sources.reject("MESH_UNREADABLE", f"the model's geometry cannot be read: {exc}"
                             ) from exc
    if not clouds:
        raise sources.reject("MESH_EMPTY", "the model has no geometry in its scene")
    report.facts["degenerate_triangles"] = degenerate
    if faces and degenerate == faces:
        raise sources.reject("ALL_DEGENERATE", "every triangle of the model has zero area")
    if degenerate:
        report.warn("DEGENERATE_TRIANGLES", f"{degenerate:,} of {faces:,} triangles have zero "
                    "area (removed in the levels of detail)")
    return np.concatenate(clouds)


def _normalised(source: Path, placement: geometry.Placement, out: Path) -> dict[str, Any]:
    """Write the master: the source under one new root node carrying the placement."""
    doc, bin_source = glbfile.open_glb(source)
    scenes = doc.setdefault("scenes", [{"nodes": []}])
    scene = scenes[doc.get("scene", 0)]
    nodes = doc.setdefault("nodes", [])
    root = {"name": "homeloop_normalised",
            "matrix": [float(v) for v in placement.matrix.T.reshape(-1)],
            "children": list(scene.get("nodes", []))}
    nodes.append(root)
    scene["nodes"] = [len(nodes) - 1]
    doc["scene"] = doc.get("scene", 0)
    variants.from_marked_materials(doc)  # a supplier's per-colour materials, as variants
    glbfile.rewrite(doc, glbfile.glb_sources(doc, bin_source), out)
    return doc


@dataclass(frozen=True, slots=True)
class Built:
    """Everything processing made from one upload, before it is stored."""

    master: Path
    master_validation: ValidationReport
    lods: dict[str, Lod]
    placement: geometry.Placement
    triangles: int
    max_texture: int
    variants: list[str]
    report: Report
    source_glb: Path


def build(settings: Settings, upload: Path, fmt: Any, unit: str | None, up: str | None,
          work: Path) -> Built:
    """Check, normalise and reduce one upload into files under ``work``; no storage, no SQL.

    Raises :class:`~ar_assets.sources.Rejected` for a model we cannot use.
    """
    tools = tools_from(settings)
    report = Report()
    glb = sources.to_glb(upload, fmt, work, settings.asset_max_upload_bytes * 4,
                         max_model=settings.asset_max_upload_bytes)
    if fmt in ("glb", "gltf", "zip"):  # the supplier's own glTF: the Khronos verdict on it
        verdict = validate_path(glb, node=tools.node, timeout_s=tools.timeout_s)
        report.facts["input_validator"] = verdict.to_json()
        if verdict.errors:
            bad = Report()
            for m in verdict.messages:
                if m["severity"] == "error":
                    bad.error(m["code"], m["message"], m["pointer"])
            bad.facts["input_validator"] = verdict.to_json()
            raise sources.Rejected(bad)
    try:
        return _build(settings, glb, fmt, unit, up, work, report)
    except sources.Rejected as exc:  # the report keeps the validator's verdict on the input
        if "input_validator" in report.facts:
            exc.report.facts.setdefault("input_validator", report.facts["input_validator"])
        raise


def _build(settings: Settings, glb: Path, fmt: Any, unit: str | None, up: str | None,
           work: Path, report: Report) -> Built:
    tools = tools_from(settings)
    doc, _ = glbfile.open_glb(glb)
    if decode.needs_decoding(doc):  # meshopt, Draco, quantized: decoded to plain glTF
        plain = work / "decoded.glb"
        report.facts["decoded"] = decode.decode_glb(glb, plain, node=tools.node,
                                                    timeout_s=tools.timeout_s)
        glb = plain
    doc, bin_source = glbfile.open_glb(glb)
    files = glbfile.glb_sources(doc, bin_source)
    webp_ktx2 = textures.needs_plain_textures(doc)
    if webp_ktx2:  # WebP and KTX2 textures: decoded, written again as JPEG or PNG
        replace = textures.plain_textures(
            doc, lambda view: glbfile.read_view(doc, files, view), work, node=tools.node,
            timeout_s=tools.timeout_s, max_px=MAX_TEXTURE_INPUT)
        plain = work / "textures.glb"
        glbfile.rewrite(doc, files, plain, replace)
        del replace
        report.facts["decoded"] = report.facts.get("decoded", []) + webp_ktx2
        glb = plain
        doc, bin_source = glbfile.open_glb(glb)
        files = glbfile.glb_sources(doc, bin_source)
    try:
        sizes = texture_sizes(doc, lambda view: glbfile.read_view(doc, files, view))
    except Exception as exc:  # Pillow raises many types for a broken image
        raise sources.reject("IMAGE_UNREADABLE", f"a texture cannot be decoded: {exc}") from exc
    report.facts["textures"] = [list(s) for s in sizes]
    if any(max(s) > MAX_TEXTURE_INPUT for s in sizes):
        raise sources.reject("TEXTURE_TOO_LARGE", f"a texture is over {MAX_TEXTURE_INPUT} px")
    pixels = sum(w * h for w, h in sizes)
    if pixels > MAX_TEXTURE_PIXELS:
        raise sources.reject("TEXTURES_TOO_LARGE", f"the textures add up to {pixels / 1e6:,.0f} "
                             f"megapixels; we accept at most {MAX_TEXTURE_PIXELS / 1e6:,.0f} "
                             f"({MAX_TEXTURE_PIXELS // MAX_TEXTURE_INPUT**2} of "
                             f"{MAX_TEXTURE_INPUT} x {MAX_TEXTURE_INPUT} px) per model")
    marked = "KHR_materials_variants" not in doc.get("extensions", {})
    points = _points(glb, report)
    unit = unit or "m"
    axis: Any = up or ("z" if fmt in ("stl", "ply") else "y")
    placement = geometry.place(points, unit, axis)
    del points
    longest = max(h - lo for h, lo in zip(placement.bbox_max, placement.bbox_min, strict=True))
    hint = geometry.unit_hint(longest)
    if hint is not None:
        raise sources.reject("IMPLAUSIBLE_SIZE", hint)

    master = work / "master.glb"
    doc = _normalised(glb, placement, master)
    named = variants.names(doc)
    if named:
        report.facts["variants"] = [{"name": n, "name_zh": zh} for n, zh in named]
        if marked:
            report.facts["variants_from"] = "colour: material names"
    stand_in = (doc.get("asset", {}).get("extras") or {}).get("placeholder")
    if stand_in:  # the supplier says the model is a stand-in, not how the product looks
        report.facts["placeholder"] = True
    checked = validate_path(master, node=tools.node, timeout_s=tools.timeout_s)
    if checked.errors:
        raise ToolError(f"the normalised master has {checked.errors} validator errors: "
                        f"{checked.messages[:3]}")
    lods: dict[str, Lod] = {}
    budgets: dict[str, bool] = {}
    for profile in PROFILES.values():
        lod = make_lod(master, checked.triangles, profile, work, tools)
        if lod.validation.errors:
            raise ToolError(f"the {profile.name} file has validator errors: "
                            f"{lod.validation.messages[:3]}")
        budgets[profile.name] = within_budget(lod, profile)
        if lod.jpeg_quality is not None:  # written again at the same size to fit its bytes
            report.facts.setdefault("texture_quality", {})[profile.name] = lod.jpeg_quality
        if not budgets[profile.name]:
            report.warn("OVER_BUDGET", f"the {profile.name} file ({lod.size:,} bytes, "
                        f"{lod.triangles:,} triangles) is over its budget")
        lods[profile.name] = lod
    report.facts.update(within_budget=budgets, unit=unit, up_axis=axis,
                        triangles=checked.triangles)
    return Built(master, checked, lods, placement, checked.triangles,
                 max((max(s) for s in sizes), default=0), [n for n, _ in named], report, glb)


def within_budget(lod: Lod, profile: Profile) -> bool:
    return (lod.triangles <= profile.max_triangles
            and (profile.max_bytes is None or lod.size <= profile.max_bytes)
            and lod.max_texture <= profile.max_texture)


def _process(settings: Settings, asset: store.Asset, work: Path) -> dict[str, Any]:
    blobs = open_blob_store(settings)
    upload = work / "upload"
    blobs.copy_to(asset.source_sha256, upload)
    built = build(settings, upload, asset.source_format, asset.unit, asset.up_axis, work)
    made = [store.AssetFile(asset.id, "master", blobs.put(built.master),
                            built.master.stat().st_size, built.triangles,
                            built.master_validation.draw_calls, built.max_texture, "none",
                            built.master_validation.to_json())]
    for name, lod in built.lods.items():
        made.append(store.AssetFile(asset.id, name, blobs.put(lod.path), lod.size,
                                    lod.triangles, lod.draw_calls, lod.max_texture,
                                    PROFILES[name].compression, lod.validation.to_json()))
    p = built.placement
    bbox = {"min": list(p.bbox_min), "max": list(p.bbox_max),
            "size": [round(h - lo, 5) for h, lo in zip(p.bbox_max, p.bbox_min, strict=True)]}
    return {"report": built.report.to_json(), "bbox": bbox, "footprint": p.footprint,
            "triangles": built.triangles, "variants": built.variants, "made": made}


def remove_failed_sources(conn: Conn, settings: Settings, now: datetime) -> list[int]:
    """Delete the uploaded files of assets failed more than ``asset_failed_source_days`` ago
    from the blob store; the assets' ids. The row and its report stay, the report saying
    "source removed". Bytes another asset still uses (as its source, or as one of its files)
    stay in the store. Each asset in its own transaction, under the blob's lock."""
    blobs = open_blob_store(settings)
    before = now - timedelta(days=settings.asset_failed_source_days)
    removed = []
    for asset_id in store.failed_sources(conn, before):
        with conn.transaction():
            asset = store.get(conn, asset_id, for_update=True)
            if asset.status != "failed" or asset.source_removed_at is not None:
                continue
            store.lock_source(conn, asset.source_sha256)
            if not store.blob_needed(conn, asset.source_sha256, besides=asset_id):
                blobs.delete(asset.source_sha256)
            report = dict(asset.report)
            issues = list(report.get("issues", []))
            issues.append({"code": "SOURCE_REMOVED", "severity": "info", "pointer": "",
                           "message": f"source removed: the uploaded file is no longer kept, "
                                      f"{settings.asset_failed_source_days} days after the "
                                      "asset failed; upload it again to try once more"})
            report.update(issues=issues, source_removed=True)
            store.source_removed(conn, asset_id, report, now)
        removed.append(asset_id)
    return removed


def colours(asset: store.Asset) -> list[Colour]:
    """The model's colour variants in both languages (the model's own Chinese names first,
    then the catalog's)."""
    given = {v.get("name"): v.get("name_zh") for v in asset.report.get("variants", [])}
    return [colour(name, given.get(name)) for name in asset.variants]


def sku_colour(conn: Conn, sku: str, name: str) -> Colour:
    """Colour ``name`` of the SKU's default model, in both languages."""
    asset_id = store.default_for_sku(conn, sku)
    found = colours(store.get(conn, asset_id)) if asset_id is not None else []
    return next((c for c in found if c.name == name), colour(name))


def lod_for_sku(conn: Conn, settings: Settings, sku: str, profile: str) -> bytes | None:
    """GLB bytes of the SKU's default model at ``profile`` (phone, planner, vr); None if none."""
    if profile not in PROFILES:
        raise InvalidInput(f"profile must be one of {', '.join(PROFILES)}")
    asset_id = store.default_for_sku(conn, sku)
    if asset_id is None:
        return None
    found = store.file_for(conn, asset_id, profile)
    if found is None:
        return None
    with open_blob_store(settings).open(found.sha256) as f:
        return f.read()
