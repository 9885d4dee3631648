"""WebP and KTX2 textures turned into the JPEG or PNG that every tool and loader reads.

Furniture catalogs send textures as WebP (``EXT_texture_webp``) and KTX2 with Basis Universal
(``KHR_texture_basisu``, ETC1S or UASTC). Neither trimesh nor Debian's gltfpack (built without
BasisU) reads them, and gltfpack drops the texture coordinates of a texture it cannot see. So,
before anything else reads the model, each such texture is decoded — WebP by Pillow, KTX2 by
the Basis Universal transcoder that the npm package ``three`` ships (``ar_assets/ktx2.cjs``) —
and written again as JPEG (opaque) or PNG (with alpha), in place of the original; a texture
that also names a JPEG or PNG fallback ``source`` simply keeps the fallback.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from ar_assets.sources import Rejected, reject
from ar_assets.validator import node_json

__all__ = ["TEXTURE_EXTENSIONS", "needs_plain_textures", "plain_textures"]

SCRIPT = Path(__file__).with_name("ktx2.cjs")
WEBP, BASISU = "EXT_texture_webp", "KHR_texture_basisu"
TEXTURE_EXTENSIONS = (BASISU, WEBP)
KTX2_HEADER = struct.Struct("<12sIIII")  # identifier, vkFormat, typeSize, width, height


def needs_plain_textures(doc: dict[str, Any]) -> list[str]:
    used = doc.get("extensionsUsed", [])
    return [name for name in TEXTURE_EXTENSIONS if isinstance(used, list) and name in used]


def _ktx2(data: bytes, work: Path, node: str, timeout_s: float, max_px: int,
          pointer: str) -> Image.Image:
    if len(data) < KTX2_HEADER.size:
        raise reject("TEXTURE_UNREADABLE", "a KTX2 texture that is cut short", pointer)
    _, _, _, width, height = KTX2_HEADER.unpack_from(data)
    if max(width, height) > max_px:
        raise reject("TEXTURE_TOO_LARGE", f"a KTX2 texture of {width} x {height} px; we accept "
                     f"at most {max_px} px a side", pointer)
    source, pixels = work / "texture.ktx2", work / "texture.rgba"
    source.write_bytes(data)
    try:
        result = node_json([node, str(SCRIPT), str(source), str(pixels)],
                           "the KTX2 transcoder", timeout_s=timeout_s)
    finally:
        source.unlink(missing_ok=True)
    if "refused" in result:
        raise reject("TEXTURE_UNREADABLE", f"a KTX2 texture ({BASISU}) cannot be read: "
                     f"{result['refused']}", pointer)
    try:
        size = (int(result["width"]), int(result["height"]))
        img = Image.frombytes("RGBA", size, pixels.read_bytes())
    finally:
        pixels.unlink(missing_ok=True)
    return img if result.get("alpha") else img.convert("RGB")


def _webp(data: bytes, pointer: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "WEBP":
                raise reject("TEXTURE_UNREADABLE", f"a texture of {WEBP} that is "
                             f"{img.format or 'unknown'}, not WebP", pointer)
            img.load()
            return img.copy()
    except Rejected:
        raise
    except Exception as exc:  # Pillow raises many types for a broken image
        raise reject("TEXTURE_UNREADABLE", f"a WebP texture cannot be decoded: {exc}",
                     pointer) from exc


def _encode(img: Image.Image) -> tuple[bytes, str]:
    """JPEG when every pixel is opaque, else PNG."""
    out = io.BytesIO()
    lowest_alpha = img.getchannel("A").getextrema()[0] if img.mode in ("RGBA", "LA") else 255
    if isinstance(lowest_alpha, (int, float)) and lowest_alpha < 255:
        img.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    img.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    return out.getvalue(), "image/jpeg"


def plain_textures(doc: dict[str, Any], read: Callable[[int], bytes], work: Path, *,
                   node: str = "node", timeout_s: float = 600.0,
                   max_px: int = 8192) -> dict[int, bytes]:
    """Rewrite ``doc`` so that no texture needs WebP or KTX2; the bufferViews to replace.

    ``read(view)`` gives a bufferView's bytes; one image is decoded at a time."""
    replace: dict[int, bytes] = {}
    images = doc.get("images", [])
    done: set[int] = set()
    for t, texture in enumerate(doc.get("textures", [])):
        exts = texture.get("extensions", {})
        for name in TEXTURE_EXTENSIONS:
            if name not in exts:
                continue
            source = exts.pop(name).get("source")
            if "source" in texture:
                continue  # a JPEG or PNG fallback is there already
            pointer = f"/textures/{t}/extensions/{name}"
            if not isinstance(source, int) or not 0 <= source < len(images):
                raise reject("TEXTURE_INVALID", f"{name} names image {source}, which does not "
                             "exist", pointer)
            texture["source"] = source
            if source in done:
                continue
            image = images[source]
            if "bufferView" not in image:
                raise reject("TEXTURE_INVALID", f"image {source} has no bufferView", pointer)
            data = read(image["bufferView"])
            img = (_ktx2(data, work, node, timeout_s, max_px, pointer) if name == BASISU
                   else _webp(data, pointer))
            replace[image["bufferView"]], image["mimeType"] = _encode(img)
            done.add(source)
        if not exts:
            texture.pop("extensions", None)
    for key in ("extensionsUsed", "extensionsRequired"):
        if key in doc:
            doc[key] = [e for e in doc[key] if e not in TEXTURE_EXTENSIONS]
            if not doc[key]:
                del doc[key]
    return replace
