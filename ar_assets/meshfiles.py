"""OBJ, STL and PLY files checked at upload, with reasons a catalog editor understands.

trimesh reads these files in the worker, and its messages ("list index out of range") say
nothing to the person who sent the file. So the API checks them first, in the request,
streamed: a line at a time (at most :data:`MAX_LINE` bytes each) for OBJ and ASCII STL, the
header, the length and the corners in chunks for binary STL. Memory stays small whatever
the size, and the time is one pass over the file (bounded by the upload limit).

- OBJ: at least one face; every face has 3 corners or more, each a vertex number that
  exists ("face 12 refers to vertex 900 but the file has 300 vertices"; negative numbers
  count back from the face, as the format says); coordinates are finite numbers.
- STL, binary: the triangle count in the header matches the file's length ("binary STL
  says 1,000 triangles but holds 12"); corners are finite numbers.
- STL, ASCII: ``facet`` / ``outer loop`` / three ``vertex`` lines / ``endloop`` /
  ``endfacet``, numbers finite, ending with ``endsolid`` (not cut short).
- PLY (ASCII, binary little and big endian, version 1.0; another format is named and
  refused): the header's element counts match the body, neither cut short ("the PLY header
  says 3,732 faces but the file ends after 1,200") nor longer; vertices have x, y and z,
  finite; faces are lists of 3 or more vertex numbers that exist (PLY counts from 0); a
  point cloud (no face element, or none) is refused as one. Binary bodies are read in chunks
  of :data:`PLY_CHUNK_BYTES`, faces of one corner count a chunk at a time with numpy.
- Any: at least one triangle, at most the glTF limit of triangles; a file of another
  kind (an image, a PDF, UTF-16 text) is "not an OBJ, STL or PLY".

Every refusal raises :class:`~ar_assets.sources.Rejected` with a report.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from ar_assets.gltf import LIMITS, Limits
from ar_assets.sources import reject

__all__ = ["MAX_LINE", "check_mesh_file"]

MAX_LINE = 64 * 1024
STL_HEADER = 84
STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)),
                       ("attributes", "<u2")])
CHUNK_RECORDS = 100_000  # 5 MB of binary STL at a time
# Other files sent by mistake, named from their first bytes.
OTHER_KINDS = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
               (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"),
               (b"PK\x03\x04", "a zip archive"), (b"glTF", "a GLB model"),
               (b"Kaydara FBX", "an FBX model"), (b"\x7fELF", "a program"),
               (b"RIFF", "a RIFF file (WebP, WAV or AVI)"), (b"ply", "a PLY model"),
               (b"\xfe\xff", "UTF-16 text"), (b"\xff\xfe", "UTF-16 text"))


def check_mesh_file(path: Path, fmt: str, limits: Limits = LIMITS) -> None:
    """Refuse an OBJ, STL or PLY upload that the worker could not turn into a model."""
    with path.open("rb") as f:
        head = f.read(4096)
    _other_kind(head, fmt)
    if fmt == "obj":
        _check_obj(path, head, limits)
    elif fmt == "stl":
        _check_stl(path, head, limits)
    elif fmt == "ply":
        _check_ply(path, limits)


def _not_a_mesh(fmt: str, why: str) -> Exception:
    return reject("NOT_A_MESH_FILE", f"the file is not an OBJ, STL or PLY: {why}; export the "
                  f"model again as {fmt.upper()} (or send GLB or a zipped glTF)")


def _other_kind(head: bytes, fmt: str) -> None:
    for magic, kind in OTHER_KINDS:
        if head.startswith(magic) and not (fmt == "ply" and magic == b"ply"):
            if kind == "UTF-16 text":
                raise _not_a_mesh(fmt, "it is saved as UTF-16 text, which OBJ and STL readers "
                                  "do not read; save it as UTF-8 or ASCII")
            raise _not_a_mesh(fmt, f"it is {kind}")


def _read_lines(f: IO[bytes], fmt: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) pairs, each at most MAX_LINE bytes."""
    number = 0
    while True:
        line = f.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE:
            raise reject(f"{fmt.upper()}_LINE_TOO_LONG", f"line {number:,} of the "
                         f"{fmt.upper()} file is over {MAX_LINE // 1024} KB long: the file is "
                         "damaged or not a text model file")
        yield number, line


