"""OBJ and STL files checked at upload, with reasons a catalog editor understands.

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
- Either: at least one triangle, at most the glTF limit of triangles; a file of another
  kind (an image, a PDF, UTF-16 text) is "not an OBJ or STL".

Every refusal raises :class:`~ar_assets.sources.Rejected` with a report.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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
    """Refuse an OBJ or STL upload that the worker could not turn into a model."""
    with path.open("rb") as f:
        head = f.read(4096)
    _other_kind(head, fmt)
    if fmt == "obj":
        _check_obj(path, head, limits)
    elif fmt == "stl":
        _check_stl(path, head, limits)


def _not_a_mesh(fmt: str, why: str) -> Exception:
    return reject("NOT_A_MESH_FILE", f"the file is not an OBJ or STL: {why}; export the "
                  f"model again as {fmt.upper()} (or send GLB or a zipped glTF)")


def _other_kind(head: bytes, fmt: str) -> None:
    for magic, kind in OTHER_KINDS:
        if head.startswith(magic):
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
