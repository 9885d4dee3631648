"""Models to upload: the real samples, generated meshes, and hostile files built byte by byte."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from fastapi.testclient import TestClient
from PIL import Image

from ar_assets.gltf import write_glb
from ar_assets.lod import read_glb
from homeloop.settings import PROJECT_ROOT, Settings
from tests.api.conftest import auth
from tests.api.conftest import client as client

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "models"


def editor(settings: Settings) -> dict[str, str]:
    return auth(settings, "staff:eve", role="catalog_editor")


def sample_zip(name: str, *, extra: dict[str, bytes] | None = None,
               edit: Any = None) -> bytes:
    """A sample's folder as the zip a supplier sends; ``edit`` may change the glTF's JSON."""
    folder = SAMPLES / name
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.suffix == ".gltf" and edit is not None:
                    doc = json.loads(data)
                    edit(doc)
                    data = json.dumps(doc).encode()
                zf.writestr(f"{name}/{path.relative_to(folder).as_posix()}", data)
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
    return out.getvalue()


def mesh_glb(mesh: trimesh.Trimesh | trimesh.Scene) -> bytes:
    data = (mesh if isinstance(mesh, trimesh.Scene) else trimesh.Scene(mesh)).export(
        file_type="glb")
    assert isinstance(data, bytes)
    return data


def box_glb(extents: tuple[float, float, float] = (0.8, 0.4, 0.6)) -> bytes:
    return mesh_glb(trimesh.creation.box(extents=extents))


def textured_box_glb(px: int) -> bytes:
    """A box with one ``px`` x ``px`` texture (a smooth gradient, so the file stays small)."""
    ramp = np.linspace(0, 255, px, dtype=np.uint8)
    u, v = np.meshgrid(ramp, ramp[::-1])
    img = Image.fromarray(np.stack([u, v, np.full((px, px), 90, np.uint8)], axis=-1))
    box = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    uv = np.random.default_rng(1).random((len(box.vertices), 2))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=img)
    return mesh_glb(box)


def edit_glb(data: bytes, edit: Any) -> bytes:
    """The GLB with its JSON changed by ``edit(doc)`` and the binary chunk kept."""
    doc, blob = read_glb(data)
    edit(doc)
    out = io.BytesIO()
    write_glb(out, doc, [blob] if blob else [])
    return out.getvalue()


def upload(client: TestClient, settings: Settings, data: bytes, filename: str,
           **params: str) -> Any:
    return client.post("/v1/assets", params={"filename": filename, **params}, content=data,
                       headers={**editor(settings), "Content-Type": "application/octet-stream"})


@pytest.fixture(scope="session")
def sofa_zip() -> bytes:
    return sample_zip("sofa_03")


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def multipart_upload(client: TestClient, settings: Settings, data: bytes, filename: str,
                     **params: str) -> Any:
    return client.post("/v1/assets", params=params, headers=editor(settings),
                       data={"note": "from the supplier"},
                       files={"model": (filename, data, "application/zip")})


def stored_blobs(settings: Settings) -> set[str]:
    """The blobs in the store (``ab/cd/<sha256>``) and the temporary files being written."""
    root = settings.asset_dir
    return {p.name for p in root.glob("??/??/*")} | {
        "tmp/" + p.name for p in (root / "tmp").glob("*")}