def _number(token: bytes) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def _check_obj(path: Path, head: bytes, limits: Limits) -> None:
    if b"\0" in head:
        raise _not_a_mesh("obj", "it holds binary data, not the text lines of an OBJ file")
    vertices = faces = triangles = 0
    highest = (0, 0, 0)  # (vertex number, face, line) of the highest vertex a face names
    with path.open("rb") as f:
        for line_no, line in _read_lines(f, "obj"):
            parts = line.split()
            if not parts:
                continue
            key = parts[0]
            if key == b"v":
                coords = [_number(t) for t in parts[1:4]]
                if len(coords) < 3 or any(c is None for c in coords):
                    raise reject("OBJ_BAD_VERTEX", f"vertex {vertices + 1:,} (line {line_no:,}) "
                                 "does not have three numbers for its position: "
                                 f"{_shown(line)}")
                if not all(math.isfinite(c) for c in coords if c is not None):
                    raise reject("OBJ_NOT_FINITE", f"vertex {vertices + 1:,} (line "
                                 f"{line_no:,}) has a position that is not a finite number: "
                                 f"{_shown(line)}")
                vertices += 1
            elif key == b"f":
                faces += 1
                corners = parts[1:]
                if len(corners) < 3:
                    raise reject("OBJ_BAD_FACE", f"face {faces:,} (line {line_no:,}) has "
                                 f"{len(corners)} corner{'s' if len(corners) != 1 else ''}; a "
                                 "face needs at least 3")
                for corner in corners:
                    try:
                        index = int(corner.split(b"/", 1)[0])
                    except ValueError:
                        raise reject("OBJ_BAD_FACE", f"face {faces:,} (line {line_no:,}) has "
                                     f"a corner that is not a vertex number: {_shown(corner)}"
                                     ) from None
                    if index == 0:
                        raise reject("OBJ_BAD_INDEX", f"face {faces:,} (line {line_no:,}) "
                                     "refers to vertex 0, but OBJ counts vertices from 1")
                    if index < 0 and vertices + index < 0:
                        raise reject("OBJ_BAD_INDEX", f"face {faces:,} (line {line_no:,}) "
                                     f"refers to vertex {index} ({-index:,} back), but only "
                                     f"{vertices:,} vertices come before it")
                    if index > highest[0]:
                        highest = (index, faces, line_no)
                triangles += len(corners) - 2
                if triangles > limits.max_triangles:
                    raise reject("TOO_MANY_TRIANGLES", f"the OBJ file has over "
                                 f"{limits.max_triangles:,} triangles; we accept at most "
                                 f"{limits.max_triangles:,}")
    if vertices == 0 and faces == 0:
        raise _not_a_mesh("obj", "it has no vertex ('v') or face ('f') lines")
    if faces == 0:
        raise reject("OBJ_NO_FACES", f"the OBJ file has no faces: its {vertices:,} vertices "
                     "are only points (or lines), with no surface to show")
    index, face, line_no = highest
    if index > vertices:
        raise reject("OBJ_BAD_INDEX", f"face {face:,} (line {line_no:,}) refers to vertex "
                     f"{index:,} but the file has {vertices:,} vertices")


def _shown(text: bytes) -> str:
    shown = text.strip()[:80].decode("utf-8", "replace")
    return repr(shown)


def _ascii_stl(head: bytes, size: int) -> bool:
    if not head.lstrip().startswith(b"solid") or b"\0" in head:
        return False
    if size >= STL_HEADER:  # a binary STL whose 80-byte header begins with "solid"
        (count,) = struct.unpack_from("<I", head, 80)
        if size == STL_HEADER + 50 * count:
            return False
    return True


