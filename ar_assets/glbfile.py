"""GLB files read and written by streaming, carrying only the bytes the JSON references.

The pipeline never holds a model's binary data in memory as a whole: :func:`rewrite` lays
out a new GLB from the byte ranges that buffer views (and meshopt-compressed views) point
at, copied from their files in pieces, plus any views given anew (re-encoded textures);
bytes no view references are never read nor written. :func:`open_glb` reads only a GLB's
JSON; :func:`read_view` one view's bytes; :func:`meshes` the vertex positions and triangles
of a scene from a memory map of the file.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ar_assets.gltf import (
    BIN_CHUNK,
    CHUNK,
    COMPONENT_SIZE,
    HEADER,
    JSON_CHUNK,
    MAGIC,
    TYPE_COUNT,
    read_layout,
)
from ar_assets.report import Report
from homeloop.errors import HomeloopError

MESHOPT = "EXT_meshopt_compression"
COPY_CHUNK = 1 << 20


class GlbError(HomeloopError):
    """A GLB we made or checked already turned out unreadable."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where one buffer's bytes are: a file, and an offset in it."""

    path: Path
    offset: int
    length: int


def open_glb(path: Path) -> tuple[dict[str, Any], Source | None]:
    """A checked GLB's JSON, and where its binary chunk is (None without one)."""
    report = Report()
    with path.open("rb") as f:
        layout = read_layout(f, path.stat().st_size, report)
    if layout is None:
        raise GlbError(f"{path.name} is not a readable GLB: {report.summary()}")
    bin_source = Source(path, layout.bin_offset, layout.bin_length) if layout.bin_offset \
        else None
    return layout.doc, bin_source


def glb_sources(doc: dict[str, Any], bin_source: Source | None) -> list[Source | None]:
    """Each buffer's source in a GLB: buffer 0 is the binary chunk; others have no data
    (a meshopt fallback). A ``data:`` URI must have been turned into a file before."""
    return [bin_source if i == 0 and "uri" not in buf else None
            for i, buf in enumerate(doc.get("buffers", []))]


def read_view(doc: dict[str, Any], sources: list[Source | None], index: int) -> bytes:
    view = doc["bufferViews"][index]
    source = sources[view["buffer"]]
    if source is None:
        raise GlbError(f"bufferView {index} is in a buffer without data")
    with source.path.open("rb") as f:
        f.seek(source.offset + view.get("byteOffset", 0))
        data: bytes = f.read(view["byteLength"])
    return data


