"""What the assistant's tablet adds to the API: asking a customer's consent on the spot (they
answer in their app), the customer screen in one audited call, the manager's approval queue."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from customers import store as customers
from floorplans.schemas import FloorPlan
from floorplans.store import insert_plan
from homeloop.settings import Settings
from identity.audit import Actor
from identity.linking import link_identity
from tests.api.conftest import auth
from tests.clienteling.conftest import give_budget


def _stranger(db: Any, settings: Settings) -> int:
    """A customer with a member card and a phone, who has not let any store in."""
    made = customers.create_customer(db, "Zhou", home_store_id="SH-XUHUI")
    link_identity(db, settings, made, "member_card", "C-300000003", proof="test", by=Actor("test"))
    link_identity(db, settings, made, "phone", "13900000003", proof="sms_code", by=Actor("test"))
    return made


def test_a_customer_without_consent_is_asked_and_found_once_they_say_yes(
        client: TestClient, settings: Settings, db: Any, assistant: dict[str, str]) -> None:
    zhou = _stranger(db, settings)
    found = client.post("/v1/staff/customers/lookup", headers=assistant,
                        json={"kind": "member_card", "value": "C-300000003"})
    assert found.status_code == 404
    asked = client.post("/v1/staff/consent-requests", headers=assistant,
                        json={"kind": "member_card", "value": "C-300000003"})
    assert asked.status_code == 202 and asked.json()["customer_id"] is None
    # A number nobody has is asked all the same: the tablet cannot tell the two apart.
    nobody = client.post("/v1/staff/consent-requests", headers=assistant,
                         json={"kind": "phone", "value": "13999999999"})
    assert nobody.status_code == 202 and nobody.json().keys() == asked.json().keys()
    state = f"/v1/staff/consent-requests/{asked.json()['id']}"
    assert client.get(state, headers=assistant).json()["status"] == "pending"

    phone = auth(settings, zhou)
    waiting = client.get("/v1/me/consent-requests", headers=phone).json()
    assert [(w["id"], w["store_id"]) for w in waiting] == [(asked.json()["id"], "SH-XUHUI")]
    other = auth(settings, customers.create_customer(db, "Other"))
    answer = f"/v1/me/consent-requests/{asked.json()['id']}/answer"
    assert client.post(answer, headers=other, json={"granted": True}).status_code == 404
    said = client.post(answer, headers=phone, json={"granted": True})
    assert said.status_code == 200 and said.json()["status"] == "granted"
    assert client.post(answer, headers=phone, json={"granted": False}).status_code == 409

    now = client.get(state, headers=assistant).json()
    assert now["status"] == "granted" and now["customer_id"] == zhou
    by_phone = client.post("/v1/staff/customers/lookup", headers=assistant,
                           json={"kind": "phone", "value": "13900000003"})
    assert by_phone.status_code == 200 and by_phone.json()["customer_id"] == zhou
    # Another store's assistant sees neither the request nor the customer.
    pudong = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    assert client.get(state, headers=pudong).status_code == 403
    assert client.get(f"/v1/staff/customers/{zhou}/overview", headers=pudong).status_code == 403


def test_a_declined_request_lets_nothing_in(
        client: TestClient, settings: Settings, db: Any, assistant: dict[str, str]) -> None:
    zhou = _stranger(db, settings)
    asked = client.post("/v1/staff/consent-requests", headers=assistant,
                        json={"kind": "phone", "value": "13900000003"}).json()
    client.post(f"/v1/me/consent-requests/{asked['id']}/answer", headers=auth(settings, zhou),
                json={"granted": False})
    state = client.get(f"/v1/staff/consent-requests/{asked['id']}", headers=assistant).json()
    assert state["status"] == "declined" and state["customer_id"] is None
    assert client.get(f"/v1/staff/customers/{zhou}/overview",
                      headers=assistant).status_code == 403


def test_the_customer_screen_is_one_call_and_in_the_access_log(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    plan = FloorPlan.model_validate({
        "name": "Flat", "rooms": [{"id": "r1", "name": "Living", "polygon": [
            [0, 0], [5, 0], [5, 4], [0, 4]]}],
        "walls": [{"id": "w1", "start": [0, 0], "end": [5, 0]},
                  {"id": "w2", "start": [5, 0], "end": [5, 4]}]})
    plan_id = insert_plan(db, plan, owner_id=customer, store_id=None, source="json").id
    me = auth(settings, customer)
    assert client.put(f"/v1/staff/customers/{customer}/home", headers=assistant, json={
        "floor_plan_id": plan_id, "home_style": "nordic", "rough_in_mm": 400,
        "budget_cents": 5_000_000}).status_code == 200
    for sku in ("WC-300", "LAMP-TABLE", "WC-300"):
        assert client.post("/v1/me/views", headers=me, json={
            "sku": sku, "store_id": "SH-XUHUI", "session_id": "session-0001"}).status_code == 201
    give_budget(db, "ann", 100_000)
    assert client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": customer, "sku": "WC-300", "amount_cents": 5_000}).status_code == 200
    before = len(client.get("/v1/me/access-log", headers=me).json())

    r = client.get(f"/v1/staff/customers/{customer}/overview", headers=assistant)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["audited"] and body["profile"]["customer_id"] == customer
    assert body["profile"]["home"]["home_style"] == "nordic"
    assert body["plan"]["id"] == plan_id and len(body["plan"]["walls"]) == 2
    # in the order they were last seen, each with how often
    assert [(t["sku"], t["views"]) for t in body["trail"]] == [("LAMP-TABLE", 1), ("WC-300", 2)]
    assert [c["sku"] for c in body["coupons"]] == ["WC-300"]
    assert all(r["availability"] for r in body["recommendations"])
    log = client.get("/v1/me/access-log", headers=me).json()
    assert len(log) == before + 1  # one read, one entry


def test_the_manager_sees_the_queue_and_the_budgets_of_their_store(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    give_budget(db, "ann", 10_000)
    small = client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": customer, "sku": "WC-300", "amount_cents": 8_000}).json()
    big = client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": customer, "sku": "WC-300", "amount_cents": 20_000}).json()
    assert (small["status"], big["status"]) == ("granted", "pending_approval")
    manager = auth(settings, "staff:root", role="store_manager", store="SH-XUHUI")
    queue = client.get("/v1/staff/discounts/pending", headers=manager)
    assert queue.status_code == 200, queue.text
    assert [p["id"] for p in queue.json()["pending"]] == [big["id"]]
    [use] = queue.json()["budgets"]
    assert (use["budget_cents"], use["used_cents"], use["pending_cents"]) == (10_000, 8_000,
                                                                             20_000)
    pudong = auth(settings, "staff:bo", role="store_manager", store="SH-PUDONG")
    assert client.get("/v1/staff/discounts/pending", headers=pudong).json()["pending"] == []
    assert client.get("/v1/staff/discounts/pending", headers=assistant).status_code == 403
    client.post(f"/v1/staff/discounts/{big['id']}/decision", headers=manager,
                json={"approve": True})
    seen = client.get(f"/v1/staff/discounts/{big['id']}", headers=assistant).json()
    assert seen["status"] == "approved"
    assert client.get("/v1/staff/discounts/pending", headers=manager).json()["pending"] == []