def _check_stl(path: Path, head: bytes, limits: Limits) -> None:
    size = path.stat().st_size
    if _ascii_stl(head, size):
        _check_ascii_stl(path, limits)
    else:
        _check_binary_stl(path, head, size, limits)


def _check_binary_stl(path: Path, head: bytes, size: int, limits: Limits) -> None:
    if size < STL_HEADER:
        raise reject("STL_TRUNCATED", f"the binary STL file is cut short: {size} bytes, less "
                     f"than its {STL_HEADER}-byte header")
    (count,) = struct.unpack_from("<I", head, 80)
    holds, extra = divmod(size - STL_HEADER, 50)
    if count != holds or extra:
        more = f" and {extra} bytes more" if extra else ""
        raise reject("STL_COUNT_MISMATCH", f"the binary STL says {count:,} triangles but holds "
                     f"{holds:,}{more}: the file is cut short or damaged; export it again")
    if count == 0:
        raise reject("STL_NO_TRIANGLES", "the STL file has no triangles")
    if count > limits.max_triangles:
        raise reject("TOO_MANY_TRIANGLES", f"the STL file has {count:,} triangles; we accept "
                     f"at most {limits.max_triangles:,}")
    records = np.memmap(path, dtype=STL_RECORD, mode="r", offset=STL_HEADER, shape=(count,))
    try:
        for start in range(0, count, CHUNK_RECORDS):
            corners = np.asarray(records["corners"][start:start + CHUNK_RECORDS])
            bad = ~np.isfinite(corners).reshape(len(corners), -1).all(axis=1)
            if bad.any():
                raise reject("STL_NOT_FINITE", f"triangle {start + int(np.argmax(bad)) + 1:,} "
                             "of the STL file has a corner that is not a finite number")
    finally:
        del records


def _check_ascii_stl(path: Path, limits: Limits) -> None:
    facets = 0
    state = "solid"  # where we are: solid (between facets), facet, loop
    corners = 0
    line_no = 0
    ended = False  # the last solid was closed ('endsolid')
    with path.open("rb") as f:
        for line_no, line in _read_lines(f, "stl"):
            parts = line.split()
            if not parts:
                continue
            key = parts[0].lower()
            expected = {"solid": (b"facet", b"endsolid", b"solid"), "facet": (b"outer",),
                        "loop": (b"vertex", b"endloop"), "endloop": (b"endfacet",)}[state]
            if key not in expected:
                what = {"solid": "a new triangle ('facet normal ...')",
                        "facet": "'outer loop'", "loop": "a corner ('vertex x y z')",
                        "endloop": "'endfacet'"}[state]
                raise reject("STL_DAMAGED", f"the STL file is damaged at line {line_no:,}: "
                             f"{_shown(line)} where {what} should be")
            ended = key == b"endsolid"
            if key == b"facet":
                facets += 1
                state, corners = "facet", 0
                if facets > limits.max_triangles:
                    raise reject("TOO_MANY_TRIANGLES", f"the STL file has over "
                                 f"{limits.max_triangles:,} triangles; we accept at most "
                                 f"{limits.max_triangles:,}")
            elif key == b"outer":
                state = "loop"
            elif key == b"vertex":
                coords = [_number(t) for t in parts[1:4]]
                if len(coords) < 3 or any(c is None for c in coords):
                    raise reject("STL_DAMAGED", f"triangle {facets:,} of the STL file (line "
                                 f"{line_no:,}) has a corner without three numbers: "
                                 f"{_shown(line)}")
                if not all(math.isfinite(c) for c in coords if c is not None):
                    raise reject("STL_NOT_FINITE", f"triangle {facets:,} of the STL file has "
                                 f"a corner that is not a finite number (line {line_no:,})")
                corners += 1
            elif key == b"endloop":
                if corners != 3:
                    raise reject("STL_DAMAGED", f"triangle {facets:,} of the STL file (line "
                                 f"{line_no:,}) has {corners} corners; a triangle has 3")
                state = "endloop"
            elif key == b"endfacet":
                state = "solid"
    if state != "solid":
        raise reject("STL_TRUNCATED", f"the STL file is cut short inside triangle {facets:,} "
                     f"(it ends at line {line_no:,}); export it again")
    if facets and not ended:
        raise reject("STL_TRUNCATED", f"the STL file is cut short after triangle {facets:,}: "
                     "it does not end with 'endsolid'; export it again")
    if facets == 0:
        raise reject("STL_NO_TRIANGLES", "the STL file has no triangles")


