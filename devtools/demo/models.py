"""Models for the seed catalog (``make demo``): a real CC0 model where one fits, else a
stand-in that says it is one.

- The grey 3-seat and beige 2-seat SÖDER sofas: Poly Haven's ``sofa_03`` (CC0, public domain,
  polyhaven.com/a/sofa_03; see ``SOURCES``), made to look like their catalog lines as a
  supplier would send them: scaled to the catalog's width, depth and height, its fabric
  texture made neutral and tinted per colour, with one material per colour named
  ``fabric colour:grey=灰色`` / ``fabric colour:beige=米色`` so the pipeline builds the
  ``KHR_materials_variants`` (the SKU's own colour shows by default).
- Everything else (toilets, lamps, appliances, beds, wardrobes, the corner sofa): no CC0 model
  we have fits (Poly Haven's painted cabinet is a 1.2 m sideboard, not a 2 m wardrobe), so a
  simple shape is generated with trimesh at the SKU's own dimensions and marked a stand-in
  (``asset.extras.placeholder``): the product page says "示意模型" rather than passing it off
  as the product.
Each goes through the same upload checks and processing as a staff upload. SKUs that already
have a ready model are left alone, so a second ``make demo`` adds nothing.
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
# Where each real model comes from, and its licence (shown beside the file it makes)
SOURCES = {"sofa_03": ("Poly Haven, polyhaven.com/a/sofa_03", "CC0 1.0 (public domain)")}
# SKU -> the sample that looks like it, and its colours, its own first (sRGB, as seen)
SAMPLE_FOR = {"SOFA-3-GREY": ("sofa_03", ("grey", "beige")),
              "SOFA-2-BEIGE": ("sofa_03", ("beige", "grey"))}
FABRIC = {"grey": ("灰色", (112, 115, 120)), "beige": ("米色", (214, 200, 178))}
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


def _linear(srgb: int) -> float:
    c = srgb / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _sofa_zip(colours: tuple[str, ...], size_m: tuple[float, float, float]) -> bytes:
    """Poly Haven's sofa_03 as the catalog's sofa: ``size_m`` (width, depth, height), one
    material per colour marked for the pipeline, ``colours[0]`` shown by default."""
    import json

    from PIL import Image, ImageOps

    name = "sofa_03"
    folder = SAMPLES / name
    doc = json.loads((folder / f"{name}.gltf").read_text())
    # the carved brown sofa's texture, made neutral: its light and shade, no colour of its own
    diffuse = ImageOps.grayscale(Image.open(folder / "textures" / f"{name}_diff_1k.jpg"))
    mean = float(np.asarray(diffuse, dtype=np.float64).mean())
    neutral = diffuse.point(lambda v: min(255, round(v * 0.9 * 255 / mean)))
    texture = io.BytesIO()
    neutral.convert("RGB").save(texture, "JPEG", quality=90)
    shade = float(np.mean([_linear(v) for v in np.asarray(neutral).reshape(-1)[::97]]))
    for image in doc["images"]:
        if image["uri"].endswith("_diff_1k.jpg"):
            image["uri"] = "textures/sofa_03_neutral_1k.jpg"
    # scaled to the catalog's size: its own bounds from the position accessor
    pos = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    extent = [hi - lo for hi, lo in zip(pos["max"], pos["min"], strict=True)]
    w, d, h = size_m
    doc["nodes"][0]["scale"] = [w / extent[0], h / extent[1], d / extent[2]]
    materials = doc["materials"]
    parts = {0: "fabric", 1: "fringe"}
    made = []
    for colour in colours:
        zh, srgb = FABRIC[colour]
        factor = [min(1.0, _linear(c) / shade) for c in srgb] + [1.0]
        for index, part in parts.items():
            material = json.loads(json.dumps(materials[index]))
            material["name"] = f"{part} colour:{colour}={zh}"
            material["pbrMetallicRoughness"]["baseColorFactor"] = factor
            made.append(material)
    for mesh in doc["meshes"]:  # the primitives use their part's first colour
        for primitive in mesh["primitives"]:
            primitive["material"] = primitive.get("material", 0)
    doc["materials"] = made  # [fabric c0, fringe c0, fabric c1, ...]: c0 keeps indices 0, 1
    source, licence = SOURCES[name]
    doc["asset"]["copyright"] = f"{source}, {licence}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix != ".gltf" and "_diff_" not in path.name:
                zf.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
        zf.writestr(f"{name}/textures/sofa_03_neutral_1k.jpg", texture.getvalue())
        zf.writestr(f"{name}/{name}.gltf", json.dumps(doc))
        zf.writestr(f"{name}/SOURCE.txt", f"{source}\nLicence: {licence}\n"
                    "Scaled, its texture made neutral and tinted per colour by the demo.\n")
    return out.getvalue()


def _stand_in(category: str, w: float, d: float, h: float) -> bytes:
    """A generated shape of the product's size, marked as a stand-in in its glTF."""
    from ar_assets.gltf import write_glb
    from ar_assets.lod import read_glb

    doc, blob = read_glb(_generated(category, w, d, h).export(file_type="glb"))
    doc.setdefault("asset", {}).setdefault("extras", {})["placeholder"] = True
    out = io.BytesIO()
    write_glb(out, doc, [blob] if blob else [])
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
        if sample is not None and (SAMPLES / sample[0]).is_dir():
            data = _sofa_zip(sample[1], (w / 1000, d / 1000, h / 1000))
            name = f"{sku.lower()}.zip"
        else:  # no real model fits: a stand-in that says so
            data = _stand_in(category, w / 1000, d / 1000, h / 1000)
            name = f"{sku.lower()}-stand-in.glb"
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
