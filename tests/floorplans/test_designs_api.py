"""Plans, layouts, designs with versions, checks, bills of materials and handoffs, over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import time_machine
from fastapi.testclient import TestClient

from customers import store as customers
from devtools import layouts
from floorplans import service
from floorplans import store as plans
from floorplans.schemas import DesignEdit, Placement
from homeloop import clock
from homeloop.errors import PreconditionFailed
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.conftest import in_two_transactions_at_once

CJK = re.compile(r"[\u4e00-\u9fff]")

Db = psycopg.Connection[tuple[Any, ...]]
SOFA = {"id": "sofa", "sku": "SOFA-3-GREY", "position": [3.0, 4.4], "rotation": 180}
LAMP = {"id": "lamp", "sku": "LAMP-FLOOR", "position": [0.4, 4.5]}


def customer(db: Db, home: str | None = "SH-XUHUI", locale: str = "zh-CN") -> int:
    return customers.create_customer(db, "Lin", home_store_id=home, locale=locale)


def upload(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    plan = layouts.three_bedroom().model_dump(mode="json")
    r = client.post("/v1/floorplans", json=plan, headers=headers, params=params)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def new_design(client: TestClient, headers: dict[str, str], plan_id: int,
               placements: list[dict[str, Any]] | None = None) -> tuple[str, str]:
    r = client.post("/v1/designs", headers=headers, json={
        "floor_plan_id": plan_id, "name": "Living room", "placements": placements or [SOFA]})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["ETag"]


def test_plan_import_and_export(client: TestClient, settings: Settings, db: Db) -> None:
    me, other = customer(db), customer(db)
    info = upload(client, auth(settings, me))
    assert info["rooms"] == 6 and info["area_m2"] == 90.0 and info["source"] == "json"
    r = client.get(f"/v1/floorplans/{info['id']}/plan.json", headers=auth(settings, me))
    assert r.status_code == 200 and r.json() == layouts.three_bedroom().model_dump(mode="json")
    assert client.get(f"/v1/floorplans/{info['id']}",
                      headers=auth(settings, other)).status_code in (403, 404)
    bad = layouts.three_bedroom().model_dump(mode="json")
    bad["rooms"][0]["polygon"] = [[0, 0], [4, 4], [4, 0], [0, 4]]
    r = client.post("/v1/floorplans", json=bad, headers=auth(settings, me))
    assert r.status_code == 422
    assert "not a simple polygon" in r.json()["detail"]


def test_versions_etag_412_history_and_undo(client: TestClient, settings: Settings,
                                            db: Db) -> None:
    me = customer(db)
    h = auth(settings, me)
    design, tag = new_design(client, h, upload(client, h)["id"])
    assert tag == '"v1"'
    assert client.get(f"/v1/designs/{design}", headers={**h, "If-None-Match": tag}
                      ).status_code == 304
    edit = {"placements": [SOFA, LAMP]}
    r = client.put(f"/v1/designs/{design}", json=edit, headers=h)
    assert r.status_code == 428
    r = client.put(f"/v1/designs/{design}", json=edit, headers={**h, "If-Match": tag})
    assert r.status_code == 200 and r.headers["ETag"] == '"v2"'
    # a second device still holding v1 loses
    r = client.put(f"/v1/designs/{design}", json={"placements": []},
                   headers={**h, "If-Match": tag})
    assert r.status_code == 412
    assert r.headers["content-type"] == "application/problem+json"
    moved = {**LAMP, "position": [1.0, 4.5]}
    r = client.put(f"/v1/designs/{design}", json={"placements": [SOFA, moved]},
                   headers={**h, "If-Match": '"v2"'})
    assert r.headers["ETag"] == '"v3"'
    r = client.post(f"/v1/designs/{design}/undo", headers={**h, "If-Match": '"v3"'})
    assert r.status_code == 200 and r.json()["version"] == 4
    assert r.json()["placements"][1]["position"] == [0.4, 4.5]  # back to v2
    r = client.post(f"/v1/designs/{design}/undo", headers={**h, "If-Match": '"v4"'})
    assert [p["id"] for p in r.json()["placements"]] == ["sofa"]  # back to v1
    r = client.post(f"/v1/designs/{design}/undo", headers={**h, "If-Match": '"v5"'})
    assert r.status_code == 409
    history = client.get(f"/v1/designs/{design}/history", headers=h).json()
    assert [(v["version"], v["op"]) for v in history] == [
        (5, "undo"), (4, "undo"), (3, "edit"), (2, "edit"), (1, "create")]
    assert history[0]["author"] == f"customer:{me}"


def test_unknown_sku_is_refused(client: TestClient, settings: Settings, db: Db) -> None:
    h = auth(settings, customer(db))
    r = client.post("/v1/designs", headers=h, json={
        "floor_plan_id": upload(client, h)["id"],
        "placements": [{"id": "x", "sku": "NOPE", "position": [1, 1]}]})
    assert r.status_code == 422 and "NOPE" in r.json()["detail"]


def test_concurrent_edits_one_wins(client: TestClient, settings: Settings, db: Db) -> None:
    h = auth(settings, customer(db))
    design_id, _ = new_design(client, h, upload(client, h)["id"])

    def edit(conn: Db) -> str:
        design = plans.get_design(conn, design_id)
        try:
            service.edit_design(conn, design, '"v1"', DesignEdit(placements=[
                Placement(id="lamp", sku="LAMP-FLOOR", position=(0.4, 4.5))]), "test")
        except PreconditionFailed:
            return "412"
        return "ok"

    assert sorted(in_two_transactions_at_once(settings, edit)) == ["412", "ok"]
    assert plans.get_design(db, design_id).version == 2


def test_checks_and_bill_of_materials(client: TestClient, settings: Settings, db: Db) -> None:
    h = auth(settings, customer(db, locale="en"))
    wardrobe = {"id": "wardrobe", "sku": "WARDROBE-150", "position": [2.0, 5.5],
                "rotation": 0}
    placements = [SOFA, wardrobe, LAMP, {**LAMP, "id": "lamp2", "position": [7.5, 4.5]}]
    design, _ = new_design(client, h, upload(client, h)["id"], placements)
    findings = client.get(f"/v1/designs/{design}/checks", headers=h).json()
    delivery = [f for f in findings if f["check"] == "delivery"]
    assert delivery == [{"check": "delivery", "severity": "error",
                         "placement_ids": ["wardrobe"],
                         "message": "The boxed wardrobe (208 × 156 × 86 cm) will not fit "
                                    "through the door from the living room to Bedroom 1, "
                                    "which is 80 cm wide."}]
    bom = client.get(f"/v1/designs/{design}/bom", headers=h).json()
    assert bom["store_id"] == "SH-XUHUI"
    lines = {line["sku"]: line for line in bom["lines"]}
    assert lines["LAMP-FLOOR"]["quantity"] == 2
    assert lines["LAMP-FLOOR"]["total_cents"] == 2 * 49900
    assert bom["total_cents"] == 499900 + 329900 + 2 * 49900
    assert lines["LAMP-FLOOR"]["here"]["on_hand"] == 12
    assert lines["LAMP-FLOOR"]["online"]["store_id"] == "ONLINE"
    nearby = lines["LAMP-FLOOR"]["nearby"]
    # Beijing (about 1,070 km) has lamps too, but beyond the nearby radius (50 km): not nearby
    assert [(s["store_id"], s["days"]) for s in nearby] == [("SH-PUDONG", 2)]
    assert lines["LAMP-FLOOR"]["source"] == {"kind": "here", "store_id": "SH-XUHUI",
                                             "store": "Shanghai Xuhui", "distance_km": 0.0,
                                             "days": 0}
    assert (lines["LAMP-FLOOR"]["name"], bom["total"]) == ("HEKTAR floor lamp", "CN¥9,296.00")
    assert bom["all_at"]["store_id"] == "SH-XUHUI"
    # the corner sofa is out of stock at Xuhui: "here" says so, Pudong has it
    r = client.put(f"/v1/designs/{design}", headers={**h, "If-Match": '"v1"'}, json={
        "placements": [{**SOFA, "sku": "SOFA-CORNER"}]})
    bom = client.get(f"/v1/designs/{design}/bom", headers=h).json()
    [line] = bom["lines"]
    assert r.status_code == 200 and line["here"]["on_hand"] == 0
    assert "SH-PUDONG" in [s["store_id"] for s in line["nearby"]]
    assert (line["source"]["kind"], line["source"]["store_id"]) == ("nearby", "SH-PUDONG")
    assert bom["all_at"]["store_id"] == "SH-PUDONG"


def test_checks_and_bill_of_materials_in_chinese(client: TestClient, settings: Settings,
                                                db: Db) -> None:
    """A customer whose locale is zh-CN reads the checks and the bill in Chinese, whatever
    their browser says: product and store names, amounts as Chinese writes them."""
    h = auth(settings, customer(db))  # zh-CN, the default
    wardrobe = {"id": "wardrobe", "sku": "WARDROBE-150", "position": [2.0, 5.5],
                "rotation": 0}
    design, _ = new_design(client, h, upload(client, h)["id"], [SOFA, wardrobe, LAMP])
    english_browser = {**h, "Accept-Language": "en-US,en;q=0.9"}
    findings = client.get(f"/v1/designs/{design}/checks", headers=english_browser).json()
    delivery = [f["message"] for f in findings if f["check"] == "delivery"]
    assert delivery == ["包装好的衣柜（208 × 156 × 86 厘米）无法通过从客厅到卧室1的门"
                        "（宽 80 厘米）。"]
    assert all(CJK.search(f["message"]) for f in findings) and findings
    bom = client.get(f"/v1/designs/{design}/bom", headers=english_browser).json()
    lamp = next(line for line in bom["lines"] if line["sku"] == "LAMP-FLOOR")
    assert bom["lang"] == "zh-CN" and CJK.search(lamp["name"])
    assert lamp["source"]["store"] == "上海徐汇店"
    assert (lamp["name"], lamp["total"], bom["total"]) == ("HEKTAR 落地灯", "¥499.00", "¥8,797.00")


def test_community_layouts_and_private_copy(client: TestClient, settings: Settings,
                                            db: Db) -> None:
    staff = auth(settings, "staff:ann", role="admin")
    community = client.post("/v1/communities", headers=staff, json={
        "name": "Jade Garden", "city": "Shanghai", "address": "88 Hongqiao Rd"}).json()
    for unit, plan in (("3B", layouts.three_bedroom()), ("2B", layouts.two_bedroom())):
        r = client.post("/v1/communities/layouts", headers=staff, json={
            "community_id": community["id"], "unit_type": unit, "name": plan.name,
            "plan": plan.model_dump(mode="json")})
        assert r.status_code == 201, r.text
    me = customer(db)
    found = client.get("/v1/communities/layouts", params={"q": "jade", "unit_type": "3B"},
                       headers=auth(settings, me)).json()
    assert [(f["community"], f["unit_type"], f["bedrooms"]) for f in found] == [
        ("Jade Garden", "3B", 3)]
    assert client.get("/v1/communities/layouts", params={"q": "nowhere"},
                      headers=auth(settings, me)).json() == []
    r = client.post(f"/v1/communities/layouts/{found[0]['id']}/copy", headers=auth(settings, me))
    assert r.status_code == 201
    copy = r.json()
    assert copy["owner_id"] == me and copy["source"] == "layout"
    # the copy is the customer's own; the shared layout stays as it was
    design, _ = new_design(client, auth(settings, me), copy["id"])
    assert client.get(f"/v1/designs/{design}", headers=auth(settings, me)).status_code == 200
    assert client.get("/v1/me/floorplans", headers=auth(settings, me)).json()[0]["id"] == \
        copy["id"]
    r = client.post("/v1/communities", headers=auth(settings, me), json={
        "name": "Mine", "city": "Shanghai"})
    assert r.status_code == 403


def kiosk_headers(settings: Settings) -> dict[str, str]:
    return auth(settings, "kiosk:1", store=1)


def test_kiosk_design_handed_to_the_phone(client: TestClient, settings: Settings,
                                          db: Db) -> None:
    kiosk = kiosk_headers(settings)
    layout = client.post("/v1/communities", headers=auth(settings, "staff:ann"), json={
        "name": "Jade Garden", "city": "Shanghai"}).json()
    lay = client.post("/v1/communities/layouts", headers=auth(settings, "staff:ann"), json={
        "community_id": layout["id"], "unit_type": "3B", "name": "3B",
        "plan": layouts.three_bedroom().model_dump(mode="json")}).json()
    r = client.post("/v1/designs", headers=kiosk, json={"layout_id": lay["id"],
                                                        "placements": [SOFA]})
    assert r.status_code == 201, r.text
    design = r.json()
    assert design["owner_id"] is None
    me, other = customer(db), customer(db)
    # nobody else can open it while the store holds it: no customer, no other store's kiosk
    assert client.get(f"/v1/designs/{design['id']}",
                      headers=auth(settings, other)).status_code == 404
    assert client.get(f"/v1/designs/{design['id']}",
                      headers=auth(settings, "kiosk:2", store=2)).status_code == 403
    assert client.get(f"/v1/designs/{design['id']}", headers=kiosk).status_code == 200
    r = client.post(f"/v1/designs/{design['id']}/handoff", headers=kiosk)
    assert r.status_code == 201
    code = r.json()["code"]
    assert len(code) == 8 and r.json()["qr_svg"].startswith("<svg")
    # The QR code holds this page's address: a phone's camera opens it without the app.
    page = client.get(f"/v1/handoffs/{code}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'href="homeloop://design-handoff?code={code}"' in page.text
    assert "Open the app" in page.text and "打开应用" in page.text
    assert design["id"] not in page.text and "SOFA" not in page.text  # nothing of the design
    r = client.post(f"/v1/handoffs/{code}/claim", headers=auth(settings, me))
    assert r.status_code == 200 and r.json()["owner_id"] == me
    assert [d["id"] for d in client.get("/v1/me/designs", headers=auth(settings, me)).json()] \
        == [design["id"]]
    assert client.get(f"/v1/designs/{design['id']}", headers=auth(settings, me)).json()[
        "placements"][0]["sku"] == "SOFA-3-GREY"
    plan = client.get(f"/v1/floorplans/{design['floor_plan_id']}", headers=auth(settings, me))
    assert plan.json()["owner_id"] == me
    # single use
    r = client.post(f"/v1/handoffs/{code}/claim", headers=auth(settings, other))
    assert r.status_code == 410 and "already used" in r.json()["detail"]
    used = client.get(f"/v1/handoffs/{code}")
    assert used.status_code == 410 and "already been used" in used.text
    assert client.get("/v1/handoffs/NOSUCH22").status_code == 404
    assert client.post("/v1/handoffs/NOSUCH22/claim",
                       headers=auth(settings, me)).status_code == 404


@pytest.mark.clock
def test_handoff_code_expires(client: TestClient, settings: Settings, db: Db) -> None:
    kiosk = kiosk_headers(settings)
    plan = upload(client, kiosk)
    design, _ = new_design(client, kiosk, plan["id"])
    code = client.post(f"/v1/designs/{design}/handoff", headers=kiosk).json()["code"]
    with time_machine.travel(clock.now() + timedelta(minutes=11), tick=True):  # lives 10
        r = client.post(f"/v1/handoffs/{code}/claim", headers=auth(settings, customer(db)))
        assert r.status_code == 410 and "expired" in r.json()["detail"]
        assert plans.get_design(db, design).owner_id is None
        page = client.get(f"/v1/handoffs/{code}")
        assert page.status_code == 410 and "ask the kiosk for a new one" in page.text


def test_any_store_opens_a_design_with_the_customers_consent(
        client: TestClient, settings: Settings, db: Db) -> None:
    from identity import kiosks

    me = customer(db)
    h = auth(settings, me)
    design, tag = new_design(client, h, upload(client, h)["id"])
    beijing = auth(settings, "kiosk:bj", store="BJ-SIYUAN")
    assert client.get(f"/v1/designs/{design}", headers=beijing).status_code == 403
    # the customer scans the Beijing kiosk's code: a grant for that kiosk
    [(kiosk_id,)] = db.execute("SELECT id FROM kiosks WHERE store_id = 'BJ-SIYUAN'").fetchall()
    code, _ = kiosks.create_handoff(db, settings, kiosk_id)
    kiosks.claim_handoff(db, settings, code, me)
    assert client.get(f"/v1/designs/{design}", headers=beijing).status_code == 200
    r = client.put(f"/v1/designs/{design}", headers={**beijing, "If-Match": tag},
                   json={"placements": [SOFA, LAMP]})
    assert r.status_code == 200
    history = client.get(f"/v1/designs/{design}/history", headers=h).json()
    assert history[0]["author"] == f"kiosk:{kiosk_id}"
    bom = client.get(f"/v1/designs/{design}/bom", headers=beijing).json()
    assert bom["store_id"] == "BJ-SIYUAN"  # stock where the customer stands now


def test_roomplan_upload_keeps_the_export_aside(client: TestClient, settings: Settings,
                                               db: Db) -> None:
    import json

    from tests.floorplans.test_plans import SAMPLE
    if not SAMPLE.exists():
        pytest.skip("the RoomPlan sample is not beside the project")
    export = json.loads(SAMPLE.read_text())
    h = auth(settings, customer(db))
    r = client.post("/v1/floorplans", json=export, headers=h, params={"name": "Dining"})
    assert r.status_code == 201, r.text
    info = r.json()
    assert (info["source"], info["rooms"], info["name"]) == ("roomplan", 1, "Dining")
    assert info["area_m2"] == 23.81
    # a partial scan: two of the room's four sides have no wall
    assert info["notes"] == ["Dining room: 10.5 m of its outline has no wall along it (a side "
                             "the scan did not cover)"]
    [(raw,)] = db.execute("SELECT raw FROM floor_plan_sources WHERE floor_plan_id = %s",
                          (info["id"],)).fetchall()
    assert json.loads(bytes(raw))["coreModel"] == export["coreModel"]
    plan = client.get(f"/v1/floorplans/{info['id']}/plan.json", headers=h).json()
    assert "coreModel" not in plan and len(plan["openings"]) == 4