# --- PLY ------------------------------------------------------------------------------------
# The header says which elements follow, how many of each and their properties; the body
# holds them in that order, as text lines or binary records. Checked: the header's counts
# against the body (neither fewer nor more), finite vertex positions, faces of 3 corners or
# more whose vertex numbers (counted from 0) exist, at least one face.

PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2",
             "int16": "i2", "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4",
             "uint": "u4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
             "float64": "f8"}
PLY_FORMATS = {"ascii": "", "binary_little_endian": "<", "binary_big_endian": ">"}
PLY_FACE_LISTS = (b"vertex_indices", b"vertex_index")
PLY_CHUNK_BYTES = 4 * 1024 * 1024


class _PlyProperty:
    __slots__ = ("count_type", "name", "type")

    def __init__(self, name: str, type_: str, count_type: str | None) -> None:
        self.name, self.type, self.count_type = name, type_, count_type


class _PlyElement:
    __slots__ = ("count", "name", "properties")

    def __init__(self, name: str, count: int) -> None:
        self.name, self.count = name, count
        self.properties: list[_PlyProperty] = []

    def fixed_dtype(self, order: str) -> np.dtype[Any] | None:
        """The record of an element without list properties, or None."""
        if any(p.count_type for p in self.properties):
            return None
        return np.dtype([(f"p{i}", order + p.type) for i, p in enumerate(self.properties)])


def _ply_header(f: IO[bytes]) -> tuple[str, list[_PlyElement]]:
    """(format, elements) from the header; ``f`` is left at the first byte of the body."""
    fmt: str | None = None
    elements: list[_PlyElement] = []
    for line_no, line in _read_lines(f, "ply"):
        if line_no > 10_000:
            break
        parts = line.split()
        if line_no == 1:
            if line.rstrip(b"\r\n") != b"ply":
                raise _not_a_mesh("ply", "it does not start with the line 'ply'")
            continue
        if not parts or parts[0] in (b"comment", b"obj_info"):
            continue
        key = parts[0]
        if key == b"end_header":
            if fmt is None:
                raise reject("PLY_BAD_HEADER", "the PLY header has no 'format' line")
            return fmt, elements
        if key == b"format":
            name = parts[1].decode("ascii", "replace") if len(parts) > 1 else ""
            version = parts[2] if len(parts) > 2 else b""
            if name not in PLY_FORMATS or version not in (b"1.0", b"1"):
                raise reject("PLY_UNKNOWN_FORMAT", f"the PLY file is in a format we do not "
                             f"read: {_shown(line)}; we read 'ascii 1.0', "
                             "'binary_little_endian 1.0' and 'binary_big_endian 1.0'")
            fmt = name
        elif key == b"element":
            count = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None
            if count is None:
                raise reject("PLY_BAD_HEADER", f"line {line_no:,} of the PLY header does not "
                             f"say an element and its count: {_shown(line)}")
            elements.append(_PlyElement(parts[1].decode("utf-8", "replace"), count))
        elif key == b"property":
            if not elements:
                raise reject("PLY_BAD_HEADER", f"line {line_no:,} of the PLY header gives a "
                             "property before any element")
            types = [PLY_TYPES.get(t.decode("ascii", "replace")) for t in parts[1:-1]]
            if len(parts) == 3 and types[0]:
                prop = _PlyProperty(parts[2].decode("utf-8", "replace"), types[0], None)
            elif (len(parts) == 5 and parts[1] == b"list" and types[1] and types[2]
                  and types[1][0] in "iu"):
                prop = _PlyProperty(parts[4].decode("utf-8", "replace"), types[2], types[1])
            else:
                raise reject("PLY_BAD_HEADER", f"line {line_no:,} of the PLY header has a "
                             f"property we cannot read: {_shown(line)}")
            elements[-1].properties.append(prop)
        # Other lines are ignored, as readers do: old Blender wrote a bare
        # "Created by Blender3D 247 ..." where a comment belongs.
    raise reject("PLY_BAD_HEADER", "the PLY header does not end ('end_header' is missing): "
                 "the file is damaged or cut short")


