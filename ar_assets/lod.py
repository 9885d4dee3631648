"""Levels of detail: textures reduced with Pillow, geometry simplified and compressed by gltfpack.

gltfpack (meshoptimizer's command line, a Debian package) simplifies to a triangle ratio,
quantizes, and with ``-cc`` writes EXT_meshopt_compression; it keeps materials, textures,
extras (``-ke``) and KHR_materials_variants. Debian's gltfpack is built without BasisU, so it
cannot resize textures: Pillow does that first, inside the GLB. No decimation is written here.

A profile is made in a few attempts: fewer triangles (aggressive simplification) while the
count is over budget; while the file is over its byte budget, its textures written again at
the same size at the best JPEG quality that fits (PNG with transparency optimised, lossless),
and halved only when none does; then fewer triangles.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable, Sequence
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
DEFAULT_QUALITY = 85  # JPEG quality of a texture scaled down to a profile's limit
# JPEG qualities tried, best first, at the same size before a profile's textures are halved
# (below 55 the 8x8 blocks show on a close look, and a halved texture looks better).
QUALITIES = (85, 75, 65, 55)
IMAGE_SLACK = 1024  # what alignment may add to the images' bytes in gltfpack's output


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
    jpeg_quality: int | None = None  # the textures written again at this quality to fit


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


def _jpeg_mode(img: Image.Image) -> str | None:
    """The mode an image is written as JPEG in, or None if it must stay PNG: a pixel that
    is not fully opaque, or a sample depth JPEG cannot hold (16-bit, float)."""
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        alpha = img.convert("RGBA").getchannel("A").getextrema()[0]
        if not isinstance(alpha, int) or alpha < 255:
            return None
    if img.mode in ("L", "LA", "La"):
        return "L"
    if img.mode in ("RGB", "RGBA", "RGBa", "P", "PA", "CMYK", "YCbCr"):
        return "RGB"
    return None


def _reencoded(data: bytes, max_px: int, qualities: Sequence[int | None]
               ) -> list[tuple[bytes, str] | None]:
    """One image written again for each of ``qualities``: its new bytes and MIME type, or
    None where the image stays as it is. It is decoded once.

    ``None`` as the quality: as it is, unless it is over ``max_px`` on a side; then scaled
    down in its own format (JPEG at quality 85). A quality: scaled down if over ``max_px``,
    then JPEG at that quality when every pixel is opaque, else PNG optimised (lossless); an
    image at its own size is kept where that would not make it smaller.
    """
    with Image.open(io.BytesIO(data)) as img:
        fmt = img.format or "PNG"
        scaled = max(img.size) > max_px
        if scaled:
            img.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced scale already
            img.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
        elif all(q is None for q in qualities):
            return [None for _ in qualities]
        else:
            img.load()
        jpeg_mode = _jpeg_mode(img) if any(q is not None for q in qualities) else None
        png: bytes | None = None
        found: list[tuple[bytes, str] | None] = []
        for quality in qualities:
            buf = io.BytesIO()
            if quality is None:
                if not scaled:
                    found.append(None)
                    continue
                if fmt == "JPEG":
                    img.convert("RGB").save(buf, "JPEG", quality=DEFAULT_QUALITY, optimize=True)
                elif fmt == "WEBP":
                    img.save(buf, "WEBP", quality=DEFAULT_QUALITY)
                else:
                    img.save(buf, "PNG", optimize=True)
                found.append((buf.getvalue(), Image.MIME.get(fmt, "image/png")))
                continue
            if jpeg_mode is not None:
                img.convert(jpeg_mode).save(buf, "JPEG", quality=quality, optimize=True)
                encoded = (buf.getvalue(), "image/jpeg")
            else:
                if png is None:
                    img.save(buf, "PNG", optimize=True)
                    png = buf.getvalue()
                encoded = (png, "image/png")
            found.append(encoded if scaled or len(encoded[0]) < len(data) else None)
        return found


def limit_textures(src: Path, out: Path, max_px: int, quality: int | None = None) -> int:
    """Write ``src`` to ``out`` with every texture larger than ``max_px`` on a side scaled
    down (same format), and with ``quality`` every texture written again as JPEG at that
    quality where it is opaque (PNG optimised where it is not), when that makes it smaller.
    One image decoded at a time, the rest streamed. The bytes of the images in ``out``."""
    doc, bin_source = open_glb(src)
    files = glb_sources(doc, bin_source)
    replace: dict[int, bytes] = {}
    total = 0
    for image in doc.get("images", []):
        index = image.get("bufferView")
        if index is None or index in replace:
            continue
        data = read_view(doc, files, index)
        [new] = _reencoded(data, max_px, [quality])
        if new is None:
            total += len(data)
            continue
        replace[index], image["mimeType"] = new
        total += len(new[0])
    if replace:
        rewrite(doc, files, out, replace)
    else:
        shutil.copyfile(src, out)
    return total


def image_bytes(src: Path, max_px: int, qualities: Sequence[int]) -> dict[int, int]:
    """What the images of ``src`` would come to at ``max_px`` and each JPEG quality
    (:func:`limit_textures`), each image decoded once; nothing written."""
    doc, bin_source = open_glb(src)
    files = glb_sources(doc, bin_source)
    totals = dict.fromkeys(qualities, 0)
    seen: set[int] = set()
    for image in doc.get("images", []):
        index = image.get("bufferView")
        if index is None or index in seen:
            continue
        seen.add(index)
        data = read_view(doc, files, index)
        for quality, new in zip(qualities, _reencoded(data, max_px, qualities), strict=True):
            totals[quality] += len(data) if new is None else len(new[0])
    return totals


def smaller_textures(master: Path, texture: int, quality: int | None,
                     target: int) -> tuple[int, int] | None:
    """The next textures to try when a file is over its byte budget: the largest size, then
    the best JPEG quality (:data:`QUALITIES`, after ``quality``), whose images come to at
    most ``target`` bytes. Re-encoding at the same size comes first; textures are halved
    only when no quality fits at this size. None when nothing is left below the current
    step; the smallest step when nothing fits (fewer triangles come next)."""
    px = texture
    later = [q for q in QUALITIES if quality is None or q < quality]
    last: tuple[int, int] | None = None
    while px >= MIN_TEXTURE:
        if later:
            totals = image_bytes(master, px, later)
            for q in later:
                if totals[q] <= target:
                    return px, q
            last = (px, later[-1])
        px //= 2
        later = list(QUALITIES)
    return last


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
    """Make one profile of a normalised model within its budgets (best effort, then measured).

    Over the triangle budget: simplified harder. Over the byte budget: the textures written
    again at the same size at the best JPEG quality whose bytes fit (predicted from the
    images, then measured), halved only when no quality fits; then fewer triangles.
    """
    texture = profile.max_texture
    quality: int | None = None  # None: the textures as they are (scaled down to the limit)
    ratio = min(1.0, profile.max_triangles * 0.97 / max(triangles, 1))
    aggressive = False
    prepared: tuple[int, int | None] | None = None
    images = 0
    has_images = bool(open_glb(master)[0].get("images"))
    src = work / f"{profile.name}.in.glb"
    dst = work / f"{profile.name}.glb"
    attempt = 0
    while True:
        attempt += 1
        if prepared != (texture, quality):
            images = limit_textures(master, src, texture, quality)
            prepared = (texture, quality)
        gltfpack(tools, src, dst, ratio=ratio, meshopt=profile.meshopt, aggressive=aggressive)
        report = validate_path(dst, node=tools.node, timeout_s=tools.timeout_s)
        size = dst.stat().st_size
        over_tris = report.triangles > profile.max_triangles
        over_size = profile.max_bytes is not None and size > profile.max_bytes
        if attempt >= max_attempts or not (over_tris or over_size):
            break
        step = None
        if not over_tris and has_images and profile.max_bytes is not None:
            # gltfpack carries the images as they are: the rest of the file stays the same
            target = images - (size - profile.max_bytes) - IMAGE_SLACK
            step = smaller_textures(master, texture, quality, target)
        if over_tris:
            ratio *= profile.max_triangles * 0.95 / report.triangles
            aggressive = True
        elif step is not None:
            texture, quality = step
        else:
            ratio *= 0.7  # textures are as small as we go; fewer triangles then
    src.unlink(missing_ok=True)
    doc, bin_source = open_glb(dst)
    files = glb_sources(doc, bin_source)
    sizes = texture_sizes(doc, lambda view: read_view(doc, files, view))
    return Lod(dst, size, report.triangles, report.draw_calls,
               max((max(s) for s in sizes), default=0), report, attempt, quality)
