"""Compressed and quantized glTF, as suppliers send it and as our own pipeline writes it:
decoded, then processed like any other, with the Khronos verdict on the input kept.

Inputs: gltfpack's ``-cc`` output of a Poly Haven sample (EXT_meshopt_compression with
KHR_mesh_quantization), the Draco-compressed 2CylinderEngine of the Open Asset Import
Library's corpus (Debian's assimp-testmodels; a Khronos sample model, KHR_draco_mesh_compression),
and every profile of every sample model that the pipeline made, uploaded again.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ar_assets.lod import Tools, gltfpack, read_glb
from ar_assets.profiles import PROFILES
from ar_assets.sources import pack_gltf
from ar_assets.validator import validate_glb
from homeloop.settings import Settings
from tests.ar_assets.conftest import SAMPLES, sample_zip
from tests.ar_assets.test_processing import processed, profile_bytes

Conn = psycopg.Connection[tuple[Any, ...]]
DRACO = Path("/usr/share/assimp/models/glTF2/draco/2CylinderEngine.gltf")
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())


def _every_profile_valid(client: TestClient, asset: dict[str, Any]) -> None:
    assert set(asset["profiles"]) == set(PROFILES)
    for name in PROFILES:
        assert validate_glb(profile_bytes(client, asset, name)).errors == 0, name
    assert asset["report"]["within_budget"] == {name: True for name in PROFILES}


def test_a_meshopt_compressed_glb_from_gltfpack_is_decoded_and_processed(
        client: TestClient, settings: Settings, db: Conn, tmp_path: Path) -> None:
    folder = SAMPLES / "sofa_03"
    plain = tmp_path / "sofa.glb"
    pack_gltf(folder / "sofa_03.gltf", folder, plain)
    packed = tmp_path / "sofa_cc.glb"
    gltfpack(Tools(), plain, packed, ratio=1.0, meshopt=True)  # what `gltfpack -cc` writes
    doc, _ = read_glb(packed.read_bytes())
    assert "EXT_meshopt_compression" in doc["extensionsRequired"]

    asset = processed(client, settings, packed.read_bytes(), "sofa_cc.glb")
    reference = processed(client, settings, sample_zip("sofa_03"), "sofa_03.zip")

    assert asset["status"] == "ready", asset["report"]
    assert asset["report"]["input_validator"]["errors"] == 0
    assert asset["report"]["decoded"] == ["EXT_meshopt_compression", "KHR_mesh_quantization"]
    assert asset["triangles"] == reference["triangles"] == 8004
    assert asset["bbox"]["size"] == pytest.approx(reference["bbox"]["size"], abs=2e-3)
    assert asset["report"]["textures"] == reference["report"]["textures"]
    _every_profile_valid(client, asset)


def test_a_draco_compressed_gltf_is_decoded_and_processed(
        client: TestClient, settings: Settings, db: Conn) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path in (DRACO, DRACO.with_suffix(".bin")):
            zf.write(path, f"engine/{path.name}")
    asset = processed(client, settings, out.getvalue(), "engine.zip", unit="mm")

    assert asset["status"] == "ready", asset["report"]
    assert asset["report"]["input_validator"]["errors"] == 0
    assert asset["report"]["decoded"] == ["KHR_draco_mesh_compression"]
    assert asset["triangles"] == asset["report"]["input_validator"]["triangles"] > 60_000
    assert 0.5 < max(asset["bbox"]["size"]) < 1.0  # an engine block about 70 cm long
    _every_profile_valid(client, asset)
    doc, _ = read_glb(profile_bytes(client, asset, "vr"))
    assert "KHR_draco_mesh_compression" not in doc.get("extensionsUsed", [])


def test_broken_meshopt_data_fails_with_a_reason_and_the_validator_verdict(
        client: TestClient, settings: Settings, db: Conn, tmp_path: Path) -> None:
    folder = SAMPLES / "wooden_table_02"
    plain = tmp_path / "table.glb"
    pack_gltf(folder / "wooden_table_02.gltf", folder, plain)
    packed = tmp_path / "table_cc.glb"
    gltfpack(Tools(), plain, packed, ratio=1.0, meshopt=True)
    doc, blob = read_glb(packed.read_bytes())
    ext = next(v["extensions"]["EXT_meshopt_compression"] for v in doc["bufferViews"]
               if "EXT_meshopt_compression" in v.get("extensions", {}))
    data = bytearray(packed.read_bytes())
    start = len(data) - len(blob) + ext.get("byteOffset", 0)
    data[start:start + ext["byteLength"]] = b"\xff" * ext["byteLength"]  # garbage to decode

    asset = processed(client, settings, bytes(data), "table_cc.glb")

    assert asset["status"] == "failed"
    [issue] = [i for i in asset["report"]["issues"] if i["severity"] == "error"]
    assert issue["code"] == "COMPRESSED_DATA_UNREADABLE"
    assert "compressed geometry cannot be decoded" in issue["message"]
    assert asset["report"]["input_validator"]["errors"] == 0  # valid JSON, broken data


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_profile_of_a_sample_uploaded_again_comes_out_the_same(
        client: TestClient, settings: Settings, db: Conn, name: str) -> None:
    first = processed(client, settings, sample_zip(name), f"{name}.zip")
    assert first["status"] == "ready", first["report"]

    for profile in PROFILES:
        again = processed(client, settings, profile_bytes(client, first, profile),
                          f"{name}-{profile}.glb")

        assert again["status"] == "ready", (profile, again["report"])
        assert again["report"]["input_validator"]["errors"] == 0
        assert again["bbox"]["size"] == pytest.approx(first["bbox"]["size"], abs=2e-3)
        assert again["bbox"]["min"][1] == 0.0
        made, remade = first["profiles"][profile], again["profiles"][profile]
        assert remade["triangles"] == made["triangles"], profile
        assert remade["max_texture"] == made["max_texture"], profile
        assert remade["validator_errors"] == 0
        assert again["report"]["within_budget"][profile] is True
