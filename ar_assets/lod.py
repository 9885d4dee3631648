"""Levels of detail: textures reduced with Pillow, geometry simplified and compressed by gltfpack.

gltfpack (meshoptimizer's command line, a Debian package) simplifies to a triangle ratio,
quantizes, and with ``-cc`` writes EXT_meshopt_compression; it keeps materials, textures,
extras (``-ke``) and KHR_materials_variants. Debian's gltfpack is built without BasisU, so it
cannot resize textures: Pillow does that first, inside the GLB. No decimation is written here.

A profile is made in a few attempts: fewer triangles (aggressive simplification) while the
count is over budget, then smaller textures while the file is over its byte budget.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ar_assets.gltf import Layout, write_glb
from ar_assets.profiles import Profile
from ar_assets.report import Report
from ar_assets.validator import ToolError, ValidationReport, validate_glb

Image.MAX_IMAGE_PIXELS = 16384 * 16384  # beyond this Pillow refuses (decompression bombs)
MIN_TEXTURE = 256


@dataclass(frozen=True, slots=True)
class Tools:
    node: str = "node"
    gltfpack: str = "gltfpack"
    timeout_s: float = 600.0


@dataclass(frozen=True, slots=True)
class Lod:
    path: Path
    size: int
    triangles: int
    draw_calls: int
    max_texture: int
    validation: ValidationReport
    attempts: int


def read_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON and binary chunk of a GLB we made or already checked."""
    from ar_assets.gltf import read_layout

    report = Report()
    layout: Layout | None = read_layout(io.BytesIO(data), len(data), report)
    if layout is None:
        raise ToolError("not a readable GLB: " + report.summary())
    return layout.doc, data[layout.bin_offset:layout.bin_offset + layout.bin_length]


def _view_bytes(doc: dict[str, Any], blob: bytes, index: int) -> bytes:
    view = doc["bufferViews"][index]
    start = view.get("byteOffset", 0)
    return blob[start:start + view["byteLength"]]


def texture_sizes(doc: dict[str, Any], blob: bytes) -> list[tuple[int, int]]:
    sizes = []
    for image in doc.get("images", []):
        if "bufferView" in image:
            with Image.open(io.BytesIO(_view_bytes(doc, blob, image["bufferView"]))) as img:
                sizes.append(img.size)
    return sizes


def repack(doc: dict[str, Any], blob: bytes, replace: dict[int, bytes]) -> bytes:
    """A GLB with bufferViews ``replace`` swapped for new bytes and the buffer laid out again."""
    parts: list[bytes] = []
    offset = 0
    for i, view in enumerate(doc.get("bufferViews", [])):
        data = replace.get(i)
        if data is None:
            data = _view_bytes(doc, blob, i)
        view["byteOffset"] = offset
        view["byteLength"] = len(data)
        data += b"\0" * (-len(data) % 4)
        parts.append(data)
        offset += len(data)
    if doc.get("buffers"):
        doc["buffers"] = [{"byteLength": offset}]
    out = io.BytesIO()
    write_glb(out, doc, parts)
    return out.getvalue()


def limit_textures(data: bytes, max_px: int) -> bytes:
    """The GLB with every texture larger than ``max_px`` on a side scaled down (same format)."""
    doc, blob = read_glb(data)
    replace: dict[int, bytes] = {}
    for image in doc.get("images", []):
        index = image.get("bufferView")
        if index is None:
            continue
        with Image.open(io.BytesIO(_view_bytes(doc, blob, index))) as img:
            if max(img.size) <= max_px:
                continue
            fmt = img.format or "PNG"
            img.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            elif fmt == "WEBP":
                img.save(out, "WEBP", quality=85)
            else:
                img.save(out, "PNG", optimize=True)
            replace[index] = out.getvalue()
    return repack(doc, blob, replace) if replace else data


def gltfpack(tools: Tools, src: Path, dst: Path, *, ratio: float, meshopt: bool,
             aggressive: bool = False) -> None:
    args = [tools.gltfpack, "-i", str(src), "-o", str(dst), "-ke", "-si", f"{ratio:.6f}"]
    if meshopt:
        args.append("-cc")
    if aggressive:
        args.append("-sa")
    try:
        done = subprocess.run(args, capture_output=True, timeout=tools.timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolError(f"gltfpack could not run: {exc}") from exc
    if done.returncode != 0:
        raise ToolError(f"gltfpack failed ({done.returncode}): "
                        f"{done.stderr.decode(errors='replace')[-1000:]}")


def make_lod(master: Path, triangles: int, profile: Profile, work: Path, tools: Tools,
             max_attempts: int = 6) -> Lod:
    """Make one profile of a normalised model within its budgets (best effort, then measured)."""
    texture = profile.max_texture
    ratio = min(1.0, profile.max_triangles * 0.97 / max(triangles, 1))
    aggressive = False
    master_bytes = master.read_bytes()
    prepared_for = -1
    src = work / f"{profile.name}.in.glb"
    dst = work / f"{profile.name}.glb"
    attempt = 0
    while True:
        attempt += 1
        if prepared_for != texture:
            src.write_bytes(limit_textures(master_bytes, texture))
            prepared_for = texture
        gltfpack(tools, src, dst, ratio=ratio, meshopt=profile.meshopt, aggressive=aggressive)
        data = dst.read_bytes()
        report = validate_glb(data, node=tools.node, timeout_s=tools.timeout_s)
        over_tris = report.triangles > profile.max_triangles
        over_size = profile.max_bytes is not None and len(data) > profile.max_bytes
        if attempt >= max_attempts or not (over_tris or over_size):
            break
        if over_tris:
            ratio *= profile.max_triangles * 0.95 / report.triangles
            aggressive = True
        elif texture > MIN_TEXTURE:
            texture //= 2
        else:
            ratio *= 0.7  # textures are as small as we go; fewer triangles then
    doc, blob = read_glb(data)
    sizes = texture_sizes(doc, blob)
    return Lod(dst, len(data), report.triangles, report.draw_calls,
               max((max(s) for s in sizes), default=0), report, attempt)
