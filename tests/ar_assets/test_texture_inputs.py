"""Textures as furniture catalogs send them: WebP (EXT_texture_webp) and KTX2 with Basis
Universal (KHR_texture_basisu) are decoded and processed to valid outputs; a model requiring
an extension we cannot read is refused at upload, by name."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from PIL import Image

from ar_assets.lod import read_glb, repack
from ar_assets.profiles import PROFILES
from ar_assets.sources import pack_gltf
from ar_assets.validator import validate_glb
from homeloop.settings import Settings
from tests.ar_assets.conftest import SAMPLES, box_glb, edit_glb, stored_blobs, upload
from tests.ar_assets.test_processing import processed, profile_bytes

Conn = psycopg.Connection[tuple[Any, ...]]
KTX2 = Path(__file__).with_name("data") / "camera_basecolor_etc1s.ktx2"  # 1024 x 1024


def _webp_zip() -> bytes:
    """wooden_table_02 as a supplier exports it with WebP textures only (no fallback)."""
    folder = SAMPLES / "wooden_table_02"
    doc = json.loads((folder / "wooden_table_02.gltf").read_text())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(folder / "wooden_table_02.bin", "table/wooden_table_02.bin")
        for image in doc["images"]:
            webp = io.BytesIO()
            Image.open(folder / image["uri"]).save(webp, "WEBP", quality=80)
            image["uri"] = image["uri"].rsplit(".", 1)[0] + ".webp"
            image["mimeType"] = "image/webp"
            zf.writestr(f"table/{image['uri']}", webp.getvalue())
        for texture in doc["textures"]:
            texture["extensions"] = {"EXT_texture_webp": {"source": texture.pop("source")}}
        doc["extensionsUsed"] = [*doc.get("extensionsUsed", []), "EXT_texture_webp"]
        doc["extensionsRequired"] = [*doc.get("extensionsRequired", []), "EXT_texture_webp"]
        zf.writestr("table/table.gltf", json.dumps(doc))
    return out.getvalue()


def _ktx2_glb(tmp: Path, ktx2: bytes) -> bytes:
    """wooden_table_02 whose base colour texture is a KTX2 (KHR_texture_basisu, required)."""
    folder = SAMPLES / "wooden_table_02"
    pack_gltf(folder / "wooden_table_02.gltf", folder, tmp / "table.glb")
    doc, blob = read_glb((tmp / "table.glb").read_bytes())
    texture = doc["textures"][
        doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    image = doc["images"][texture["source"]]
    image["mimeType"] = "image/ktx2"
    texture["extensions"] = {"KHR_texture_basisu": {"source": texture.pop("source")}}
    doc["extensionsUsed"] = [*doc.get("extensionsUsed", []), "KHR_texture_basisu"]
    doc["extensionsRequired"] = [*doc.get("extensionsRequired", []), "KHR_texture_basisu"]
    return repack(doc, blob, {image["bufferView"]: ktx2})


def _images(data: bytes) -> list[Image.Image]:
    doc, blob = read_glb(data)
    found = []
    for image in doc["images"]:
        view = doc["bufferViews"][image["bufferView"]]
        start = view.get("byteOffset", 0)
        found.append(Image.open(io.BytesIO(blob[start:start + view["byteLength"]])))
    return found


def _valid_everywhere(client: TestClient, asset: dict[str, Any]) -> None:
    assert asset["status"] == "ready", asset["report"]
    assert asset["report"]["input_validator"]["errors"] == 0
    for name in PROFILES:
        data = profile_bytes(client, asset, name)
        report = validate_glb(data)
        assert report.errors == 0, (name, report.messages)  # texcoords kept, images readable
        doc, _ = read_glb(data)
        assert not {"EXT_texture_webp", "KHR_texture_basisu"} & set(doc.get("extensionsUsed", []))
        assert {img.format for img in _images(data)} <= {"JPEG", "PNG"}
        assert asset["profiles"][name]["max_texture"] == 1024


def test_a_webp_textured_gltf_is_decoded_and_processed(client: TestClient, settings: Settings,
                                                       db: Conn) -> None:
    asset = processed(client, settings, _webp_zip(), "table.zip")

    _valid_everywhere(client, asset)
    assert asset["report"]["decoded"] == ["EXT_texture_webp"]
    assert asset["report"]["textures"] == [[1024, 1024]] * 3


def test_a_ktx2_textured_glb_is_transcoded_and_processed(client: TestClient, settings: Settings,
                                                         db: Conn, tmp_path: Path) -> None:
    asset = processed(client, settings, _ktx2_glb(tmp_path, KTX2.read_bytes()), "table.glb")

    _valid_everywhere(client, asset)
    assert asset["report"]["decoded"] == ["KHR_texture_basisu"]
    assert asset["report"]["textures"] == [[1024, 1024]] * 3
    # The transcoded picture is the KTX2's (a dark texture atlas with light parts), not blank.
    pictures = _images(profile_bytes(client, asset, "vr"))
    lows, highs = zip(*(img.convert("L").getextrema() for img in pictures), strict=True)
    assert min(lows) < 40 and max(highs) > 200


def test_a_damaged_ktx2_fails_with_a_reason(client: TestClient, settings: Settings, db: Conn,
                                            tmp_path: Path) -> None:
    ktx2 = KTX2.read_bytes()
    broken = ktx2[:200] + b"\x5a" * (len(ktx2) - 200)  # header kept, data garbage
    asset = processed(client, settings, _ktx2_glb(tmp_path, broken), "table.glb")

    assert asset["status"] == "failed"
    [issue] = [i for i in asset["report"]["issues"] if i["severity"] == "error"]
    assert issue["code"] == "TEXTURE_UNREADABLE" and "KTX2" in issue["message"]
    assert "input_validator" in asset["report"]


def test_a_required_extension_we_cannot_read_is_refused_at_upload_by_name(
        client: TestClient, settings: Settings, db: Conn) -> None:
    def require(doc: dict[str, Any]) -> None:
        doc["extensionsUsed"] = ["KHR_gaussian_splatting"]
        doc["extensionsRequired"] = ["KHR_gaussian_splatting"]
    data = edit_glb(box_glb(), require)
    before = stored_blobs(settings)

    resp = upload(client, settings, data, "splats.glb")

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    [issue] = resp.json()["report"]["issues"]
    assert issue["code"] == "UNSUPPORTED_EXTENSION"
    assert "KHR_gaussian_splatting" in issue["message"]
    assert stored_blobs(settings) <= before - {hashlib.sha256(data).hexdigest()}
