"""Processing an upload: normalised, reduced per profile within budget, every file valid."""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
import pytest
import trimesh
from fastapi.testclient import TestClient

from ar_assets import service
from ar_assets.lod import read_glb, texture_sizes
from ar_assets.profiles import PROFILES
from ar_assets.tasks import run_process
from ar_assets.validator import validate_glb
from homeloop.settings import Settings
from tests.ar_assets.conftest import box_glb, mesh_glb, sample_zip, textured_box_glb, upload

Conn = psycopg.Connection[tuple[Any, ...]]


def processed(client: TestClient, settings: Settings, data: bytes, filename: str,
              **params: str) -> dict[str, Any]:
    """Upload, process in this process (as the worker would), and read the status back."""
    resp = upload(client, settings, data, filename, **params)
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "pending"
    assert resp.headers["location"] == resp.json()["status_url"]
    run_process(settings, resp.json()["id"])
    status = client.get(resp.json()["status_url"])
    assert status.status_code == 200
    body: dict[str, Any] = status.json()
    return body


def profile_bytes(client: TestClient, asset: dict[str, Any], profile: str) -> bytes:
    resp = client.get(asset["profiles"][profile]["url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "model/gltf-binary"
    return resp.content


def test_a_supplier_gltf_zip_becomes_valid_profiles_standing_on_the_floor(
        client: TestClient, settings: Settings, db: Conn, sofa_zip: bytes) -> None:
    asset = processed(client, settings, sofa_zip, "sofa_03.zip", sku="SOFA-3-GREY")

    assert asset["status"] == "ready", asset["report"]
    assert asset["triangles"] == 8004 and asset["sku"] == "SOFA-3-GREY"
    lo, hi = asset["bbox"]["min"], asset["bbox"]["max"]
    assert lo[1] == 0.0  # on the floor
    assert abs(lo[0] + hi[0]) < 1e-3 and abs(lo[2] + hi[2]) < 1e-3  # centred on the footprint
    assert 2.0 < asset["bbox"]["size"][0] < 3.0 and 0.5 < asset["bbox"]["size"][1] < 1.5
    xs = [p[0] for p in asset["footprint"]]
    assert len(asset["footprint"]) >= 4 and min(xs) == pytest.approx(lo[0], abs=1e-3)
    assert set(asset["profiles"]) == {"phone", "planner", "vr"}
    for name, meta in asset["profiles"].items():
        data = profile_bytes(client, asset, name)
        report = validate_glb(data)
        assert report.errors == 0, report.messages
        assert meta["validator_errors"] == 0 and meta["size"] == len(data)
        doc, blob = read_glb(data)
        assert len(doc["materials"]) == 2 and texture_sizes(doc, blob)  # materials, textures
        assert ("EXT_meshopt_compression" in doc.get("extensionsUsed", [])) == \
            PROFILES[name].meshopt
    assert asset["report"]["within_budget"] == {"phone": True, "planner": True, "vr": True}


def test_a_dense_model_is_reduced_to_each_profile_budget(
        client: TestClient, settings: Settings, db: Conn) -> None:
    dense = trimesh.creation.icosphere(subdivisions=7, radius=0.4)  # 327,680 triangles
    asset = processed(client, settings, mesh_glb(dense), "ball.glb")

    assert asset["status"] == "ready" and asset["triangles"] == 327_680
    for name, profile in PROFILES.items():
        meta = asset["profiles"][name]
        assert 0.5 * profile.max_triangles < meta["triangles"] <= profile.max_triangles, name
        if profile.max_bytes is not None:
            assert meta["size"] <= profile.max_bytes
        assert validate_glb(profile_bytes(client, asset, name)).errors == 0


def test_textures_over_the_profile_limit_are_scaled_down(
        client: TestClient, settings: Settings, db: Conn) -> None:
    asset = processed(client, settings, textured_box_glb(3000), "box.glb")

    assert asset["status"] == "ready", asset["report"]
    assert asset["report"]["textures"] == [[3000, 3000]]
    sizes = {}
    for name in PROFILES:
        doc, blob = read_glb(profile_bytes(client, asset, name))
        sizes[name] = max(max(s) for s in texture_sizes(doc, blob))
    assert sizes == {"phone": 2048, "planner": 1024, "vr": 3000}


def test_colour_variants_are_kept_and_listed(client: TestClient, settings: Settings,
                                             db: Conn) -> None:
    def variants(doc: dict[str, Any]) -> None:
        doc.setdefault("extensionsUsed", []).append("KHR_materials_variants")
        doc["extensions"] = {"KHR_materials_variants": {
            "variants": [{"name": "grey"}, {"name": "beige"}]}}
        doc["meshes"][0]["primitives"][0]["extensions"] = {"KHR_materials_variants": {
            "mappings": [{"material": 0, "variants": [0]}, {"material": 1, "variants": [1]}]}}

    data = sample_zip("sofa_03", edit=variants)
    asset = processed(client, settings, data, "sofa.zip")

    assert asset["status"] == "ready", asset["report"]
    assert asset["variants"] == ["grey", "beige"]
    for name in PROFILES:
        doc, _ = read_glb(profile_bytes(client, asset, name))
        kept = doc["extensions"]["KHR_materials_variants"]["variants"]
        assert [v["name"] for v in kept] == ["grey", "beige"]


def test_per_colour_materials_a_supplier_marks_become_variants_in_every_profile(
        client: TestClient, settings: Settings, db: Conn) -> None:
    def marked(doc: dict[str, Any]) -> None:  # no extension: one material per colour, named
        fabric = doc["materials"][0]
        doc["materials"][0] = {**fabric, "name": "fabric colour:grey=灰色"}
        doc["materials"].append({**fabric, "name": "fabric colour:beige=米色",
                                 "pbrMetallicRoughness": {
                                     **fabric["pbrMetallicRoughness"],
                                     "baseColorFactor": [0.9, 0.8, 0.6, 1.0]}})

    asset = processed(client, settings, sample_zip("sofa_03", edit=marked), "sofa.zip")

    assert asset["status"] == "ready", asset["report"]
    assert asset["variants"] == ["grey", "beige"]
    assert [(c["en"], c["zh"]) for c in asset["colours"]] == [("grey", "灰色"),
                                                              ("beige", "米色")]
    for name in PROFILES:
        data = profile_bytes(client, asset, name)
        assert validate_glb(data).errors == 0
        doc, _ = read_glb(data)
        assert [v["name"] for v in doc["extensions"]["KHR_materials_variants"]["variants"]] \
            == ["grey", "beige"]
        [mapped] = [p for m in doc["meshes"] for p in m["primitives"]
                    if "KHR_materials_variants" in p.get("extensions", {})]
        by_variant = {v: m["material"] for m in
                      mapped["extensions"]["KHR_materials_variants"]["mappings"]
                      for v in m["variants"]}
        assert mapped["material"] == by_variant[0]  # grey shows by default
        beige = doc["materials"][by_variant[1]]["pbrMetallicRoughness"]
        assert beige["baseColorFactor"][:3] == pytest.approx([0.9, 0.8, 0.6], abs=0.01), name


def test_a_2000_metre_sofa_asks_for_a_unit_and_the_hint_fixes_it(
        client: TestClient, settings: Settings, db: Conn) -> None:
    in_mm = box_glb((2000.0, 800.0, 900.0))  # a sofa drawn in millimetres
    failed = processed(client, settings, in_mm, "sofa.glb")

    assert failed["status"] == "failed" and failed["profiles"] == {}
    [issue] = [i for i in failed["report"]["issues"] if i["severity"] == "error"]
    assert issue["code"] == "IMPLAUSIBLE_SIZE" and "unit=mm" in issue["message"]

    fixed = processed(client, settings, in_mm, "sofa.glb", unit="mm")
    assert fixed["status"] == "ready"
    assert fixed["bbox"]["size"] == pytest.approx([2.0, 0.8, 0.9], abs=1e-3)


def test_a_z_up_stl_stands_up_and_obj_and_ply_are_accepted(
        client: TestClient, settings: Settings, db: Conn) -> None:
    tall = trimesh.creation.box(extents=(0.4, 0.3, 1.8))  # tall along Z, as CAD draws it
    tall.apply_translation((5.0, 5.0, 2.0))  # anywhere: normalising puts it on the origin
    stl = processed(client, settings, tall.export(file_type="stl"), "lamp.stl")
    assert stl["status"] == "ready", stl["report"]
    assert stl["bbox"]["size"] == pytest.approx([0.4, 1.8, 0.3], abs=1e-3)
    assert stl["bbox"]["min"] == pytest.approx([-0.2, 0.0, -0.15], abs=1e-3)
    corners = sorted((round(x, 3), round(z, 3)) for x, z in stl["footprint"])
    assert corners == [(-0.2, -0.15), (-0.2, 0.15), (0.2, -0.15), (0.2, 0.15)]

    secret = settings.state_dir / "secret.mtl"
    secret.write_text("newmtl leaked\nKd 1 0 0\n")
    obj = f"mtllib {secret}\nmtllib ../secret.mtl\nusemtl leaked\n" + \
        trimesh.creation.box(extents=(0.3, 0.3, 0.3)).export(file_type="obj")
    asset = processed(client, settings, obj.encode(), "crate.obj")
    assert asset["status"] == "ready", asset["report"]
    doc, _ = read_glb(profile_bytes(client, asset, "vr"))
    assert "leaked" not in str(doc.get("materials"))  # the named files were never opened

    for fmt in ("obj", "ply"):
        data = trimesh.creation.cylinder(radius=0.2, height=0.5).export(file_type=fmt)
        asset = processed(client, settings, data.encode() if isinstance(data, str) else data,
                          f"pot.{fmt}", up="y")
        assert asset["status"] == "ready", (fmt, asset["report"])
        assert asset["bbox"]["size"][0] == pytest.approx(0.4, abs=1e-2)


def test_non_finite_positions_fail_with_a_report(client: TestClient, settings: Settings,
                                                 db: Conn) -> None:
    mesh = trimesh.creation.box()
    vertices = np.array(mesh.vertices)
    vertices[0, 0] = np.inf
    broken = trimesh.Trimesh(vertices, mesh.faces, process=False)
    resp = upload(client, settings, mesh_glb(broken), "inf.glb")
    if resp.status_code == 422:  # found by the cheap checks already
        return
    run_process(settings, resp.json()["id"])
    asset = client.get(resp.json()["status_url"]).json()
    assert asset["status"] == "failed"
    assert asset["report"]["errors"] >= 1


def test_lod_for_sku_gives_the_newest_ready_model(client: TestClient, settings: Settings,
                                                  db: Conn) -> None:
    assert service.lod_for_sku(db, settings, "WC-300", "planner") is None
    processed(client, settings, box_glb((0.37, 0.76, 0.66)), "toilet.glb", sku="WC-300")
    newer = processed(client, settings, box_glb((0.38, 0.77, 0.70)), "toilet2.glb",
                      sku="WC-300")

    data = service.lod_for_sku(db, settings, "WC-300", "planner")
    assert data is not None and validate_glb(data).errors == 0
    assert data == profile_bytes(client, newer, "planner")
    with pytest.raises(Exception, match="profile must be one of"):
        service.lod_for_sku(db, settings, "WC-300", "kiosk")


def test_staff_choose_an_older_model_as_the_default(client: TestClient, settings: Settings,
                                                     db: Conn) -> None:
    from tests.ar_assets.conftest import editor

    older = processed(client, settings, box_glb((0.37, 0.76, 0.66)), "old.glb", sku="WC-300")
    newer = processed(client, settings, box_glb((0.38, 0.77, 0.70)), "new.glb", sku="WC-300")
    other = processed(client, settings, box_glb((0.2, 0.3, 0.2)), "cm.glb", sku="CM-100")

    def default() -> str:
        resp = client.get("/v1/skus/WC-300/model", params={"profile": "planner"})
        return str(resp.headers["content-location"])

    def url(asset: dict[str, Any]) -> str:
        return str(asset["profiles"]["planner"]["url"])

    assert default() == url(newer)
    resp = client.put("/v1/skus/WC-300/model", json={"asset_id": older["id"]},
                      headers=editor(settings))
    assert resp.status_code == 200, resp.text
    assert default() == url(older)
    assert client.put("/v1/skus/WC-300/model", json={"asset_id": other["id"]},
                      headers=editor(settings)).status_code == 404
    assert client.put("/v1/skus/WC-300/model", json={"asset_id": older["id"]}
                      ).status_code == 401
    pending = upload(client, settings, box_glb(), "p.glb", sku="WC-300").json()
    assert client.put("/v1/skus/WC-300/model", json={"asset_id": pending["id"]},
                      headers=editor(settings)).status_code == 409
    newest = processed(client, settings, box_glb((0.4, 0.7, 0.7)), "v3.glb", sku="WC-300")
    assert default() == url(newest)  # a newer upload takes over again



def test_degenerate_triangles_are_reported_and_an_all_degenerate_model_fails(
        client: TestClient, settings: Settings, db: Conn) -> None:
    box = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    sliver = np.array([[0, 0, 0]])  # a triangle of three times the same vertex
    some = trimesh.Trimesh(box.vertices, np.vstack([box.faces, sliver, sliver]),
                           process=False)
    asset = processed(client, settings, mesh_glb(some), "box.glb")
    assert asset["status"] == "ready", asset["report"]
    assert asset["report"]["degenerate_triangles"] == 2
    assert "DEGENERATE_TRIANGLES" in [i["code"] for i in asset["report"]["issues"]]

    flat = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]], process=False)
    failed = processed(client, settings, mesh_glb(flat), "line.glb", unit="cm")
    assert failed["status"] == "failed"
    assert "ALL_DEGENERATE" in [i["code"] for i in failed["report"]["issues"]]


def test_a_missing_tool_is_retried_then_the_asset_fails_with_the_error(
        client: TestClient, settings: Settings, db: Conn) -> None:
    from ar_assets.validator import ToolError

    broken = settings.model_copy(update={"asset_gltfpack": "/nonexistent/gltfpack"})
    asset_id = upload(client, settings, box_glb(), "box.glb").json()["id"]
    for _ in range(2):
        with pytest.raises(ToolError, match="gltfpack could not run"):
            run_process(broken, asset_id)
        assert client.get(f"/v1/assets/{asset_id}").json()["status"] == "processing"
    assert run_process(broken, asset_id) == "failed"
    [issue] = client.get(f"/v1/assets/{asset_id}").json()["report"]["issues"]
    assert issue["code"] == "PROCESSING_FAILED" and "gltfpack" in issue["message"]
    assert run_process(settings, asset_id) == "failed"  # finished: left as it is
