"""Design scenes: valid GLB (Khronos validator), real openings, instanced models with extras,
strong ETags and 304."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import trimesh
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from ar_assets.tasks import run_process
from ar_assets.validator import validate_glb
from customers import store as customers
from devtools import layouts
from floorplans import scene, scenes
from floorplans import store as plans
from floorplans.geometry import Product
from floorplans.glb import Document, read_glb
from floorplans.schemas import FloorPlan, Opening, Placement, Room, Wall
from homeloop.errors import OutputInvalid
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.ar_assets.conftest import sample_zip, upload

Db = psycopg.Connection[tuple[Any, ...]]


def test_a_wall_keeps_real_openings() -> None:
    plan = FloorPlan(rooms=[Room(id="r", name="Room", polygon=[(0, 0), (4, 0), (4, 3), (0, 3)])],
                     walls=[Wall(id="w", start=(0, 0), end=(4, 0), thickness=0.2, height=2.5)],
                     openings=[Opening(id="d", wall_id="w", kind="door", offset=1, width=0.9,
                                       height=2.1),
                               Opening(id="win", wall_id="w", kind="window", offset=3,
                                       width=1.2, height=1.2, sill=0.9)])
    [face] = scene.wall_outline(plan.walls[0], plan)
    assert len(face.interiors) == 1  # the window is a hole; the door a notch from the floor
    assert face.area == pytest.approx(4.2 * 2.5 - 0.9 * 2.1 - 1.2 * 1.2)
    [wall] = scene.wall_meshes(plan)
    assert wall.is_watertight and wall.volume == pytest.approx(face.area * 0.2)
    assert wall.bounds[0][1] == pytest.approx(0) and wall.bounds[1][1] == pytest.approx(2.5)


def meshes(doc: dict[str, Any], node: dict[str, Any]) -> set[int]:
    """The meshes a node's tree draws."""
    found = {node["mesh"]} if "mesh" in node else set()
    for child in node.get("children", []):
        found |= meshes(doc, doc["nodes"][child])
    return found


def test_scene_of_a_design(client: TestClient, settings: Settings, db: Db) -> None:
    resp = upload(client, settings, sample_zip("sofa_03"), "sofa_03.zip", sku="SOFA-3-GREY")
    assert resp.status_code == 202, resp.text
    run_process(settings, resp.json()["id"])
    me = customers.create_customer(db, "Lin")
    h = auth(settings, me)
    plan = client.post("/v1/floorplans", headers=h,
                       json=layouts.three_bedroom().model_dump(mode="json")).json()
    placements = [{"id": "sofa-a", "sku": "SOFA-3-GREY", "position": [3.0, 4.4],
                   "rotation": 180},
                  {"id": "sofa-b", "sku": "SOFA-3-GREY", "position": [2.0, 7.0]},
                  {"id": "lamp", "sku": "LAMP-FLOOR", "position": [0.4, 4.5]}]
    design = client.post("/v1/designs", headers=h, json={
        "floor_plan_id": plan["id"], "placements": placements}).json()
    url = f"/v1/designs/{design['id']}/scene.glb"
    sizes = {}
    for profile in ("phone", "planner", "vr"):
        r = client.get(url, params={"profile": profile}, headers=h)
        assert r.status_code == 200 and r.headers["content-type"] == "model/gltf-binary"
        report = validate_glb(r.content)
        assert report.errors == 0, report.messages
        sizes[profile] = len(r.content)
        doc, _ = read_glb(r.content)
        picked = {n["extras"]["placement_id"]: n for n in doc["nodes"] if "extras" in n}
        assert set(picked) == {"sofa-a", "sofa-b", "lamp"}
        assert picked["sofa-a"]["extras"]["sku"] == "SOFA-3-GREY"
        # the sofa's model is stored once: both placements' trees point at the same meshes
        sofa = meshes(doc, picked["sofa-a"])
        assert sofa == meshes(doc, picked["sofa-b"]) != set()
        assert len(doc["meshes"]) == 2 + len(sofa) + 1  # walls, floors, the sofa, a lamp box
        if profile != "vr":
            assert "EXT_meshopt_compression" in doc["extensionsUsed"]  # the AR LOD as made
        tag = r.headers["etag"]
        assert tag.startswith('"') and not tag.startswith("W/")
        again = client.get(url, params={"profile": profile}, headers={**h, "If-None-Match": tag})
        assert again.status_code == 304 and again.headers["etag"] == tag
    assert sizes["phone"] == sizes["planner"] < sizes["vr"]  # a room on a phone: planner LODs
    # a change to the design is a new scene
    r = client.put(f"/v1/designs/{design['id']}", headers={**h, "If-Match": '"v1"'},
                   json={"placements": placements[:1]})
    assert r.status_code == 200
    r2 = client.get(url, params={"profile": "phone"}, headers={**h, "If-None-Match": tag})
    assert r2.status_code == 200
    other = customers.create_customer(db, "Wang")
    assert client.get(url, headers=auth(settings, other)).status_code in (403, 404)


