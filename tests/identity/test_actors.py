"""Who did it, as records name them: always the principal's own actor label (``staff:<id>``,
``kiosk:<id>``, ``customer:<id>``), never one a route builds itself."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from customers import store as customers
from devtools import layouts
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from tests.api.conftest import auth

Conn = Any
SOFA = {"id": "sofa", "sku": "SOFA-3-GREY", "position": [3.0, 4.4], "rotation": 180}


def test_a_design_version_made_by_staff_names_them_once(client: TestClient,
                                                        settings: Settings, db: Conn) -> None:
    me = customers.create_customer(db, "Lin", home_store_id="SH-XUHUI")
    set_store_consent(db, me, "SH-XUHUI", True)
    ann = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    staff_id = db.execute("SELECT id FROM staff_members WHERE username = 'ann'").fetchone()[0]
    plan = client.post("/v1/floorplans", headers=ann, params={"customer_id": me},
                       json=layouts.three_bedroom().model_dump(mode="json"))
    assert plan.status_code == 201, plan.text
    made = client.post("/v1/designs", headers=ann, json={
        "floor_plan_id": plan.json()["id"], "customer_id": me, "placements": [SOFA]})
    assert made.status_code == 201, made.text
    design, tag = made.json()["id"], made.headers["ETag"]
    edited = client.put(f"/v1/designs/{design}", headers={**ann, "If-Match": tag},
                        json={"placements": []})
    assert edited.status_code == 200, edited.text
    undone = client.post(f"/v1/designs/{design}/undo",
                         headers={**ann, "If-Match": edited.headers["ETag"]})
    assert undone.status_code == 200, undone.text
    history = client.get(f"/v1/designs/{design}/history", headers=auth(settings, me)).json()
    assert [(v["op"], v["author"]) for v in history] == [
        ("undo", f"staff:{staff_id}"), ("edit", f"staff:{staff_id}"),
        ("create", f"staff:{staff_id}")]
