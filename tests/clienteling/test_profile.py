"""The customer profile an assistant reads: only with the customer's consent for the store,
every read audited; notes and manual tags; QR views joined on sign-in; the trails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from customers import store as customers
from device_gateway.provisioning import provision
from homeloop import clock
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from tests.api.conftest import auth

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock


def _audited(db: Any, customer: int) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute(
        "SELECT actor, action FROM access_audit WHERE customer_id = %s ORDER BY id", (customer,))]


def _with_history(db: Any, customer: int) -> int:
    """A purifier registered two months ago whose pre-filter is at 15 %, due in 9 days."""
    made = provision(db, "WP-500", 1)[0]
    customers.claim(db, customer, device_id=made.device_id, via="nfc_tap")
    now = clock.now()
    db.execute(
        "INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, rate_per_day, used, "
        "remaining, days_left, confidence, basis, data_days, prior_weight, cycle_start, "
        "computed_at, due_at) VALUES (%s, 'FLT-PP-1', 'consumable', 'flow_l', 10, 1700, 300, "
        "9.2, 0.8, 'usage', 60, 0.1, %s, %s, %s)",
        (made.instance_id, now - timedelta(days=60), now, now + timedelta(days=9.2)))
    return made.instance_id


def test_an_assistant_sees_the_customer_with_consent_and_every_read_is_audited(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    _with_history(db, customer)
    home = client.put(f"/v1/staff/customers/{customer}/home", headers=assistant, json={
        "move_in_date": (clock.now().date() - timedelta(days=30)).isoformat(),
        "rough_in_mm": 300, "home_style": "nordic", "budget_cents": 800_000,
        "age_band": "30-39", "city": "Shanghai"})
    assert home.status_code == 200, home.text
    db.execute("UPDATE customers SET points = 1200 WHERE id = %s", (customer,))
    assert client.post(f"/v1/staff/customers/{customer}/notes", headers=assistant,
                       json={"body": "Wants a quiet dishwasher"}).status_code == 201
    assert client.post(f"/v1/staff/customers/{customer}/tags", headers=assistant,
                       json={"tag": "vip"}).status_code == 204

    r = client.get(f"/v1/staff/customers/{customer}/profile", headers=assistant)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["home"] == {"move_in_date": home.json()["home"]["move_in_date"],
                         "floor_plan_id": None, "rough_in_mm": 300, "home_style": "nordic",
                         "budget_cents": 800_000}
    assert p["demographic"]["age_band"] == "30-39" and p["demographic"]["city"] == "Shanghai"
    assert p["membership"]["points"] == 1200 and p["membership"]["tier"] == "member"
    assert p["products"][0]["state"] == "PP cotton pre-filter, at 15%, due in 9 days"
    assert [n["body"] for n in p["notes"]] == ["Wants a quiet dishwasher"]
    assert [(t["tag"], t["source"]) for t in p["tags"]] == [("vip", "manual")]
    reads = _audited(db, customer)
    assert len(reads) == 4 and all(actor.startswith("staff:") for actor, _ in reads)
    assert reads[-1][1] == f"GET /v1/staff/customers/{customer}/profile"

    # Another store's assistant: refused, and the attempt is audited.
    pudong = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    assert client.get(f"/v1/staff/customers/{customer}/profile",
                      headers=pudong).status_code == 403
    assert _audited(db, customer)[-1][1] == f"refused: GET /v1/staff/customers/{customer}/profile"
    # The customer withdraws the store's consent: refused, nothing read, the attempt audited.
    set_store_consent(db, customer, "SH-XUHUI", False)
    refused = client.get(f"/v1/staff/customers/{customer}/profile", headers=assistant)
    assert refused.status_code == 403 and "name" not in refused.json()
    assert _audited(db, customer)[4:] == [
        ("staff:2", f"refused: GET /v1/staff/customers/{customer}/profile"),
        ("staff:1", f"refused: GET /v1/staff/customers/{customer}/profile")]
    # The customer reads their own: not an access to audit.
    mine = client.get(f"/v1/staff/customers/{customer}/profile", headers=auth(settings, customer))
    assert mine.status_code == 200 and len(_audited(db, customer)) == 6


def test_anonymous_views_join_the_customer_on_sign_in_and_make_the_trails(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    session = "app-session-42"
    for sku in ("SOFA-3-GREY", "SOFA-3-GREY", "LAMP-FLOOR"):
        assert client.post("/v1/views", json={"sku": sku, "store_id": "SH-XUHUI",
                                              "session_id": session}).status_code == 201
    assert client.post("/v1/views", json={"sku": "NOPE", "session_id": session}
                       ).status_code == 404
    # Before sign-in, the store sees nothing of it.
    assert client.get(f"/v1/staff/customers/{customer}/trail", headers=assistant).json() == []
    me = auth(settings, customer)
    joined = client.post("/v1/me/views/join", headers=me, json={"session_id": session})
    assert joined.json() == {"joined": 3}
    assert client.post("/v1/me/views/join", headers=me,
                       json={"session_id": session}).json() == {"joined": 0}

    trail = client.get(f"/v1/staff/customers/{customer}/trail", headers=assistant).json()
    assert [(t["sku"], t["views"]) for t in trail] == [("LAMP-FLOOR", 1), ("SOFA-3-GREY", 2)]
    mine = client.get("/v1/me/store-trail", headers=me).json()
    sofa = next(t for t in mine if t["sku"] == "SOFA-3-GREY")
    similar = [s["sku"] for s in sofa["similar"]]
    assert "SOFA-2-BEIGE" in similar and "SOFA-3-GREY" not in similar
    assert all(s["reason"] for s in sofa["similar"])


def test_an_assistants_qr_binds_the_customer_to_them(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    staff_id = db.execute("SELECT id FROM staff_members WHERE username = 'ann'").fetchone()[0]
    me = auth(settings, customer)
    wrong = client.post("/v1/me/assistant", headers=me,
                        json={"assistant": f"staff:{staff_id}", "store_id": "SH-PUDONG"})
    assert wrong.status_code == 422
    assert client.post("/v1/me/assistant", headers=me, json={
        "assistant": f"staff:{staff_id}", "store_id": "SH-XUHUI"}).status_code == 204
    client.post("/v1/me/views", headers=me, json={"sku": "BED-180", "store_id": "SH-XUHUI",
                                                  "session_id": "app-session-43"})
    day = client.get("/v1/staff/day", headers=assistant).json()
    assert [(c["customer_id"], c["views_today"]) for c in day["customers"]] == [(customer, 1)]
    # Without the store's consent the binding stays, but the customer is not shown.
    set_store_consent(db, customer, "SH-XUHUI", False)
    assert client.get("/v1/staff/day", headers=assistant).json()["customers"] == []


def test_the_assistants_day_gathers_what_is_due_once(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    from clienteling.tasks import run_day_tasks

    _with_history(db, customer)  # a pre-filter due in 9 days: not yet
    assert run_day_tasks(settings) == 0
    db.execute("UPDATE instance_forecasts SET due_at = %s", (clock.now() + timedelta(days=5),))
    assert run_day_tasks(settings) == 1
    assert run_day_tasks(settings) == 0  # once
    tasks = client.get("/v1/staff/day", headers=assistant).json()["tasks"]
    assert [(t["kind"], t["customer_id"]) for t in tasks] == [("maintenance_due", customer)]
    assert tasks[0]["body"].startswith("PP cotton pre-filter due ")
    # Another store's assistant neither sees it nor closes it; done, it leaves the list.
    pudong = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    assert client.get("/v1/staff/day", headers=pudong).json()["tasks"] == []
    assert client.post(f"/v1/staff/tasks/{tasks[0]['id']}/done",
                       headers=pudong).status_code == 403
    assert client.post(f"/v1/staff/tasks/{tasks[0]['id']}/done",
                       headers=assistant).status_code == 204
    assert client.get("/v1/staff/day", headers=assistant).json()["tasks"] == []
    assert run_day_tasks(settings) == 0


def test_the_consumption_and_behaviour_dimensions_come_from_the_history(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    granted = client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": customer, "sku": "SOFA-3-GREY", "amount_cents": 50_000}).json()
    assert granted["status"] == "granted"
    for lines in ([{"sku": "SOFA-3-GREY", "discount_id": granted["id"]}, {"sku": "LAMP-FLOOR"}],
                  [{"sku": "BED-180"}]):
        assert client.post("/v1/staff/orders", headers=assistant, json={
            "customer_id": customer, "lines": lines}).status_code == 201
    client.post("/v1/me/views", headers=auth(settings, customer),
                json={"sku": "WC-300", "store_id": "SH-XUHUI", "session_id": "sess-0042"})
    p = client.get(f"/v1/staff/customers/{customer}/profile", headers=assistant).json()
    c = p["consumption"]
    assert c["orders"] == 2
    assert c["average_order_cents"] == (499_900 - 50_000 + 49_900 + 259_900) / 2
    assert c["categories"] == ["sofa", "bed", "lamp"]
    assert c["colours"] == ["beige", "grey"] and c["materials"] == ["fabric", "oak veneer"]
    assert c["styles"] == ["nordic"] and c["discount_share"] == 0.33
    assert p["behaviour"]["views_30d"] == 1 and p["behaviour"]["viewed"] == ["WC-300"]
    assert p["membership"]["points"] == 200  # the bed: a new category after the first order


def test_searches_and_the_cart_show_in_the_assistants_view_with_consent(
        client: TestClient, settings: Settings, db: Any, customer: int) -> None:
    from identity.privacy import set_purposes

    me = auth(settings, customer)
    assistant = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    client.get("/v1/search", params={"q": "灰色 沙发", "stock": "here",
                                     "store_id": "SH-XUHUI"}, headers=me)
    assert db.execute("SELECT count(*) FROM customer_searches").fetchone() == (0,)  # no consent
    set_purposes(db, customer, {"usage_analytics": True})
    found = client.get("/v1/search", params={"q": "灰色 沙发", "stock": "here",
                                             "store_id": "SH-XUHUI"}, headers=me).json()
    client.get("/v1/search", params={"q": "lamp"})  # anonymous: nobody's
    saved = client.put("/v1/me/cart", headers=me, json={
        "items": [{"sku": "SOFA-3-GREY"}, {"sku": "LAMP-FLOOR", "quantity": 2}],
        "store_id": "SH-XUHUI"})
    assert saved.status_code == 200
    assert [i["quantity"] for i in client.get("/v1/me/cart", headers=me).json()["items"]] \
        == [1, 2]
    behaviour = client.get(f"/v1/staff/customers/{customer}/profile",
                           headers=assistant).json()["behaviour"]
    assert behaviour["searches_30d"] == 1 and behaviour["searched"] == ["灰色 沙发"]
    assert [i["sku"] for i in behaviour["cart"]["items"]] == ["SOFA-3-GREY", "LAMP-FLOOR"]
    assert behaviour["cart"]["abandoned"] is False
    logged = db.execute("SELECT results, filters->>'stock' FROM customer_searches").fetchone()
    assert logged == (found["total"], "here")
    db.execute("UPDATE carts SET updated_at = %s", (clock.now() - timedelta(days=2),))
    later = client.get(f"/v1/staff/customers/{customer}/profile", headers=assistant).json()
    assert later["behaviour"]["cart"]["abandoned"] is True
    bad = client.put("/v1/me/cart", headers=me, json={"items": [{"sku": "NOPE"}]})
    assert bad.status_code == 422 and "NOPE" in bad.json()["detail"]