def marked_sofa(doc: dict[str, Any]) -> None:
    """The sofa sample as a supplier marks two colours of its fabric (no extension)."""
    fabric = doc["materials"][0]
    doc["materials"][0] = {**fabric, "name": "fabric colour:grey"}
    doc["materials"].append({**fabric, "name": "fabric colour:beige", "pbrMetallicRoughness": {
        **fabric["pbrMetallicRoughness"], "baseColorFactor": [0.9, 0.8, 0.6, 1.0]}})


def test_a_placements_colour_is_kept_into_its_scene_and_bill_of_materials(
        client: TestClient, settings: Settings, db: Db) -> None:
    resp = upload(client, settings, sample_zip("sofa_03", edit=marked_sofa), "sofa.zip",
                  sku="SOFA-3-GREY")
    run_process(settings, resp.json()["id"])
    product = client.get("/v1/skus/SOFA-3-GREY").json()
    assert [(c["name"], c["zh"], c["en"]) for c in product["model"]["colours"]] == [
        ("grey", "灰色", "grey"), ("beige", "米色", "beige")]
    h = auth(settings, customers.create_customer(db, "Lin"))
    plan = client.post("/v1/floorplans", headers=h,
                       json=layouts.three_bedroom().model_dump(mode="json")).json()
    design = client.post("/v1/designs", headers=h, json={
        "floor_plan_id": plan["id"], "placements": [
            {"id": "grey", "sku": "SOFA-3-GREY", "variant": "grey", "position": [3.0, 4.4]},
            {"id": "beige", "sku": "SOFA-3-GREY", "variant": "beige", "position": [2.0, 7.0]}]})
    assert design.status_code == 201, design.text
    kept = client.get(f"/v1/designs/{design.json()['id']}", headers=h).json()
    assert {p["id"]: p["variant"] for p in kept["placements"]} == {"grey": "grey",
                                                                   "beige": "beige"}

    r = client.get(f"/v1/designs/{kept['id']}/scene.glb", params={"profile": "vr"}, headers=h)
    assert validate_glb(r.content).errors == 0
    doc, _ = read_glb(r.content)
    shown = {}
    for node in doc["nodes"]:
        if "placement_id" in node.get("extras", {}):
            materials = {doc["materials"][prim["material"]]["name"]
                         for m in meshes(doc, node) for prim in doc["meshes"][m]["primitives"]}
            shown[node["extras"]["placement_id"]] = "fabric colour:beige" in materials
    assert shown == {"grey": False, "beige": True}

    bom = client.get(f"/v1/designs/{kept['id']}/bom", headers=h).json()
    assert sorted((line["variant"], line["colour"]["zh"], line["quantity"])
                  for line in bom["lines"]) == [("beige", "米色", 1), ("grey", "灰色", 1)]


def test_unused_scene_files_are_pruned(settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"state_dir": tmp_path})
    old = scenes.cache_path(local, "ab" + "0" * 62)
    fresh = scenes.cache_path(local, "cd" + "1" * 62)
    for path in (old, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"glb")
    month_ago = time.time() - 31 * 86_400
    os.utime(old, (month_ago, month_ago))
    assert scenes.prune(local) == 1
    assert not old.exists() and fresh.exists()


def variant_model(width: float = 1.0) -> bytes:
    """A box with two colour variants (KHR_materials_variants), as suppliers send them."""
    doc = Document()
    grey = doc.material("grey", (0.5, 0.5, 0.5, 1))
    beige = doc.material("beige", (0.9, 0.8, 0.6, 1))
    cube = trimesh.creation.box(extents=(width, 0.8, 0.9))
    mesh = doc.mesh("sofa", np.asarray(cube.vertices), np.asarray(cube.faces), grey)
    doc.gltf["meshes"][mesh]["primitives"][0]["extensions"] = {"KHR_materials_variants": {
        "mappings": [{"material": grey, "variants": [0]}, {"material": beige, "variants": [1]}]}}
    doc.gltf["extensions"] = {"KHR_materials_variants": {
        "variants": [{"name": "grey"}, {"name": "beige"}]}}
    doc.gltf["extensionsUsed"] = ["KHR_materials_variants"]
    doc.node({"name": "sofa", "mesh": mesh})
    return doc.to_bytes()


