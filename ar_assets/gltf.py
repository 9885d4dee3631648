"""The GLB container and the structural checks we run before any loader sees a file.

Pure: works on bytes and on a seekable binary file, never touches the network or other files.
A hostile file is refused here, cheaply, from its JSON and a few bytes of its binary chunk:
wrong magic, truncated or lying chunk lengths, buffers, views and accessors that point outside
their data, declared element counts past our limits, deep or cyclic node trees, URIs (only
``data:`` is read, and only in a GLB; files of a glTF upload are packed before this runs) and
images that are not images.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ar_assets.report import Report

MAGIC = b"glTF"
JSON_CHUNK = 0x4E4F534A
BIN_CHUNK = 0x004E4942
HEADER = struct.Struct("<4sII")
CHUNK = struct.Struct("<II")

COMPONENT_SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
TYPE_COUNT = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg",
               b"\xabKTX 20\xbb": "image/ktx2"}


# Extensions an input may require: the ones the pipeline decodes before anything reads the
# model (geometry: ar_assets/decode.py; textures: ar_assets/textures.py), and texture transforms,
# which gltfpack carries. A model that requires any other is refused at upload, by name.
READABLE_REQUIRED = ("EXT_meshopt_compression", "KHR_draco_mesh_compression",
                     "KHR_mesh_quantization", "EXT_texture_webp", "KHR_texture_basisu",
                     "KHR_texture_transform")


@dataclass(frozen=True, slots=True)
class Limits:
    max_json_bytes: int = 64 * 1024 * 1024
    max_elements: int = 50_000_000  # per accessor (a billion vertices is refused)
    max_triangles: int = 20_000_000  # in the whole upload
    max_draw_calls: int = 10_000
    max_depth: int = 64  # node nesting
    max_nodes: int = 200_000


LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a GLB's chunks are: the parsed JSON, and the binary chunk's offset and length."""

    doc: dict[str, Any]
    bin_offset: int
    bin_length: int