@dataclass(slots=True)
class _Piece:
    position: int  # in the new binary chunk
    length: int
    source: Source | None = None
    start: int = 0  # in the source buffer
    data: bytes = b""


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def rewrite(doc: dict[str, Any], sources: list[Source | None], out: Path,
            replace: dict[int, bytes] | None = None) -> int:
    """Write ``doc`` as a GLB at ``out`` with only the bytes its views reference; its size.

    ``sources[b]`` is where buffer ``b``'s bytes are (None: no data, a meshopt fallback
    buffer, kept as it is); ``replace`` gives some views new bytes. Each referenced range
    keeps its offset modulo 4, so every accessor stays aligned. ``doc`` is changed in place.
    """
    replace = replace or {}
    views = doc.get("bufferViews", [])
    buffers = doc.get("buffers", [])
    ranges: dict[int, list[tuple[int, int]]] = {}
    for i, view in enumerate(views):
        if i not in replace and sources[view["buffer"]] is not None:
            off = view.get("byteOffset", 0)
            ranges.setdefault(view["buffer"], []).append((off, off + view["byteLength"]))
        ext = view.get("extensions", {}).get(MESHOPT)
        if ext is not None:
            off = ext.get("byteOffset", 0)
            ranges.setdefault(ext["buffer"], []).append((off, off + ext["byteLength"]))
    pieces: list[_Piece] = []
    starts: dict[int, tuple[list[int], list[_Piece]]] = {}
    position = 0
    for b in sorted(ranges):
        source = sources[b]
        assert source is not None
        found: tuple[list[int], list[_Piece]] = ([], [])
        for start, end in _merged(ranges[b]):
            position += (start % 4 - position % 4) % 4
            piece = _Piece(position, end - start, source, start)
            pieces.append(piece)
            found[0].append(start)
            found[1].append(piece)
            position += end - start
        starts[b] = found

    def moved(b: int, off: int) -> int:
        found_starts, found_pieces = starts[b]
        piece = found_pieces[bisect.bisect_right(found_starts, off) - 1]
        return piece.position + off - piece.start

    fallback: dict[int, int] = {}
    kept: list[dict[str, Any]] = [{}]
    for b, buf in enumerate(buffers):
        if sources[b] is None:
            fallback[b] = len(kept)
            kept.append({k: v for k, v in buf.items() if k != "uri"})
    for i, view in enumerate(views):
        ext = view.get("extensions", {}).get(MESHOPT)
        if ext is not None:
            ext["byteOffset"] = moved(ext["buffer"], ext.get("byteOffset", 0))
            ext["buffer"] = 0
        if i in replace:
            position += -position % 4
            data = replace[i]
            pieces.append(_Piece(position, len(data), data=data))
            view.update(buffer=0, byteOffset=position, byteLength=len(data))
            position += len(data)
        elif view["buffer"] in fallback:
            view["buffer"] = fallback[view["buffer"]]
        else:
            view["byteOffset"] = moved(view["buffer"], view.get("byteOffset", 0))
            view["buffer"] = 0
    if position:
        kept[0] = {"byteLength": position}
        doc["buffers"] = kept
    elif len(kept) > 1:  # no data at all, only fallback buffers: renumber them from 0
        shift = {old: new - 1 for old, new in fallback.items()}
        for view in views:
            view["buffer"] = shift.get(view["buffer"], view["buffer"])
        doc["buffers"] = kept[1:]
    else:
        doc.pop("buffers", None)
    with out.open("wb") as f:
        return _write(f, doc, pieces, position)


def _write(f: IO[bytes], doc: dict[str, Any], pieces: list[_Piece], length: int) -> int:
    body = json.dumps(doc, separators=(",", ":")).encode()
    body += b" " * (-len(body) % 4)
    padded = length + -length % 4
    total = HEADER.size + CHUNK.size + len(body) + ((CHUNK.size + padded) if length else 0)
    f.write(HEADER.pack(MAGIC, 2, total))
    f.write(CHUNK.pack(len(body), JSON_CHUNK))
    f.write(body)
    if not length:
        return total
    f.write(CHUNK.pack(padded, BIN_CHUNK))
    written = 0
    files: dict[Path, IO[bytes]] = {}
    try:
        for piece in pieces:
            f.write(b"\0" * (piece.position - written))
            if piece.source is None:
                f.write(piece.data)
            else:
                src = files.get(piece.source.path)
                if src is None:
                    src = files[piece.source.path] = piece.source.path.open("rb")
                src.seek(piece.source.offset + piece.start)
                left = piece.length
                while left:
                    chunk = src.read(min(COPY_CHUNK, left))
                    if not chunk:
                        raise GlbError(f"{piece.source.path.name} ends before its data")
                    f.write(chunk)
                    left -= len(chunk)
            written = piece.position + piece.length
        f.write(b"\0" * (padded - written))
    finally:
        for src in files.values():
            src.close()
    return total


Array = npt.NDArray[Any]


def _node_matrix(node: dict[str, Any]) -> Array:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T
    t = np.asarray(node.get("translation", [0, 0, 0]), dtype=np.float64)
    x, y, z, w = (float(v) for v in node.get("rotation", [0, 0, 0, 1]))
    s = np.asarray(node.get("scale", [1, 1, 1]), dtype=np.float64)
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    m = np.eye(4)
    m[:3, :3] = r * s
    m[:3, 3] = t
    return m


