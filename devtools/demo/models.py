"""Models for the seed catalog (``make demo``): real samples where one fits, else generated.

The Poly Haven sofa and cabinet (zipped glTF with their files, as a supplier sends them) stand
for the sofas and the narrow wardrobe; simple items (toilets, lamps, appliances, beds,
wardrobes, the corner sofa) are generated with trimesh at the SKU's own dimensions. Each goes
through the same upload checks and processing as a staff upload. SKUs that already have a
ready model are left alone, so a second ``make demo`` adds nothing.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from ar_assets import service, store
from ar_assets.storage import BlobStore, open_blob_store
from homeloop.db import Conn
from homeloop.settings import PROJECT_ROOT, Settings

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "models"
SAMPLE_FOR = {"SOFA-3-GREY": "sofa_03", "SOFA-2-BEIGE": "sofa_03",
              "WARDROBE-100-FLAT": "painted_wooden_cabinet"}
WHITE, GREY, OAK, BLACK, BEIGE = ((240, 240, 236, 255), (120, 124, 130, 255),
                                  (176, 134, 88, 255), (30, 30, 32, 255), (214, 200, 178, 255))


def _part(tm: Any, shape: Any, colour: tuple[int, ...], at: tuple[float, float, float]) -> Any:
    shape.apply_translation(at)
    shape.visual = tm.visual.TextureVisuals(material=tm.visual.material.PBRMaterial(
        baseColorFactor=colour, metallicFactor=0.0, roughnessFactor=0.7))
    return shape


def _generated(category: str, w: float, d: float, h: float) -> Any:
    """A recognisable stand-in of a product ``w`` wide, ``d`` deep, ``h`` high (metres)."""
    import trimesh as untyped

    tm: Any = untyped
    box, cyl = tm.creation.box, tm.creation.cylinder
    parts: list[Any]
    if category == "toilet":
        parts = [_part(tm, box(extents=(w * 0.6, h * 0.4, d * 0.55)), WHITE,
                       (0, h * 0.2, d * 0.05)),
                 _part(tm, cyl(radius=w * 0.5, height=h * 0.12, sections=48), WHITE,
                       (0, 0, 0)),
                 _part(tm, box(extents=(w, h * 0.45, d * 0.25)), WHITE,
                       (0, h * 0.775, -d * 0.375))]
        parts[1].apply_transform(tm.transformations.rotation_matrix(np.pi / 2, (1, 0, 0)))
        parts[1].apply_translation((0, h * 0.46, d * 0.12))
    elif category == "lamp":
        parts = [_part(tm, cyl(radius=w * 0.45, height=0.03, sections=48), BLACK,
                       (0, 0, 0)),
                 _part(tm, cyl(radius=0.012, height=h * 0.8, sections=16), BLACK, (0, 0, 0)),
                 _part(tm, tm.creation.cone(radius=w * 0.5, height=h * 0.25, sections=48),
                       BEIGE, (0, 0, 0))]
        for p, y in zip(parts, (0.015, h * 0.4, h * 0.75), strict=True):
            p.apply_transform(tm.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0)))
            p.apply_translation((0, y, 0))
    elif category == "bed":
        parts = [_part(tm, box(extents=(w, h * 0.3, d)), OAK, (0, h * 0.15, 0)),
                 _part(tm, box(extents=(w * 0.95, h * 0.2, d * 0.92)), WHITE,
                       (0, h * 0.4, d * 0.03)),
                 _part(tm, box(extents=(w, h, d * 0.05)), OAK, (0, h * 0.5, -d * 0.475))]
    elif category == "sofa":
        seat = min(w, d) * 0.45
        parts = [_part(tm, box(extents=(w, h * 0.45, seat * 2)), GREY, (0, h * 0.225, 0)),
                 _part(tm, box(extents=(seat * 2, h * 0.45, d)), GREY,
                       (w / 2 - seat, h * 0.225, 0)),
                 _part(tm, box(extents=(w, h, 0.2)), GREY, (0, h * 0.5, -seat))]
    else:  # appliances, wardrobes, purifiers: a cabinet with a door or a porthole
        parts = [_part(tm, box(extents=(w, h, d)), WHITE if category != "wardrobe" else OAK,
                       (0, h / 2, 0))]
        if category in ("washing_machine", "dishwasher"):
            door = cyl(radius=min(w, h) * 0.3, height=0.02, sections=48)
            parts.append(_part(tm, door, GREY, (0, h * 0.45, d / 2 - 0.01)))  # flush with the front
    return tm.Scene(parts)


def _sample_zip(name: str) -> bytes:
    folder = SAMPLES / name
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
    return out.getvalue()


def seed_models(conn: Conn, settings: Settings, say: Callable[[str], None] = print,
                skus: Collection[str] | None = None) -> list[tuple[str, str]]:
    """Give every seed product without a ready model one (or only those in ``skus``); (sku,
    status) of those made.

    Commits as it goes (one asset at a time), as the upload route and the worker would.
    """
    rows = conn.execute("SELECT sku, category, width_mm, depth_mm, height_mm FROM skus "
                        "WHERE width_mm IS NOT NULL AND category IN ('toilet', 'lamp', 'bed', "
                        "'sofa', 'wardrobe', 'washing_machine', 'dishwasher', "
                        "'water_purifier', 'coffee_machine') ORDER BY sku").fetchall()
    blobs = open_blob_store(settings)
    made = []
    for sku, category, w, d, h in rows:
        if (skus is not None and sku not in skus) or store.default_for_sku(conn, sku) is not None:
            continue
        sample = SAMPLE_FOR.get(sku)
        if sample is not None and (SAMPLES / sample).is_dir():
            data, name = _sample_zip(sample), f"{sample}.zip"
        else:
            data = _generated(category, w / 1000, d / 1000, h / 1000).export(file_type="glb")
            name = f"{sku.lower()}.glb"
        status = upload_model(conn, settings, sku, data, name, blobs)
        say(f"model      {sku:<18} {status} ({name})")
        made.append((sku, status))
    return made


def upload_model(conn: Conn, settings: Settings, sku: str, data: bytes, name: str,
                 blobs: BlobStore | None = None) -> str:
    """Upload ``data`` (a model file called ``name``) as ``sku``'s model and process it, as a
    staff upload and the worker would; the asset's final status."""
    blobs = blobs or open_blob_store(settings)
    with tempfile.NamedTemporaryFile(dir=settings.state_dir) as tmp:
        tmp.write(data)
        tmp.flush()
        sha = blobs.put(Path(tmp.name))
    with conn.transaction():
        asset_id = service.accept_upload(
            conn, settings, sha256=sha, size=len(data), head=data[:64], filename=name,
            sku=sku, unit=None, up=None, uploaded_by="demo")
    return service.process(conn, settings, asset_id)
