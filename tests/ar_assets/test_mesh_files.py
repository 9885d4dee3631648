"""OBJ and STL checked at upload: a 422 problem+json whose reason a catalog editor
understands, leaving neither a blob nor an asset; real files other tools wrote are accepted.

The files are the Open Asset Import Library's test corpus (Debian's assimp-testmodels:
Meshlab's point cloud, a spider exported as OBJ and as ASCII and binary STL, 3ds Max's STL),
and broken variants made by cutting them short or dropping their vertices.
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
     "the file is not an OBJ or STL: it is a JPEG image"),
    ("a JPEG named .stl", _read("OBJ/SpiderTex.jpg"), "chair.stl", "NOT_A_MESH_FILE",
     "the file is not an OBJ or STL: it is a JPEG image"),
    ("UTF-16 OBJ", _read("OBJ/box_UTF16BE.obj"), "box.obj", "NOT_A_MESH_FILE", "UTF-16"),
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
                                  "OBJ/concave_polygon.obj", "OBJ/testmixed.obj"])
def test_real_obj_and_stl_files_are_accepted(client: TestClient, settings: Settings,
                                             db: Conn, name: str) -> None:
    resp = upload(client, settings, (CORPUS / name).read_bytes(), Path(name).name)
    assert resp.status_code == 202, resp.text
