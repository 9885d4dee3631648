"""Only the bytes a model references are read and carried: a small zip whose glTF uses a few
hundred bytes of a 24 MB .bin (or a GLB whose binary chunk is mostly unused) becomes a GLB of
a few kilobytes for the API's checks and the worker (not 24 MB read into memory and handed
to every tool); and however a model is sent, it carries at most what a GLB upload may."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import trimesh
from fastapi.testclient import TestClient

from api.app import create_app
from ar_assets.gltf import write_glb
from ar_assets.lod import read_glb
from ar_assets.sources import Format, to_glb
from homeloop.settings import Settings
from tests.ar_assets.conftest import box_glb, mesh_glb, upload
from tests.ar_assets.test_processing import processed

Conn = psycopg.Connection[tuple[Any, ...]]
FILLER = 24 * 1024 * 1024


def _filler() -> bytes:
    """Bytes that deflate about 40:1 (under the zip's ratio limit): mostly zeros, some noise."""
    data = bytearray(FILLER)
    rng = np.random.default_rng(5)
    positions = rng.integers(0, FILLER, FILLER // 150)
    data_view = np.frombuffer(data, dtype=np.uint8)
    data_view[positions] = rng.integers(1, 255, len(positions), dtype=np.uint8)
    return bytes(data)


def _carried(data: bytes, fmt: Format, tmp: Path) -> int:
    """The size of the GLB that the checks and the worker work from."""
    upload = tmp / "upload"
    upload.write_bytes(data)
    work = tmp / "work"
    work.mkdir()
    return to_glb(upload, fmt, work, 400 * 1024 * 1024).stat().st_size


def test_a_zip_using_a_few_bytes_of_a_large_bin_carries_only_those(
        client: TestClient, settings: Settings, db: Conn, tmp_path: Path) -> None:
    doc, blob = read_glb(box_glb())
    used = len(blob)
    doc["buffers"] = [{"uri": "box.bin", "byteLength": used + FILLER}]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("box/box.gltf", json.dumps(doc))
        zf.writestr("box/box.bin", blob + _filler())
    assert len(out.getvalue()) < FILLER / 20  # about 0.6 MB

    assert _carried(out.getvalue(), "zip", tmp_path) < used + 4096  # not 24 MB
    asset = processed(client, settings, out.getvalue(), "box.zip")
    assert asset["status"] == "ready", asset["report"]
    assert asset["triangles"] == 12


def test_a_glb_whose_binary_chunk_is_mostly_unused_carries_only_what_it_uses(
        client: TestClient, settings: Settings, db: Conn, tmp_path: Path) -> None:
    doc, blob = read_glb(box_glb())
    used = len(blob)
    doc["buffers"] = [{"byteLength": used + FILLER}]
    glb = io.BytesIO()
    write_glb(glb, doc, [blob, _filler()])

    assert _carried(glb.getvalue(), "glb", tmp_path) < used + 4096
    asset = processed(client, settings, glb.getvalue(), "box.glb")
    assert asset["status"] == "ready", asset["report"]


def test_a_zip_whose_model_is_over_the_upload_limit_once_packed_is_refused(
        settings: Settings, db: Conn) -> None:
    n = 128
    i, j = np.meshgrid(np.arange(n), np.arange(n))
    verts = np.stack([i.ravel() * 0.01, np.zeros(n * n), j.ravel() * 0.01], axis=1)
    quads = (i[:-1, :-1] * n + j[:-1, :-1]).ravel()
    faces = np.concatenate([np.stack([quads, quads + 1, quads + n], axis=1),
                            np.stack([quads + 1, quads + n + 1, quads + n], axis=1)])
    doc, blob = read_glb(mesh_glb(trimesh.Trimesh(verts, faces, process=False)))
    doc["buffers"] = [{"uri": "grid.bin", "byteLength": len(blob)}]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("grid/grid.gltf", json.dumps(doc))
        zf.writestr("grid/grid.bin", blob)
    limit = 256 * 1024
    assert len(out.getvalue()) < limit < len(blob)
    small = settings.model_copy(update={"asset_max_upload_bytes": limit})

    with TestClient(create_app(small)) as client:
        resp = upload(client, small, out.getvalue(), "grid.zip")

    assert resp.status_code == 422, resp.text
    [issue] = resp.json()["report"]["issues"]
    assert issue["code"] == "MODEL_TOO_LARGE" and f"{limit:,}" in issue["message"]
