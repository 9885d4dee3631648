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
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ar_assets.glbfile import glb_sources, open_glb, read_view, rewrite
from ar_assets.gltf import Layout, write_glb
from ar_assets.profiles import Profile
from ar_assets.report import Report
from ar_assets.validator import ToolError, ValidationReport, validate_path

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


def texture_sizes(doc: dict[str, Any],
                  read: bytes | Callable[[int], bytes]) -> list[tuple[int, int]]:
    """Each embedded image's size, from its header; ``read`` is the binary chunk, or gives
    one view's bytes (``read(view)``)."""
    if isinstance(read, bytes):
        blob = read

        def read(index: int) -> bytes:
            return _view_bytes(doc, blob, index)
    sizes = []
    for image in doc.get("images", []):
        if "bufferView" in image:
            with Image.open(io.BytesIO(read(image["bufferView"]))) as img:
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


def limit_textures(src: Path, out: Path, max_px: int) -> None:
    """Write ``src`` to ``out`` with every texture larger than ``max_px`` on a side scaled
    down (same format); one image decoded at a time, the rest streamed."""
    doc, bin_source = open_glb(src)
    files = glb_sources(doc, bin_source)
    replace: dict[int, bytes] = {}
    for image in doc.get("images", []):
        index = image.get("bufferView")
        if index is None or index in replace:
            continue
        with Image.open(io.BytesIO(read_view(doc, files, index))) as img:
            if max(img.size) <= max_px:
                continue
            fmt = img.format or "PNG"
            img.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced scale already
            img.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(buf, "JPEG", quality=85, optimize=True)
            elif fmt == "WEBP":
                img.save(buf, "WEBP", quality=85)
            else:
                img.save(buf, "PNG", optimize=True)
            replace[index] = buf.getvalue()
    if replace:
        rewrite(doc, files, out, replace)
    else:
        shutil.copyfile(src, out)


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
    prepared_for = -1
    src = work / f"{profile.name}.in.glb"
    dst = work / f"{profile.name}.glb"
    attempt = 0
    while True:
        attempt += 1
        if prepared_for != texture:
            limit_textures(master, src, texture)
            prepared_for = texture
        gltfpack(tools, src, dst, ratio=ratio, meshopt=profile.meshopt, aggressive=aggressive)
        report = validate_path(dst, node=tools.node, timeout_s=tools.timeout_s)
        size = dst.stat().st_size
        over_tris = report.triangles > profile.max_triangles
        over_size = profile.max_bytes is not None and size > profile.max_bytes
        if attempt >= max_attempts or not (over_tris or over_size):
            break
        if over_tris:
            ratio *= profile.max_triangles * 0.95 / report.triangles
            aggressive = True
        elif texture > MIN_TEXTURE:
            texture //= 2
        else:
            ratio *= 0.7  # textures are as small as we go; fewer triangles then
    src.unlink(missing_ok=True)
    doc, bin_source = open_glb(dst)
    files = glb_sources(doc, bin_source)
    sizes = texture_sizes(doc, lambda view: read_view(doc, files, view))
    return Lod(dst, size, report.triangles, report.draw_calls,
               max((max(s) for s in sizes), default=0), report, attempt)
