"""OBJ, STL and PLY checked at upload: a 422 problem+json whose reason a catalog editor
understands, leaving neither a blob nor an asset; real files other tools wrote are accepted.

The files are the Open Asset Import Library's test corpus (Debian's assimp-testmodels:
Meshlab's point cloud, a spider exported as OBJ and as ASCII and binary STL, 3ds Max's STL;
PLY from Blender 2.47 and 2.77, VCGLIB and a scanner's point cloud), and broken variants made
by cutting them short, dropping their vertices or making their headers lie.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from homeloop.settings import Settings
from tests.ar_assets.conftest import stored_blobs, upload

Conn = psycopg.Connection[tuple[Any, ...]]
CORPUS = Path("/usr/share/assimp/models")


def _read(name: str) -> Callable[[], bytes]:
    return lambda: (CORPUS / name).read_bytes()


def _first_vertices(name: str, keep: int) -> Callable[[], bytes]:
    """The OBJ with only its first ``keep`` vertex lines: its faces name vertices it lacks."""
    def make() -> bytes:
        lines, seen = [], 0
        for line in (CORPUS / name).read_bytes().splitlines(keepends=True):
            if line.startswith(b"v "):
                seen += 1
                if seen > keep:
                    continue
            lines.append(line)
        return b"".join(lines)
    return make


def _cut(name: str, keep: int) -> Callable[[], bytes]:
    return lambda: (CORPUS / name).read_bytes()[:keep]


def _header_says(name: str, line: bytes, lie: bytes) -> Callable[[], bytes]:
    """The PLY with one header line changed."""
    return lambda: (CORPUS / name).read_bytes().replace(line, lie, 1)


def _cube_face(last: bytes) -> Callable[[], bytes]:
    """The ASCII cube with its last face replaced."""
    return lambda: (CORPUS / "PLY/cube.ply").read_bytes().replace(b"4 3 7 4 0\n", last)


CASES = [
    ("Meshlab point cloud", _read("OBJ/point_cloud.obj"), "cloud.obj", "OBJ_NO_FACES",
     "the OBJ file has no faces"),
    ("OBJ faces past its vertices", _first_vertices("OBJ/spider.obj", 300), "spider.obj",
     "OBJ_BAD_INDEX", "but the file has 300 vertices"),
    ("binary STL cut short", _cut("STL/Spider_binary.stl", 84 + 50 * 12), "spider.stl",
     "STL_COUNT_MISMATCH", "binary STL says 1,368 triangles but holds 12"),
    ("ASCII STL cut short", _cut("STL/Spider_ascii.stl", 100_000), "spider.stl",
     "STL_TRUNCATED", "cut short after triangle 484"),
    ("ASCII STL cut in a triangle", _cut("STL/Spider_ascii.stl", 100_100), "spider.stl",
     "STL_TRUNCATED", "cut short inside triangle 485"),
    ("a JPEG named .obj", _read("OBJ/SpiderTex.jpg"), "chair.obj", "NOT_A_MESH_FILE",
     "the file is not an OBJ, STL or PLY: it is a JPEG image"),
    ("a JPEG named .stl", _read("OBJ/SpiderTex.jpg"), "chair.stl", "NOT_A_MESH_FILE",
     "the file is not an OBJ, STL or PLY: it is a JPEG image"),
    ("UTF-16 OBJ", _read("OBJ/box_UTF16BE.obj"), "box.obj", "NOT_A_MESH_FILE", "UTF-16"),
    ("PLY point cloud", _read("PLY/pond.0.ply"), "pond.ply", "PLY_NO_FACES",
     "the PLY file has no faces: its 70,051 vertices are only a point cloud"),
    ("PLY point cloud with colours", _read("PLY/points.ply"), "points.ply", "PLY_NO_FACES",
     "its 4 vertices are only a point cloud"),
    ("ASCII PLY cut short", _cut("PLY/Wuson.ply", 600_000), "wuson.ply", "PLY_TRUNCATED",
     "the PLY header says 11,184 vertices but the file ends after 7,932"),
    ("binary PLY cut short", _cut("PLY/cube_binary.ply", 427), "cube.ply", "PLY_TRUNCATED",
     "the PLY header says 12 faces but the file ends after 10"),
    ("binary PLY header says more faces", _header_says(
        "PLY/cube_binary.ply", b"element face 12", b"element face 20"), "cube.ply",
     "PLY_TRUNCATED", "the PLY header says 20 faces but the file ends after 12"),
    ("binary PLY header says fewer faces", _header_says(
        "PLY/cube_binary.ply", b"element face 12", b"element face 10"), "cube.ply",
     "PLY_COUNT_MISMATCH", "goes on for 26 bytes after the 8 vertices and 10 faces its header "
     "says"),
    ("ASCII PLY header says fewer faces", _header_says(
        "PLY/Wuson.ply", b"element face 3732", b"element face 3000"), "wuson.ply",
     "PLY_COUNT_MISMATCH", "goes on after the 11,184 vertices and 3,000 faces its header says"),
    ("PLY in an unknown format", _header_says(
        "PLY/cube.ply", b"format ascii 1.0", b"format binary_middle_endian 1.0"), "cube.ply",
     "PLY_UNKNOWN_FORMAT", "the PLY file is in a format we do not read: "
     "'format binary_middle_endian 1.0'"),
    ("PLY face past its vertices", _cube_face(b"4 3 7 4 9\n"), "cube.ply", "PLY_BAD_INDEX",
     "face 6 refers to vertex 9 but the file has 8 vertices (PLY counts them from 0)"),
    ("PLY face of two corners", _cube_face(b"2 3 7\n"), "cube.ply", "PLY_BAD_FACE",
     "face 6 of the PLY file has 2 corners; a face needs at least 3"),
    ("a JPEG named .ply", _read("OBJ/SpiderTex.jpg"), "chair.ply", "WRONG_MAGIC",
     "the file is named .ply but does not start with 'ply'"),
]


@pytest.mark.parametrize(("make", "filename", "code", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_broken_obj_or_stl_is_refused_at_upload_with_a_reason_and_leaves_nothing(
        client: TestClient, settings: Settings, db: Conn, make: Callable[[], bytes],
        filename: str, code: str, words: str) -> None:
    data = make()
    before = stored_blobs(settings)

    resp = upload(client, settings, data, filename)

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    [issue] = resp.json()["report"]["issues"]
    assert issue["code"] == code
    assert words in issue["message"], issue
    assert stored_blobs(settings) <= before - {hashlib.sha256(data).hexdigest()}
    assert db.execute("SELECT count(*) FROM assets").fetchone() == (0,)


def test_the_obj_names_the_face_and_the_vertex(client: TestClient, settings: Settings,
                                               db: Conn) -> None:
    obj = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2 9\n"
    resp = upload(client, settings, obj, "tri.obj")
    assert resp.status_code == 422
    [issue] = resp.json()["report"]["issues"]
    assert issue["message"] == "face 2 (line 5) refers to vertex 9 but the file has 3 vertices"


@pytest.mark.parametrize("name", ["STL/Spider_ascii.stl", "STL/Spider_binary.stl",
                                  "STL/3DSMaxExport.STL", "STL/triangle_with_two_solids.stl",
                                  "OBJ/spider.obj", "OBJ/WusonOBJ.obj",
                                  "OBJ/concave_polygon.obj", "OBJ/testmixed.obj",
                                  "PLY/Wuson.ply", "PLY/cube.ply", "PLY/cube_binary.ply",
                                  "PLY/cube_uv.ply", "PLY/float-color.ply"])
def test_real_obj_stl_and_ply_files_are_accepted(client: TestClient, settings: Settings,
                                             db: Conn, name: str) -> None:
    resp = upload(client, settings, (CORPUS / name).read_bytes(), Path(name).name)
    assert resp.status_code == 202, resp.text