def _check_ply(path: Path, limits: Limits) -> None:
    with path.open("rb") as f:
        fmt, elements = _ply_header(f)
        vertex = next((e for e in elements if e.name == "vertex"), None)
        if vertex is None or not {"x", "y", "z"} <= {p.name for p in vertex.properties}:
            raise reject("PLY_NO_VERTICES", "the PLY file has no vertices with x, y and z")
        face = next((e for e in elements if e.name == "face"), None)
        if face is None or face.count == 0:
            raise reject("PLY_NO_FACES", f"the PLY file has no faces: its {vertex.count:,} "
                         "vertices are only a point cloud, with no surface to show")
        if not any(p.count_type and p.name.encode() in PLY_FACE_LISTS
                   for p in face.properties):
            raise reject("PLY_NO_FACES", "the PLY file's faces have no 'vertex_indices' list")
        if face.count > limits.max_triangles:
            raise reject("TOO_MANY_TRIANGLES", f"the PLY file has {face.count:,} faces; we "
                         f"accept at most {limits.max_triangles:,} triangles")
        check = _PlyText(f, vertex.count, limits) if fmt == "ascii" else \
            _PlyBinary(f, PLY_FORMATS[fmt], vertex.count, limits)
        for element in elements:
            check.element(element)
        check.end(elements)


def _plural(name: str, count: int) -> str:
    return f"{count:,} {name}{'' if count == 1 or name.endswith('s') else 's'}"


def _numbers(count: int) -> str:
    return _plural("number", count)


def _counts(elements: list[_PlyElement]) -> str:
    return " and ".join(_plural(e.name.replace("vertex", "vertice"), e.count)
                        for e in elements)


def _ply_short(element: _PlyElement, got: int) -> Exception:
    name = element.name.replace("vertex", "vertice")
    return reject("PLY_TRUNCATED", f"the PLY header says {_plural(name, element.count)} but "
                  f"the file ends after {got:,}: it is cut short or the header's count is "
                  "wrong; export it again")


def _ply_index_error(face: int, index: int, vertices: int) -> Exception:
    return reject("PLY_BAD_INDEX", f"face {face:,} refers to vertex {index:,} but the file "
                  f"has {vertices:,} vertices (PLY counts them from 0)")