def _accessor(doc: dict[str, Any], data: memoryview | None, index: int) -> Array:
    """An accessor's elements as an (n, k) array: a view of the mapped file where it can be."""
    acc = doc["accessors"][index]
    dtype = np.dtype({5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4",
                      5126: "<f4"}[acc["componentType"]])
    count, k = acc["count"], TYPE_COUNT[acc["type"]]
    if "bufferView" in acc and data is not None:
        view = doc["bufferViews"][acc["bufferView"]]
        elem = COMPONENT_SIZE[acc["componentType"]] * k
        stride = view.get("byteStride") or elem
        start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        raw = np.frombuffer(data, dtype=np.uint8, count=stride * (count - 1) + elem,
                            offset=start)
        rows = np.lib.stride_tricks.as_strided(raw, shape=(count, elem), strides=(stride, 1))
        out: Array = rows.view(dtype).reshape(count, k) if stride == elem else \
            np.ascontiguousarray(rows).view(dtype).reshape(count, k)
    else:
        out = np.zeros((count, k), dtype=dtype)
    sparse = acc.get("sparse")
    if sparse and data is not None:
        out = np.array(out)
        n = sparse["count"]
        iv, vv = doc["bufferViews"][sparse["indices"]["bufferView"]], \
            doc["bufferViews"][sparse["values"]["bufferView"]]
        idx_dtype = np.dtype({5121: "u1", 5123: "<u2", 5125: "<u4"}[
            sparse["indices"]["componentType"]])
        idx = np.frombuffer(data, idx_dtype, n, iv.get("byteOffset", 0)
                            + sparse["indices"].get("byteOffset", 0))
        values = np.frombuffer(data, dtype, n * k, vv.get("byteOffset", 0)
                               + sparse["values"].get("byteOffset", 0)).reshape(n, k)
        out[idx] = values
    return out


def meshes(path: Path) -> Iterator[tuple[str, Array, Array, Array | None]]:
    """For each mesh primitive placed in the default scene: its name, the node's world
    matrix (4 x 4), its positions (float32 (n, 3), a view of the mapped file) and its
    triangles ((m, 3) indices, or None for points and lines). The GLB must be plain
    (decoded): positions that are not floats raise :class:`GlbError`."""
    doc, bin_source = open_glb(path)
    with path.open("rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if bin_source else None
        try:
            data = memoryview(mapped)[bin_source.offset:bin_source.offset
                                      + bin_source.length] if mapped and bin_source else None
            yield from _walk(doc, data)
            if data is not None:
                data.release()
        finally:
            if mapped is not None:
                # An array may still look at the map: then it closes when collected.
                with contextlib.suppress(BufferError):
                    mapped.close()


def _walk(doc: dict[str, Any], data: memoryview | None) -> Iterator[
        tuple[str, Array, Array, Array | None]]:
    nodes = doc.get("nodes", [])
    scenes = doc.get("scenes", [])
    roots = scenes[doc.get("scene", 0)].get("nodes", []) if scenes else range(len(nodes))
    stack = [(n, np.eye(4)) for n in roots]
    while stack:
        n, parent = stack.pop()
        node = nodes[n]
        world = parent @ _node_matrix(node)
        stack.extend((c, world) for c in node.get("children", []))
        if "mesh" not in node:
            continue
        mesh = doc["meshes"][node["mesh"]]
        for p, prim in enumerate(mesh.get("primitives", [])):
            pos = prim.get("attributes", {}).get("POSITION")
            if pos is None:
                continue
            if doc["accessors"][pos]["componentType"] != 5126:
                raise GlbError("vertex positions that are not floats after decoding")
            positions = _accessor(doc, data, pos)
            faces: Array | None = None
            if prim.get("mode", 4) == 4:
                flat: Array = _accessor(doc, data, prim["indices"]).reshape(-1) \
                    if "indices" in prim else np.arange(len(positions), dtype=np.uint32)
                faces = flat[: len(flat) - len(flat) % 3].reshape(-1, 3)
            yield f"{mesh.get('name', node['mesh'])}[{p}]", world, positions, faces
