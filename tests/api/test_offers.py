"""The home app's offers and consents: the signed-in customer's own, in their language."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from customers import store as customers
from homeloop import clock
from homeloop.settings import Settings
from replenishment import offers
from tests.api.conftest import auth
from tests.replenishment.test_offers import forecast, product

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]




def offered(db: Conn, locale: str, *days: float,
            quiet: tuple[str, str] | None = ("22:00", "08:00")) -> int:
    """A customer with a coffee machine per entry, each due for descaling in ``days``, and
    the offers evaluated now (with a weekly cap of two); ``quiet``: their quiet hours (at
    some of the test instants, offers are deferred by the default ones), None for none."""
    owner = customers.create_customer(db, "Zhao", locale=locale, home_store_id="SH-XUHUI")
    start, end = quiet or ("00:00", "00:00")
    db.execute("UPDATE customers SET quiet_start = %s, quiet_end = %s WHERE id = %s",
               (start, end, owner))
    for d in days:
        forecast(db, product(db, owner, "CM-100"), "SVC-DESCALE", d, kind="service",
                 computed_at=clock.now())
    with db.transaction():
        offers.evaluate(db, clock.now(), offers.OfferRules(weekly_cap=2))
    return owner


def test_my_offers_newest_first_in_my_language_without_the_suppressed(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = offered(db, "zh-CN", 1.0, 2.0, 2.5)  # the third is over a cap of 2
    db.execute("UPDATE offers SET decided_at = decided_at - interval '1 hour' "
               "WHERE due_at = (SELECT min(due_at) FROM offers)")

    resp = client.get("/v1/me/offers", headers=auth(settings, owner))

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body) == 2
    assert body[0]["due_at"] > body[1]["due_at"]  # the older decision comes last
    assert all(o["reason"].startswith("KAFFE 胶囊咖啡机的咖啡机除垢服务") for o in body)
    assert {o["kind"] for o in body} == {"maintenance"}
    assert {o["status"] for o in body} <= {"pending", "deferred"}


def test_dismiss_my_offer_once_and_others_get_404(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = offered(db, "en", 1.0)
    stranger = customers.create_customer(db, "Stranger", locale="en")
    [offer] = client.get("/v1/me/offers", headers=auth(settings, owner)).json()

    path = f"/v1/me/offers/{offer['id']}/dismiss"

    resp = client.post(path, headers=auth(settings, stranger))
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == f"offer {offer['id']} does not exist"

    resp = client.post(path, headers=auth(settings, owner))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "dismissed"
    assert resp.json()["reason"].startswith("Descaling service for your KAFFE")
    again = client.post(path, headers=auth(settings, owner))
    assert again.status_code == 200 and again.json()["status"] == "dismissed"
    assert client.post("/v1/me/offers/999999/dismiss",
                       headers=auth(settings, owner)).status_code == 404
    assert client.get("/v1/me/offers", headers=auth(settings, stranger)).json() == []

    db.execute("UPDATE offers SET status = 'expired'")
    resp = client.post(path, headers=auth(settings, owner))
    assert resp.status_code == 409 and "expired" in resp.json()["detail"]


def test_still_have_some_keeps_the_offer_and_already_bought_closes_it(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = customers.create_customer(db, "Sun", locale="zh-CN", home_store_id="SH-XUHUI")
    db.execute("UPDATE customers SET quiet_start = '00:00', quiet_end = '00:00' WHERE id = %s",
               (owner,))
    forecast(db, product(db, owner, "DW-60"), "DET-TAB-30", 1.0, computed_at=clock.now())
    with db.transaction():
        offers.evaluate(db, clock.now())
    [offer] = client.get("/v1/me/offers", headers=auth(settings, owner)).json()
    stranger = customers.create_customer(db, "Stranger", locale="en")
    snooze = f"/v1/me/offers/{offer['id']}/snooze"
    bought = f"/v1/me/offers/{offer['id']}/already-bought"

    assert client.post(snooze, headers=auth(settings, stranger)).status_code == 404
    resp = client.post(snooze, headers=auth(settings, owner))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "snoozed"
    assert resp.json()["reason"].startswith("洗碗机洗涤块 30粒")
    # still in the list, and opening it leaves it snoozed
    assert [o["status"] for o in client.get("/v1/me/offers",
                                            headers=auth(settings, owner)).json()] == ["snoozed"]
    opened = client.post(f"/v1/me/offers/{offer['id']}/open", headers=auth(settings, owner))
    assert opened.json()["status"] == "snoozed"

    resp = client.post(bought, headers=auth(settings, owner))
    assert resp.status_code == 200 and resp.json()["status"] == "already_bought"
    assert client.post(bought, headers=auth(settings, owner)).json()["status"] == (
        "already_bought")
    late = client.post(snooze, headers=auth(settings, owner))
    assert late.status_code == 409 and late.json()["code"] == "offer.closed"
    assert late.json()["detail"] == f"推荐 {offer['id']} 已标记为已购买，无法再暂缓。"  # zh-CN
    english = client.post(snooze, params={"lang": "en"}, headers=auth(settings, owner))
    assert english.json()["detail"] == (f"offer {offer['id']} is already bought; it can no "
                                        "longer be snoozed")
    # each answer moved this household's threshold once: later, then earlier
    assert db.execute("SELECT threshold_shift, answers FROM household_timing "
                      "WHERE customer_id = %s", (owner,)).fetchone() == (0.0, 2)


def test_a_suppressed_offer_cannot_be_dismissed_either(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = offered(db, "en", 1.0, 1.5, 2.0)
    suppressed = db.execute("SELECT id FROM offers WHERE status = 'suppressed'").fetchone()
    assert suppressed is not None
    resp = client.post(f"/v1/me/offers/{suppressed[0]}/dismiss", headers=auth(settings, owner))
    assert resp.status_code == 404


def test_consents_default_to_service_messages_only_and_can_be_changed(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = customers.create_customer(db, "Qian")
    headers = auth(settings, owner)

    before = client.get("/v1/me/consents", headers=headers).json()
    assert before == {"channel": "push", "opted_out": False, "kinds": {
        "crosssell": False, "maintenance": True, "points": False, "quality": True,
        "replenish": True, "upsell": False}}

    resp = client.put("/v1/me/consents", headers=headers,
                      json={"kinds": {"upsell": True, "maintenance": False}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["kinds"]["upsell"] is True and resp.json()["kinds"]["maintenance"] is False
    resp = client.put("/v1/me/consents", headers=headers, json={"opted_out": True})
    assert resp.json()["opted_out"] is True and resp.json()["kinds"]["upsell"] is True

    bad = client.put("/v1/me/consents", headers=headers, json={"kinds": {"spam": True}})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert client.put("/v1/me/consents", json={"kinds": {}}).status_code == 401
    assert client.get("/v1/me/offers", headers=auth(settings, "staff:anna")).status_code == 403
    assert db.execute("SELECT count(*) FROM consent_changes WHERE customer_id = %s",
                      (owner,)).fetchone() == (3,)