class _PlyText:
    def __init__(self, f: IO[bytes], vertices: int, limits: Limits) -> None:
        self.lines = _read_lines(f, "ply")
        self.vertices, self.limits = vertices, limits
        self.triangles = 0

    def element(self, element: _PlyElement) -> None:
        props = element.properties
        scalars = [p.name for p in props if not p.count_type]
        xyz = [i for i, name in enumerate(scalars) if name in ("x", "y", "z")] \
            if element.name == "vertex" else []
        face = element.name == "face"
        for n in range(element.count):
            parts: list[bytes] = []
            line = b""
            for _, line in self.lines:
                parts = line.split()
                if parts:
                    break
            else:
                raise _ply_short(element, n)
            values, at = [], 0
            for prop in props:
                if prop.count_type:
                    count = int(parts[at]) if at < len(parts) and parts[at].isdigit() else -1
                    if count < 0 or at + 1 + count > len(parts):
                        raise reject("PLY_DAMAGED", f"{element.name} {n + 1:,} of the PLY file "
                                     f"has a damaged list: {_shown(b' '.join(parts))}; the "
                                     "file is damaged or its header's counts are wrong")
                    items = parts[at + 1:at + 1 + count]
                    if face and prop.name.encode() in PLY_FACE_LISTS:
                        self.face(n + 1, items)
                    at += 1 + count
                else:
                    values.append(parts[at] if at < len(parts) else b"")
                    at += 1
            if at != len(parts):
                if not line.endswith(b"\n"):  # the file's last line, cut in the middle
                    raise _ply_short(element, n)
                raise reject("PLY_DAMAGED", f"{element.name} {n + 1:,} of the PLY file has "
                             f"{_numbers(len(parts))} where its header says {at}: "
                             f"{_shown(b' '.join(parts))}")
            for i in xyz:
                x = _number(values[i])
                if x is None or not math.isfinite(x):
                    raise reject("PLY_NOT_FINITE", f"vertex {n + 1:,} of the PLY file has a "
                                 f"position that is not a finite number: "
                                 f"{_shown(b' '.join(parts))}")

    def face(self, number: int, items: list[bytes]) -> None:
        if len(items) < 3:
            raise reject("PLY_BAD_FACE", f"face {number:,} of the PLY file has {len(items)} "
                         "corners; a face needs at least 3")
        for item in items:
            try:
                index = int(item)
            except ValueError:
                raise reject("PLY_BAD_FACE", f"face {number:,} of the PLY file has a corner "
                             f"that is not a vertex number: {_shown(item)}") from None
            if not 0 <= index < self.vertices:
                raise _ply_index_error(number, index, self.vertices)
        self.triangles += len(items) - 2
        if self.triangles > self.limits.max_triangles:
            raise reject("TOO_MANY_TRIANGLES", f"the PLY file has over "
                         f"{self.limits.max_triangles:,} triangles; we accept at most "
                         f"{self.limits.max_triangles:,}")

    def end(self, elements: list[_PlyElement]) -> None:
        for line_no, line in self.lines:
            if line.strip():
                raise reject("PLY_COUNT_MISMATCH", "the PLY file goes on after the "
                             f"{_counts(elements)} its header says (line {line_no:,} of its "
                             "data): the header's counts are wrong; export it again")