def image_type(head: bytes) -> str | None:
    for magic, mime in IMAGE_MAGIC.items():
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_layout(f: IO[bytes], size: int, report: Report,
                limits: Limits = LIMITS) -> Layout | None:
    """Read a GLB's header and JSON chunk; None (with errors in ``report``) if it is broken."""
    head = f.read(HEADER.size)
    if len(head) < HEADER.size or head[:4] != MAGIC:
        report.error("WRONG_MAGIC", "not a GLB file: it does not start with the bytes 'glTF'")
        return None
    _, version, length = HEADER.unpack(head)
    if version != 2:
        report.error("GLB_VERSION", f"GLB version {version}; only glTF 2.0 is accepted")
        return None
    if length != size:
        report.error("GLB_LENGTH", f"the header says the file has {length} bytes, it has {size}"
                     + (" (truncated)" if length > size else ""))
        return None
    raw = f.read(CHUNK.size)
    if len(raw) < CHUNK.size:
        report.error("GLB_TRUNCATED", "the file ends before its JSON chunk")
        return None
    json_len, json_type = CHUNK.unpack(raw)
    if json_type != JSON_CHUNK:
        report.error("GLB_CHUNK", "the first chunk is not the JSON chunk")
        return None
    if HEADER.size + CHUNK.size + json_len > size:
        report.error("GLB_CHUNK_LENGTH",
                     f"the JSON chunk claims {json_len} bytes, past the end of the file")
        return None
    if json_len > limits.max_json_bytes:
        report.error("JSON_TOO_LARGE", f"the JSON chunk has {json_len} bytes "
                     f"(limit {limits.max_json_bytes})")
        return None
    try:
        doc = json.loads(f.read(json_len).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        report.error("JSON_INVALID", f"the JSON chunk is not valid JSON: {exc}")
        return None
    if not isinstance(doc, dict):
        report.error("JSON_INVALID", "the JSON chunk is not an object")
        return None
    bin_offset, bin_length = 0, 0
    pos = HEADER.size + CHUNK.size + json_len
    if pos < size:
        raw = f.read(CHUNK.size)
        if len(raw) < CHUNK.size:
            report.error("GLB_TRUNCATED", "the file ends inside a chunk header")
            return None
        bin_length, bin_type = CHUNK.unpack(raw)
        bin_offset = pos + CHUNK.size
        if bin_type != BIN_CHUNK:
            report.error("GLB_CHUNK", "the second chunk is not the binary chunk")
            return None
        if bin_offset + bin_length > size:
            report.error("GLB_CHUNK_LENGTH", f"the binary chunk claims {bin_length} bytes, "
                         f"only {size - bin_offset} are there (truncated)")
            return None
    return Layout(doc, bin_offset, bin_length)


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_uri(uri: Any, pointer: str, report: Report, *, allow_relative: bool) -> None:
    if not isinstance(uri, str):
        report.error("URI_INVALID", "a uri that is not a string", pointer)
    elif uri.startswith("data:"):
        return
    elif ":" in uri.split("/", 1)[0] or uri.startswith(("/", "\\")):
        scheme = uri.split(":", 1)[0].lower() if ":" in uri else "absolute path"
        report.error("URI_EXTERNAL", f"external reference {uri[:200]!r} ({scheme}) refused: "
                     "we never fetch or read files outside the upload", pointer)
    elif not allow_relative:
        report.error("URI_MISSING_FILE", f"a GLB refers to the file {uri[:200]!r}; upload a GLB "
                     "with everything embedded, or a zip of the glTF with its files", pointer)


def data_uri_bytes(uri: str, limit: int) -> bytes | None:
    """The bytes of a base64 ``data:`` URI, or None if it is not one or is over ``limit``."""
    head, _, payload = uri.partition(",")
    if not (head.startswith("data:") and head.endswith(";base64")):
        return None
    if len(payload) > limit * 4 // 3 + 4:
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        return None


def check_document(doc: dict[str, Any], bin_length: int | None, report: Report,
                   peek: Callable[[int, int], bytes], limits: Limits = LIMITS, *,
                   allow_relative_uris: bool = False) -> None:
    """Check the JSON of a glTF against its data; facts (triangles, draw calls) go in ``report``.

    ``bin_length`` is the GLB binary chunk's length (None for a .gltf), ``peek(offset, n)``
    reads ``n`` bytes of that chunk (to see an image's first bytes).
    """
    version = doc.get("asset", {}).get("version") if isinstance(doc.get("asset"), dict) else None
    if not isinstance(version, str) or not version.startswith("2."):
        report.error("GLTF_VERSION", f"asset.version is {version!r}; only glTF 2.0 is accepted",
                     "/asset/version")
        return
    buffers = _list(doc, "buffers")
    sizes: list[int | None] = []
    for i, buf in enumerate(buffers):
        ptr = f"/buffers/{i}"
        length = _int(buf.get("byteLength")) if isinstance(buf, dict) else None
        if length is None or length < 0:
            report.error("BUFFER_LENGTH", "a buffer without a valid byteLength", ptr)
            sizes.append(None)
            continue
        if "uri" in buf:
            check_uri(buf["uri"], ptr + "/uri", report, allow_relative=allow_relative_uris)
            sizes.append(length)
        elif buf.get("extensions", {}).get("EXT_meshopt_compression", {}).get("fallback"):
            sizes.append(length)  # no data: its views are decoded from a compressed buffer
        elif i != 0 or bin_length is None:
            report.error("BUFFER_NO_DATA", "a buffer with neither a uri nor a GLB binary chunk",
                         ptr)
            sizes.append(None)
        elif length > bin_length:
            report.error("BUFFER_LENGTH_LIES", f"the buffer claims {length} bytes, the binary "
                         f"chunk has {bin_length}", ptr)
            sizes.append(None)
        else:
            sizes.append(length)

    views = _list(doc, "bufferViews")
    view_ok: list[tuple[int, int, int] | None] = []  # (buffer, offset, length)
    for i, view in enumerate(views):
        ptr = f"/bufferViews/{i}"
        b = _int(view.get("buffer")) if isinstance(view, dict) else None
        off = _int(view.get("byteOffset", 0)) if isinstance(view, dict) else None
        length = _int(view.get("byteLength")) if isinstance(view, dict) else None
        if b is None or off is None or length is None or off < 0 or length < 0:
            report.error("VIEW_INVALID", "a bufferView without a valid buffer, offset or length",
                         ptr)
            view_ok.append(None)
            continue
        if not 0 <= b < len(sizes) or sizes[b] is None:
            report.error("VIEW_BUFFER", f"refers to buffer {b}, which does not exist or is broken",
                         ptr)
            view_ok.append(None)
            continue
        size = sizes[b]
        assert size is not None
        if off + length > size:
            report.error("VIEW_OUT_OF_BOUNDS", f"bytes {off}..{off + length} are past the end of "
                         f"buffer {b} ({size} bytes)", ptr)
            view_ok.append(None)
            continue
        view_ok.append((b, off, length))

    accessors = _list(doc, "accessors")
    counts: list[int] = []
    for i, acc in enumerate(accessors):
        ptr = f"/accessors/{i}"
        count = _int(acc.get("count")) if isinstance(acc, dict) else None
        comp = COMPONENT_SIZE.get(acc.get("componentType", 0)) if isinstance(acc, dict) else None
        ncomp = TYPE_COUNT.get(acc.get("type", "")) if isinstance(acc, dict) else None
        if count is None or count < 1 or comp is None or ncomp is None:
            report.error("ACCESSOR_INVALID", "an accessor without a valid count, componentType "
                         "or type", ptr)
            counts.append(0)
            continue
        counts.append(count)
        if count > limits.max_elements:
            report.error("ACCESSOR_TOO_MANY", f"declares {count:,} elements; we accept at most "
                         f"{limits.max_elements:,} per accessor", ptr)
            continue
        if "bufferView" not in acc:
            continue  # all zeros (or sparse only)
        v = _int(acc.get("bufferView"))
        if v is None or not 0 <= v < len(view_ok) or view_ok[v] is None:
            report.error("ACCESSOR_VIEW", f"refers to bufferView {v}, which does not exist or is "
                         "broken", ptr)
            continue
        view = views[v]
        _, _, vlen = view_ok[v]  # type: ignore[misc]
        elem = comp * ncomp
        stride = _int(view.get("byteStride")) or elem
        off = _int(acc.get("byteOffset", 0))
        if off is None or off < 0:
            report.error("ACCESSOR_INVALID", "an invalid byteOffset", ptr)
            continue
        needed = off + stride * (count - 1) + elem
        if needed > vlen:
            report.error("ACCESSOR_OUT_OF_BOUNDS", f"{count:,} elements need {needed:,} bytes, "
                         f"bufferView {v} has {vlen:,}", ptr)

    triangles, draw_calls = 0, 0
    for m, mesh in enumerate(_list(doc, "meshes")):
        prims = mesh.get("primitives", []) if isinstance(mesh, dict) else []
        for p, prim in enumerate(prims if isinstance(prims, list) else []):
            ptr = f"/meshes/{m}/primitives/{p}"
            if not isinstance(prim, dict):
                report.error("PRIMITIVE_INVALID", "a primitive that is not an object", ptr)
                continue
            draw_calls += 1
            attrs = prim.get("attributes", {})
            for name, a in (attrs.items() if isinstance(attrs, dict) else []):
                if _int(a) is None or not 0 <= a < len(counts):
                    report.error("ATTRIBUTE_ACCESSOR", f"attribute {name} refers to accessor "
                                 f"{a}, which does not exist", ptr)
            idx = _int(prim.get("indices"))
            pos = _int(attrs.get("POSITION")) if isinstance(attrs, dict) else None
            n = counts[idx] if idx is not None and 0 <= idx < len(counts) else (
                counts[pos] if pos is not None and 0 <= pos < len(counts) else 0)
            if prim.get("mode", 4) == 4:
                triangles += n // 3
    report.facts.update(triangles=triangles, draw_calls=draw_calls)
    if triangles > limits.max_triangles:
        report.error("TOO_MANY_TRIANGLES", f"{triangles:,} triangles; we accept at most "
                     f"{limits.max_triangles:,}")
    if draw_calls > limits.max_draw_calls:
        report.error("TOO_MANY_DRAW_CALLS", f"{draw_calls:,} primitives (draw calls); we accept "
                     f"at most {limits.max_draw_calls:,}")

    _check_nodes(doc, report, limits)

    for i, image in enumerate(_list(doc, "images")):
        ptr = f"/images/{i}"
        if not isinstance(image, dict):
            report.error("IMAGE_INVALID", "an image that is not an object", ptr)
            continue
        if "uri" in image:
            uri = image["uri"]
            check_uri(uri, ptr + "/uri", report, allow_relative=allow_relative_uris)
            data = data_uri_bytes(uri, 64 * 1024 * 1024) if isinstance(uri, str) else None
            if data is not None and image_type(data[:16]) is None:
                report.error("IMAGE_NOT_AN_IMAGE", "the texture's data is not a PNG, JPEG, "
                             "WebP or KTX2 image", ptr)
            continue
        v = _int(image.get("bufferView"))
        if v is None or not 0 <= v < len(view_ok) or view_ok[v] is None:
            report.error("IMAGE_VIEW", "an image without a valid bufferView or uri", ptr)
            continue
        b, off, _ = view_ok[v]  # type: ignore[misc]
        glb_data = b == 0 and bin_length is not None and "uri" not in buffers[0]
        if glb_data and image_type(peek(off, 16)) is None:
            report.error("IMAGE_NOT_AN_IMAGE", "the texture's data is not a PNG, JPEG, WebP "
                         "or KTX2 image", ptr)


def check_required_extensions(doc: dict[str, Any], report: Report) -> None:
    """Refuse a model that requires a glTF extension we cannot read (an input, not our files)."""
    required = doc.get("extensionsRequired", [])
    if not isinstance(required, list):
        report.error("EXTENSIONS_INVALID", "extensionsRequired is not a list",
                     "/extensionsRequired")
        return
    for i, name in enumerate(required):
        if name not in READABLE_REQUIRED:
            report.error("UNSUPPORTED_EXTENSION", f"the model requires the glTF extension "
                         f"{str(name)[:100]!r}, which we cannot read: export it without it "
                         f"(we read {', '.join(READABLE_REQUIRED)})", f"/extensionsRequired/{i}")


def _check_nodes(doc: dict[str, Any], report: Report, limits: Limits) -> None:
    nodes = _list(doc, "nodes")
    if len(nodes) > limits.max_nodes:
        report.error("TOO_MANY_NODES", f"{len(nodes):,} nodes; we accept at most "
                     f"{limits.max_nodes:,}")
        return
    parent: dict[int, int] = {}
    for i, node in enumerate(nodes):
        children = node.get("children", []) if isinstance(node, dict) else []
        for c in children if isinstance(children, list) else []:
            if _int(c) is None or not 0 <= c < len(nodes):
                report.error("NODE_CHILD", f"child {c} does not exist", f"/nodes/{i}/children")
                return
            if c in parent or c == i:
                report.error("NODE_PARENTS", f"node {c} has more than one parent or is its own "
                             "child (a cycle)", f"/nodes/{i}/children")
                return
            parent[c] = i
    # Depth without recursion: walk up from each node, remembering depths found.
    depth: dict[int, int] = {}
    for start in range(len(nodes)):
        chain: list[int] = []
        n: int | None = start
        while n is not None and n not in depth:
            chain.append(n)
            if len(chain) > len(nodes):
                report.error("NODE_CYCLE", "the node tree has a cycle", f"/nodes/{start}")
                return
            n = parent.get(n)
        d = depth[n] if n is not None else 0
        for node in reversed(chain):
            d += 1
            depth[node] = d
        if depth[start] > limits.max_depth:
            report.error("NODE_TOO_DEEP", f"nodes are nested {depth[start]:,} deep; we accept "
                         f"at most {limits.max_depth}", f"/nodes/{start}")
            return


def write_glb(out: IO[bytes], doc: dict[str, Any], parts: list[bytes]) -> int:
    """Write a GLB whose binary chunk is ``parts`` concatenated; returns the bytes written."""
    body = json.dumps(doc, separators=(",", ":")).encode()
    body += b" " * (-len(body) % 4)
    bin_len = sum(len(p) for p in parts)
    pad = -bin_len % 4
    total = HEADER.size + CHUNK.size + len(body) + ((CHUNK.size + bin_len + pad) if parts else 0)
    out.write(HEADER.pack(MAGIC, 2, total))
    out.write(CHUNK.pack(len(body), JSON_CHUNK))
    out.write(body)
    if parts:
        out.write(CHUNK.pack(bin_len + pad, BIN_CHUNK))
        for p in parts:
            out.write(p)
        out.write(b"\0" * pad)
    return total
