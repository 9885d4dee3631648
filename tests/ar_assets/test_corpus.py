"""Real files from the Open Asset Import Library's test corpus (Debian's assimp-testmodels):
deliberately broken glTF 2 files are refused with a report, valid ones become ready."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ar_assets.tasks import run_process
from homeloop.settings import Settings
from tests.ar_assets.conftest import upload

Conn = psycopg.Connection[tuple[Any, ...]]
CORPUS = Path("/usr/share/assimp/models/glTF2")


def _zip(gltf: Path) -> bytes:
    """The .gltf with every other non-glTF file of its folder, as a supplier's zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(gltf.parent.iterdir()):
            if path == gltf or path.suffix.lower() not in (".gltf", ".glb"):
                zf.write(path, path.name)
    return out.getvalue()


def _outcome(client: TestClient, settings: Settings, data: bytes, name: str) -> dict[str, Any]:
    resp = upload(client, settings, data, name)
    if resp.status_code == 422:
        return {"status": "refused", "report": resp.json()["report"]}
    assert resp.status_code == 202, resp.text
    run_process(settings, resp.json()["id"])
    body: dict[str, Any] = client.get(resp.json()["status_url"]).json()
    return body


BROKEN = ["IndexOutOfRange/IndexOutOfRange.gltf", "IndexOutOfRange/AllIndicesOutOfRange.gltf",
          "RecursiveNodes/RecursiveNodes.gltf", "MissingBin/BoxTextured.gltf",
          "wrongTypes/badArray.gltf", "wrongTypes/badNumber.gltf", "wrongTypes/badUint.gltf",
          "BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb"]


@pytest.mark.parametrize("name", BROKEN)
def test_broken_corpus_files_are_refused_with_a_report(
        client: TestClient, settings: Settings, db: Conn, name: str) -> None:
    path = CORPUS / name
    data = path.read_bytes() if path.suffix == ".glb" else _zip(path)
    outcome = _outcome(client, settings, data, path.name if path.suffix == ".glb" else "m.zip")

    assert outcome["status"] in ("refused", "failed"), outcome
    assert outcome["report"]["errors"] >= 1
    assert all(i["message"] for i in outcome["report"]["issues"])


@pytest.mark.parametrize("name", ["BoxTextured-glTF-Binary/BoxTextured.glb",
                                  "BoxTextured-glTF/BoxTextured.gltf"])
def test_valid_corpus_files_become_ready(client: TestClient, settings: Settings, db: Conn,
                                         name: str) -> None:
    path = CORPUS / name
    data = path.read_bytes() if path.suffix == ".glb" else _zip(path)
    outcome = _outcome(client, settings, data, path.name if path.suffix == ".glb" else "m.zip")

    assert outcome["status"] == "ready", outcome["report"]
    assert outcome["bbox"]["size"] == pytest.approx([1.0, 1.0, 1.0], abs=1e-3)
