"""What a kiosk and a store assistant may open of a customer's data, and the audit of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient

from homeloop import clock
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.identity.conftest import make_person

Conn = Any


@pytest.mark.clock
def test_a_kiosk_opens_a_customer_only_after_they_hand_over_and_only_until_it_expires(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    kiosk = auth(settings, "kiosk:entrance", store="SH-XUHUI")
    timeline = f"/v1/products/{li.product_id}/timeline"
    refused = client.get(timeline, headers=kiosk)
    assert refused.status_code == 403 and "hand" in refused.json()["detail"]

    handoff = client.post("/v1/kiosk/handoffs", headers=kiosk).json()
    assert handoff["qr_text"].endswith(handoff["code"])
    claimed = client.post("/v1/me/kiosk-grants", headers=auth(settings, li.id),
                          json={"code": handoff["code"]})
    assert claimed.status_code == 201, claimed.text
    assert client.get(timeline, headers=kiosk).status_code == 200
    assert [g["customer_id"] for g in client.get("/v1/kiosk/grants", headers=kiosk).json()] \
        == [li.id]
    # Single use: the code cannot be claimed again, by anyone.
    wang = make_person(db, settings, "Wang", card="C-999888777", phone="13900002222")
    again = client.post("/v1/me/kiosk-grants", headers=auth(settings, wang.id),
                        json={"code": handoff["code"]})
    assert again.status_code == 409
    # Another kiosk of the same store got nothing.
    other = auth(settings, "kiosk:window", store="SH-XUHUI")
    assert client.get(timeline, headers=other).status_code == 403
    # The grant expires after its 30 minutes.
    with time_machine.travel(clock.now() + timedelta(minutes=29), tick=True):
        assert client.get(timeline, headers=kiosk).status_code == 200
    with time_machine.travel(clock.now() + timedelta(minutes=31), tick=True):
        assert client.get(timeline, headers=kiosk).status_code == 403


@pytest.mark.clock
def test_an_expired_handoff_code_is_refused(client: TestClient, settings: Settings,
                                            db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    kiosk = auth(settings, "kiosk:entrance")
    code = client.post("/v1/kiosk/handoffs", headers=kiosk).json()["code"]
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=True):  # lives 5 minutes
        late = client.post("/v1/me/kiosk-grants", headers=auth(settings, li.id),
                           json={"code": code})
    assert late.status_code == 410 and "expired" in late.json()["detail"]
    unknown = client.post("/v1/me/kiosk-grants", headers=auth(settings, li.id),
                          json={"code": "not-a-code-at-all"})
    assert unknown.status_code == 404


def test_the_customer_ends_a_kiosk_grant_early(client: TestClient, settings: Settings,
                                               db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    kiosk = auth(settings, "kiosk:entrance")
    code = client.post("/v1/kiosk/handoffs", headers=kiosk).json()["code"]
    grant = client.post("/v1/me/kiosk-grants", headers=auth(settings, li.id),
                        json={"code": code}).json()
    ended = client.delete(f"/v1/me/kiosk-grants/{grant['id']}", headers=auth(settings, li.id))
    assert ended.status_code == 204
    assert client.get(f"/v1/products/{li.product_id}/timeline", headers=kiosk).status_code == 403


def test_an_assistant_signs_a_consenting_customer_in_at_their_stores_kiosk(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    xuhui = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    pudong = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    kiosk = auth(settings, "kiosk:entrance", store="SH-XUHUI")
    kiosk_id = db.execute("SELECT id FROM kiosks").fetchone()[0]
    # Li let Xuhui see their profile (make_person), not Pudong.
    assert client.post("/v1/staff/kiosk-grants", headers=pudong,
                       json={"kiosk_id": kiosk_id, "customer_id": li.id}).status_code == 403
    signed = client.post("/v1/staff/kiosk-grants", headers=xuhui,
                         json={"kiosk_id": kiosk_id, "customer_id": li.id})
    assert signed.status_code == 201, signed.text
    assert client.get(f"/v1/products/{li.product_id}/timeline", headers=kiosk).status_code == 200
    # Li withdraws the store's consent: neither the assistant nor the kiosk they signed Li
    # in at reaches Li's data any more.
    client.put("/v1/me/store-consents/SH-XUHUI", headers=auth(settings, li.id),
               json={"granted": False})
    assert client.get(f"/v1/products/{li.product_id}/timeline", headers=kiosk).status_code == 403
    assert client.get(f"/v1/products/{li.product_id}/timeline",
                      headers=xuhui).status_code == 403
    assert client.post("/v1/staff/kiosk-grants", headers=xuhui,
                       json={"kiosk_id": kiosk_id, "customer_id": li.id}).status_code == 403


def test_staff_and_kiosk_access_is_in_the_customers_access_log_with_the_request_id(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    request_id = "0b9f5e1a-7c3d-4e2f-8a1b-6d5c4b3a2f10"
    read = client.get(f"/v1/products/{li.product_id}/timeline", headers={
        **auth(settings, "staff:ann", role="assistant", store="SH-XUHUI"),
        "X-Request-ID": request_id})
    assert read.status_code == 200
    log = client.get("/v1/me/access-log", headers=auth(settings, li.id)).json()
    assert [(e["actor"].split(":")[0], e["role"], e["store_id"], e["request_id"])
            for e in log] == [("staff", "assistant", "SH-XUHUI", request_id)]
    assert log[0]["action"] == f"GET /v1/products/{li.product_id}/timeline"
    # The customer's own reads are not audited; admins can read the log.
    client.get(f"/v1/products/{li.product_id}/timeline", headers=auth(settings, li.id))
    admin_view = client.get(f"/v1/staff/customers/{li.id}/access-log",
                            headers=auth(settings, "staff:root"))
    assert len(admin_view.json()) == 1


def test_refused_attempts_are_in_the_access_log_too(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    pudong = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    refused = client.get(f"/v1/products/{li.product_id}/timeline", headers=pudong)
    assert refused.status_code == 403
    log = client.get("/v1/me/access-log", headers=auth(settings, li.id)).json()
    assert [(e["store_id"], e["action"]) for e in log] == [
        ("SH-PUDONG", f"refused: GET /v1/products/{li.product_id}/timeline")]
    assert log[0]["request_id"] == refused.headers["x-request-id"]


def test_roles_that_do_not_serve_customers_do_not_reach_their_data(
        client: TestClient, settings: Settings, db: Conn) -> None:
    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    for role in ("fleet_operator", "catalog_editor"):
        resp = client.get(f"/v1/products/{li.product_id}/timeline",
                          headers=auth(settings, f"staff:{role}", role=role))
        assert resp.status_code == 403, role


def test_a_kiosk_the_customer_let_in_lists_their_designs(
        client: TestClient, settings: Settings, db: Conn) -> None:
    from devtools import layouts

    li = make_person(db, settings, "Li", card="C-100200300", phone="13800001111")
    plan = client.post("/v1/floorplans", headers=auth(settings, li.id),
                       json=layouts.three_bedroom().model_dump(mode="json")).json()
    design = client.post("/v1/designs", headers=auth(settings, li.id), json={
        "floor_plan_id": plan["id"], "name": "Bedroom", "placements": []}).json()
    kiosk = auth(settings, "kiosk:entrance", store="SH-XUHUI")
    assert client.get(f"/v1/customers/{li.id}/designs", headers=kiosk).status_code == 403
    code = client.post("/v1/kiosk/handoffs", headers=kiosk).json()["code"]
    client.post("/v1/me/kiosk-grants", headers=auth(settings, li.id), json={"code": code})
    listed = client.get(f"/v1/customers/{li.id}/designs", headers=kiosk)
    assert [d["id"] for d in listed.json()] == [design["id"]]
