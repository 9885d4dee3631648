"""Broken and hostile uploads are refused at once with a report, and nothing is stored."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ar_assets.lod import read_glb, repack
from ar_assets.sources import pack_gltf
from homeloop.settings import Settings
from tests.ar_assets.conftest import (
    SAMPLES,
    box_glb,
    edit_glb,
    editor,
    sample_zip,
    stored_blobs,
    upload,
)

Conn = psycopg.Connection[tuple[Any, ...]]


def _wrong_magic() -> bytes:
    return b"gltF" + box_glb()[4:]


def _truncated() -> bytes:
    data = box_glb()[:-40]
    return data[:8] + struct.pack("<I", len(data)) + data[12:]  # the header agrees; chunks lie


def _cut_short() -> bytes:
    return box_glb()[:-40]


def _buffer_lies() -> bytes:
    return edit_glb(box_glb(), lambda d: d["buffers"][0].update(byteLength=10_000_000))


def _accessor_outside() -> bytes:
    return edit_glb(box_glb(), lambda d: d["accessors"][0].update(byteOffset=100_000))


def _billion_vertices() -> bytes:
    return edit_glb(box_glb(), lambda d: d["accessors"][0].update(count=1_000_000_000))


def _deep_nesting() -> bytes:
    def nest(doc: dict[str, Any]) -> None:
        n = len(doc["nodes"])
        doc["nodes"] += [{"children": [n + i + 1]} for i in range(10_000)]
        doc["nodes"].append({"mesh": 0})
        doc["scenes"][0]["nodes"] = [n]
    return edit_glb(box_glb(), nest)


def _uri(uri: str) -> Callable[[], bytes]:
    def make() -> bytes:
        return edit_glb(box_glb(), lambda d: d["buffers"].append({"uri": uri, "byteLength": 4}))
    return make


def _texture_not_an_image() -> bytes:
    folder = SAMPLES / "wooden_table_02"
    from pathlib import Path
    from tempfile import TemporaryDirectory
    with TemporaryDirectory() as tmp:
        out = Path(tmp) / "t.glb"
        pack_gltf(next(folder.glob("*.gltf")), folder, out)
        doc, blob = read_glb(out.read_bytes())
    view = doc["images"][0]["bufferView"]
    return repack(doc, blob, {view: b"<html>this is not an image</html>"})


def _zip_slip() -> bytes:
    return sample_zip("wooden_table_02", extra={"../../evil.txt": b"x"})


def _zip_external_uri() -> bytes:
    return sample_zip("wooden_table_02",
                      edit=lambda d: d["images"][0].update(uri="file:///etc/passwd"))


def _zip_http_uri() -> bytes:
    return sample_zip("wooden_table_02",
                      edit=lambda d: d["buffers"][0].update(uri="http://example.com/a.bin"))


def _zip_uri_outside() -> bytes:
    return sample_zip("wooden_table_02",
                      edit=lambda d: d["images"][0].update(uri="../../../etc/hostname"))


def _zip_texture_not_an_image() -> bytes:
    def edit(doc: dict[str, Any]) -> None:
        doc["images"][0]["uri"] = "textures/fake.jpg"
    return sample_zip("wooden_table_02", edit=edit,
                      extra={"wooden_table_02/textures/fake.jpg": b"GIF? no: plain text"})


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model/model.bin", b"\0" * 20_000_000)  # about 20 kB compressed
        zf.writestr("model/model.gltf", b"{}")
    return out.getvalue()


def _not_a_zip() -> bytes:
    return b"PK\x03\x04" + b"\0" * 100


CASES = [
    ("wrong magic", _wrong_magic, "model.glb", "WRONG_MAGIC"),
    ("truncated chunks", _truncated, "model.glb", "GLB_CHUNK_LENGTH"),
    ("cut short", _cut_short, "model.glb", "GLB_LENGTH"),
    ("JSON lengths lie", _buffer_lies, "model.glb", "BUFFER_LENGTH_LIES"),
    ("accessor outside its buffer", _accessor_outside, "model.glb", "ACCESSOR_OUT_OF_BOUNDS"),
    ("a billion vertices", _billion_vertices, "model.glb", "ACCESSOR_TOO_MANY"),
    ("10,000-deep nesting", _deep_nesting, "model.glb", "NODE_TOO_DEEP"),
    ("file:// URI", _uri("file:///etc/passwd"), "model.glb", "URI_EXTERNAL"),
    ("http:// URI", _uri("http://169.254.169.254/latest"), "model.glb", "URI_EXTERNAL"),
    ("texture that is not an image", _texture_not_an_image, "model.glb", "IMAGE_NOT_AN_IMAGE"),
    ("zip with ../ paths", _zip_slip, "model.zip", "ZIP_UNSAFE_PATH"),
    ("zip: file:// URI", _zip_external_uri, "model.zip", "URI_EXTERNAL"),
    ("zip: http:// URI", _zip_http_uri, "model.zip", "URI_EXTERNAL"),
    ("zip: URI outside the upload", _zip_uri_outside, "model.zip", "URI_OUTSIDE"),
    ("zip: texture not an image", _zip_texture_not_an_image, "model.zip",
     "IMAGE_NOT_AN_IMAGE"),
    ("broken zip", _not_a_zip, "model.zip", "ZIP_INVALID"),
    ("zip bomb", _zip_bomb, "model.zip", "ZIP_BOMB"),
]


@pytest.mark.parametrize(("make", "filename", "code"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_bad_upload_is_refused_with_a_report_and_nothing_is_stored(
        client: TestClient, settings: Settings, db: Conn, make: Callable[[], bytes],
        filename: str, code: str) -> None:
    data = make()
    before = stored_blobs(settings)
    resp = upload(client, settings, data, filename)

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert code in [i["code"] for i in body["report"]["issues"]], body
    assert body["report"]["errors"] >= 1 and body["detail"].startswith("the model was refused")
    assert db.execute("SELECT count(*) FROM assets").fetchone() == (0,)
    assert stored_blobs(settings) <= before - {hashlib.sha256(data).hexdigest()}


def test_zip_slip_writes_nothing_outside(client: TestClient, settings: Settings,
                                         db: Conn) -> None:
    target = settings.asset_dir / "evil.txt"
    resp = upload(client, settings, _zip_slip(), "model.zip")
    assert resp.status_code == 422
    assert not target.exists() and not (settings.asset_dir.parent / "evil.txt").exists()


def test_an_upload_over_the_limit_is_413_and_leaves_no_file(settings: Settings,
                                                            db: Conn) -> None:
    small = settings.model_copy(update={"asset_max_upload_bytes": 4096})
    before = set((small.asset_dir / "tmp").glob("*")) if (small.asset_dir / "tmp").exists() \
        else set()
    with TestClient(create_app(small)) as client:
        declared = upload(client, small, b"glTF" + b"\0" * 10_000, "big.glb")

        def chunks() -> Any:  # no Content-Length: refused while it streams
            yield b"glTF"
            for _ in range(20):
                yield b"\0" * 1024
        streamed = client.post("/v1/assets", params={"filename": "big.glb"}, content=chunks(),
                               headers=editor(small))
        form = io.BytesIO()
        with zipfile.ZipFile(form, "w") as zf:
            zf.writestr("a.bin", b"\1" * 10_000)
        multipart = client.post("/v1/assets", headers=editor(small),
                                files={"file": ("m.zip", form.getvalue() * 2)})

    for resp in (declared, streamed, multipart):
        assert resp.status_code == 413, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
    assert set((small.asset_dir / "tmp").glob("*")) == before
    assert db.execute("SELECT count(*) FROM assets").fetchone() == (0,)


def test_only_catalog_editors_upload(client: TestClient, settings: Settings) -> None:
    from tests.api.conftest import auth

    data = box_glb()
    assert client.post("/v1/assets", content=data).status_code == 401
    resp = client.post("/v1/assets", content=data,
                       headers=auth(settings, "staff:ann", role="assistant"))
    assert resp.status_code == 403
    assert client.post("/v1/assets", content=data, headers=auth(settings, 7)).status_code == 403


def test_unknown_format_and_unknown_sku(client: TestClient, settings: Settings) -> None:
    resp = upload(client, settings, b"hello, this is a text file", "notes.txt")
    assert resp.status_code == 422 and "UNKNOWN_FORMAT" in resp.text
    resp = upload(client, settings, box_glb(), "box.glb", sku="NO-SUCH-SKU")
    assert resp.status_code == 404