class _PlyBinary:
    def __init__(self, f: IO[bytes], order: str, vertices: int, limits: Limits) -> None:
        self.f, self.order, self.vertices, self.limits = f, order, vertices, limits
        self.buffer, self.at = b"", 0  # read ahead, at most a chunk; where the next byte is
        self.triangles = 0

    def _take(self, size: int) -> bytes:
        """The next ``size`` bytes; fewer only at the end of the file."""
        if len(self.buffer) - self.at < size:
            parts = [self.buffer[self.at:]]
            have = len(parts[0])
            while have < size:
                more = self.f.read(max(PLY_CHUNK_BYTES, size - have))
                if not more:
                    break
                parts.append(more)
                have += len(more)
            self.buffer, self.at = b"".join(parts), 0
        data = self.buffer[self.at:self.at + size]
        self.at += len(data)
        return data

    def element(self, element: _PlyElement) -> None:
        dtype = element.fixed_dtype(self.order)
        if dtype is not None:
            self._fixed(element, dtype)
        else:
            self._lists(element)

    def _fixed(self, element: _PlyElement, dtype: np.dtype[Any]) -> None:
        per_chunk = max(1, PLY_CHUNK_BYTES // max(dtype.itemsize, 1))
        xyz = [f"p{i}" for i, p in enumerate(element.properties) if p.name in ("x", "y", "z")] \
            if element.name == "vertex" else []
        done = 0
        while done < element.count:
            n = min(per_chunk, element.count - done)
            data = self._take(n * dtype.itemsize)
            got = len(data) // dtype.itemsize
            if xyz and got:
                rows = np.frombuffer(data, dtype=dtype, count=got)
                for name in xyz:
                    bad = ~np.isfinite(rows[name].astype("f8"))
                    if bad.any():
                        raise reject("PLY_NOT_FINITE", f"vertex {done + int(np.argmax(bad)) + 1:,}"
                                     " of the PLY file has a position that is not a finite "
                                     "number")
            if got < n:
                raise _ply_short(element, done + got)
            done += n

    def _lists(self, element: _PlyElement) -> None:
        """Records with lists, one at a time but for the usual face record (only the list,
        every face with the first one's corner count): checked a chunk at a time."""
        order, props = self.order, element.properties
        face = element.name == "face"
        done = 0
        while done < element.count:
            if face and len(props) == 1 and props[0].name.encode() in PLY_FACE_LISTS:
                chunk = self._face_chunk(element, props[0], done)
                if chunk:
                    done += chunk
                    continue
            for prop in props:
                item = np.dtype(order + prop.type)
                if prop.count_type is None:
                    if len(self._take(item.itemsize)) < item.itemsize:
                        raise _ply_short(element, done)
                    continue
                count_type = np.dtype(order + prop.count_type)
                raw = self._take(count_type.itemsize)
                if len(raw) < count_type.itemsize:
                    raise _ply_short(element, done)
                count = int(np.frombuffer(raw, count_type)[0])
                data = self._take(count * item.itemsize) if count > 0 else b""
                if count < 0 or len(data) < count * item.itemsize:
                    raise _ply_short(element, done)
                if face and prop.name.encode() in PLY_FACE_LISTS:
                    self._faces(done, np.frombuffer(data, item).reshape(1, count))
            done += 1

    def _face_chunk(self, element: _PlyElement, prop: _PlyProperty, done: int) -> int:
        """How many faces from ``done`` on were checked at once: those with the corner count
        of the first; 0 when it is under 3 (the one at a time path names the face)."""
        assert prop.count_type is not None
        count_type = np.dtype(self.order + prop.count_type)
        item = np.dtype(self.order + prop.type)
        first = self._take(count_type.itemsize)
        self.at -= len(first)
        if len(first) < count_type.itemsize:
            raise _ply_short(element, done)
        corners = int(np.frombuffer(first, count_type)[0])
        if corners < 3:
            return 0
        record = np.dtype([("n", count_type), ("i", item, (corners,))])
        n = min(element.count - done, max(1, PLY_CHUNK_BYTES // record.itemsize))
        data = self._take(n * record.itemsize)
        rows = np.frombuffer(data, record, count=len(data) // record.itemsize)
        same = rows["n"] == corners
        keep = len(rows) if same.all() else int(np.argmin(same))
        self.at -= len(data) - keep * record.itemsize  # the rest is read again
        if keep:
            self._faces(done, rows["i"][:keep])
        elif len(data) < record.itemsize:
            raise _ply_short(element, done)
        return keep

    def _faces(self, done: int, indices: np.ndarray[Any, Any]) -> None:
        """Faces ``done + 1``… as rows of vertex numbers."""
        if indices.shape[1] < 3:
            raise reject("PLY_BAD_FACE", f"face {done + 1:,} of the PLY file has "
                         f"{indices.shape[1]} corners; a face needs at least 3")
        bad = ((indices < 0) | (indices >= self.vertices)).any(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            wrong = next(int(i) for i in indices[row] if not 0 <= i < self.vertices)
            raise _ply_index_error(done + row + 1, wrong, self.vertices)
        self.triangles += len(indices) * (indices.shape[1] - 2)
        if self.triangles > self.limits.max_triangles:
            raise reject("TOO_MANY_TRIANGLES", f"the PLY file has over "
                         f"{self.limits.max_triangles:,} triangles; we accept at most "
                         f"{self.limits.max_triangles:,}")

    def end(self, elements: list[_PlyElement]) -> None:
        extra = len(self.buffer) - self.at + len(self.f.read(PLY_CHUNK_BYTES))
        if extra:
            raise reject("PLY_COUNT_MISMATCH", f"the PLY file goes on for {extra:,}"
                         f"{' or more' if extra >= PLY_CHUNK_BYTES else ''} bytes after the "
                         f"{_counts(elements)} its header says: the header's counts are "
                         "wrong; export it again")