def test_models_with_colour_variants_merge_valid() -> None:
    plan = layouts.three_bedroom()
    products = {sku: Product(sku, sku, "sofa", 1000, 900, 800) for sku in ("A", "B")}
    placements = [Placement(id="a", sku="A", position=(2, 2)),
                  Placement(id="b", sku="B", position=(5, 2)),
                  Placement(id="a2", sku="A", position=(2, 4))]
    model = variant_model()
    assert validate_glb(model).errors == 0
    built = scene.build(plan, placements, products, {"A": model, "B": variant_model(1.2)})
    report = validate_glb(built.glb)
    assert report.errors == 0, report.messages
    doc, _ = read_glb(built.glb)
    assert [v["name"] for v in doc["extensions"]["KHR_materials_variants"]["variants"]] == [
        "grey", "beige", "grey", "beige"]
    second = doc["meshes"][-1]["primitives"][0]["extensions"]["KHR_materials_variants"]
    assert [m["variants"] for m in second["mappings"]] == [[2], [3]]
    assert doc["materials"][second["mappings"][1]["material"]]["name"] == "beige"


def test_each_placement_shows_its_chosen_colour_in_the_scene() -> None:
    """The scene's own materials are the chosen ones: a viewer that knows nothing of
    KHR_materials_variants (or of our extras) draws a beige sofa beige."""
    plan = layouts.three_bedroom()
    products = {"A": Product("A", "A", "sofa", 1000, 900, 800)}
    placements = [Placement(id="g", sku="A", variant="grey", position=(2, 2)),
                  Placement(id="b", sku="A", variant="beige", position=(5, 2)),
                  Placement(id="b2", sku="A", variant="beige", position=(2, 4)),
                  Placement(id="d", sku="A", position=(5, 4))]
    built = scene.build(plan, placements, products, {"A": variant_model()})
    assert validate_glb(built.glb).errors == 0
    doc, _ = read_glb(built.glb)

    def colour(placement_id: str) -> str:
        [node] = [n for n in doc["nodes"] if n.get("extras", {}).get("placement_id")
                  == placement_id]
        [mesh] = meshes(doc, node)
        return str(doc["materials"][doc["meshes"][mesh]["primitives"][0]["material"]]["name"])

    assert [colour(p) for p in ("g", "b", "b2", "d")] == ["grey", "beige", "beige", "grey"]
    picked = {n["extras"]["placement_id"]: n for n in doc["nodes"] if "extras" in n}
    assert meshes(doc, picked["b"]) == meshes(doc, picked["b2"])  # one beige copy, shared


def test_two_skus_with_the_same_model_file_share_it() -> None:
    plan = layouts.three_bedroom()
    products = {sku: Product(sku, sku, "sofa", 1000, 900, 800) for sku in ("A", "B")}
    placements = [Placement(id="a", sku="A", position=(2, 2)),
                  Placement(id="b", sku="B", position=(5, 2))]
    model = variant_model()
    doc, _ = read_glb(scene.build(plan, placements, products, {"A": model, "B": model}).glb)
    assert len(doc["meshes"]) == 3  # walls, floors and the one model
    picked = {n["extras"]["sku"]: n for n in doc["nodes"] if "extras" in n}
    assert meshes(doc, picked["A"]) == meshes(doc, picked["B"])


def broken_model() -> bytes:
    """A model whose first accessor claims a thousand times the vertices its buffer holds: our
    merge carries it over as it is; the Khronos validator refuses it."""
    doc, binary = read_glb(variant_model())
    doc["accessors"][0]["count"] *= 1000
    return Document(gltf=doc, binary=bytearray(binary)).to_bytes()


def test_an_invalid_scene_is_never_served(client: TestClient, settings: Settings, db: Db,
                                          caplog: pytest.LogCaptureFixture,
                                          tmp_path: Path) -> None:
    """A scene the validator refuses is an error for the operator (logged, counted), and no
    file: nothing is cached, nothing is sent."""
    me = customers.create_customer(db, "Lin")
    h = auth(settings, me)
    plan = client.post("/v1/floorplans", headers=h,
                       json=layouts.three_bedroom().model_dump(mode="json")).json()
    design = client.post("/v1/designs", headers=h, json={
        "floor_plan_id": plan["id"],
        "placements": [{"id": "sofa", "sku": "SOFA-3-GREY", "position": [3.0, 4.4]}]}).json()
    row = plans.get_design(db, design["id"])
    inputs = dataclasses.replace(scenes.gather(db, row, "phone"),
                                 models={"SOFA-3-GREY": "a broken model's hash"})
    local = settings.model_copy(update={"state_dir": tmp_path})  # a scene cache of its own
    before = REGISTRY.get_sample_value("homeloop_scenes_invalid_total") or 0.0
    with pytest.raises(OutputInvalid, match="is not valid glTF"):
        scenes.scene_file(db, local, inputs, source=lambda sku, profile: broken_model())
    assert not scenes.cache_path(local, inputs.key).exists()
    assert REGISTRY.get_sample_value("homeloop_scenes_invalid_total") == before + 1
    [logged] = [r for r in caplog.records if "failed the glTF validator" in r.getMessage()]
    assert logged.levelname == "ERROR" and design["id"] in logged.getMessage()
    # the same design with a sound model is served
    good = scenes.scene_file(db, local, inputs, source=lambda sku, profile: variant_model())
    assert validate_glb(good.read_bytes()).errors == 0
