"""Discounts within a monthly budget (margin and commission shown, a manager beyond it, an
audit trail), and points for a first purchase in a new category."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clienteling.discounts import effect, month_of
from customers import store as customers
from homeloop import clock
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from tests.api.conftest import auth
from tests.clienteling.conftest import give_budget

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock


def test_effect_on_margin_and_commission() -> None:
    e = effect("discount", price=100_000, cost=60_000, amount=10_000, budget=50_000, used=45_000)
    assert (e.margin_before_cents, e.margin_after_cents) == (40_000, 30_000)
    assert e.margin_rate_after == round(30_000 / 90_000, 4)
    assert (e.commission_before_cents, e.commission_after_cents) == (3_000, 2_700)
    assert e.budget_left_cents == 5_000 and e.needs_approval
    gift = effect("gift", price=100_000, cost=60_000, amount=5_000, budget=50_000, used=0)
    assert gift.commission_after_cents == gift.commission_before_cents and not gift.needs_approval


def test_a_budget_month_is_the_stores_month_not_utcs() -> None:
    # 03:00 on 1 July in Shanghai is still 30 June in UTC: July's budget is the one drawn on.
    assert month_of(datetime(2026, 6, 30, 19, 0, tzinfo=UTC)) == date(2026, 7, 1)
    assert month_of(datetime(2026, 6, 30, 15, 59, tzinfo=UTC)) == date(2026, 6, 1)


def test_beyond_the_budget_a_manager_approves_and_every_step_is_recorded(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    staff_id = give_budget(db, "ann", 100_000)

    def ask(amount: int, dry_run: bool = False) -> Any:
        r = client.post("/v1/staff/discounts", headers=assistant, json={
            "customer_id": customer, "sku": "WC-300", "amount_cents": amount,
            "dry_run": dry_run})
        assert r.status_code == 200, r.text
        return r.json()

    quote = ask(60_000, dry_run=True)
    # WC-300: ¥1,899, no cost on file → the standard grade's 40 % margin.
    assert quote["status"] == "quote" and quote["id"] is None
    assert quote["margin_before_cents"] == 75_960 and quote["margin_after_cents"] == 15_960
    assert quote["commission_before_cents"] == 5_697
    assert quote["commission_after_cents"] == 3_897
    first = ask(60_000)
    assert first["status"] == "granted" and first["budget_left_cents"] == 100_000
    second = ask(60_000)
    assert second["status"] == "pending_approval" and second["needs_approval"]
    assert second["budget_left_cents"] == 40_000

    # Only the store's manager decides; the assistant cannot approve their own, and another
    # store's manager cannot either.
    decision = f"/v1/staff/discounts/{second['id']}/decision"
    assert client.post(decision, headers=assistant, json={"approve": True}).status_code == 403
    elsewhere = auth(settings, "staff:pudong-boss", role="store_manager", store="SH-PUDONG")
    assert client.post(decision, headers=elsewhere, json={"approve": True}).status_code == 403
    manager = auth(settings, "staff:root", role="store_manager", store="SH-XUHUI")
    done = client.post(decision, headers=manager, json={"approve": True})
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert [e["action"] for e in done.json()["events"]] == ["requested", "approved"]
    assert client.post(decision, headers=manager, json={"approve": False}).status_code == 409
    trail = db.execute("SELECT d.status, e.actor, e.action FROM discount_events e "
                       "JOIN discounts d ON d.id = e.discount_id ORDER BY e.id").fetchall()
    assert [(a, b) for _, a, b in trail][1:] == [(f"staff:{staff_id}", "requested"),
                                                 ("staff:" + str(db.execute(
                                                     "SELECT id FROM staff_members WHERE "
                                                     "username = 'root'").fetchone()[0]),
                                                  "approved")]
    assert trail[0][1:] == (f"staff:{staff_id}", "granted")
    # Refused without the customer's consent for the store.
    set_store_consent(db, customer, "SH-XUHUI", False)
    assert client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": customer, "sku": "WC-300", "amount_cents": 100}).status_code == 403


def test_points_for_a_first_purchase_in_a_new_category(db: Any, customer: int,
                                                        settings: Settings) -> None:
    from orders import service as orders
    from orders.schemas import LineIn

    now = clock.now()

    def points() -> int:
        return int(db.execute("SELECT points FROM customers WHERE id = %s",
                              (customer,)).fetchone()[0])

    km = settings.nearby_store_km
    orders.place_order(db, customer, "SH-XUHUI", None, [LineIn(sku="WC-300")], now,
                       nearby_km=km)
    assert points() == 0  # a first order is new to everyone
    orders.place_order(db, customer, "SH-XUHUI", None,
                       [LineIn(sku="LAMP-TABLE"), LineIn(sku="LAMP-FLOOR"),
                        LineIn(sku="WC-400")], now, nearby_km=km)
    assert points() == 200  # lamps are new; toilets are not
    orders.place_order(db, customer, "SH-XUHUI", None, [LineIn(sku="LAMP-TABLE")], now,
                       nearby_km=km)
    assert points() == 200
    assert db.execute("SELECT category FROM points_awards").fetchall() == [("lamp",)]


def test_an_order_line_takes_only_a_granted_discount_and_only_once(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    give_budget(db, "ann", 100_000)

    def grant(sku: str, amount: int, kind: str = "discount") -> dict[str, Any]:
        r = client.post("/v1/staff/discounts", headers=assistant, json={
            "customer_id": customer, "sku": sku, "amount_cents": amount, "kind": kind})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def order(lines: list[dict[str, Any]]) -> Any:
        return client.post("/v1/staff/orders", headers=assistant,
                           json={"customer_id": customer, "lines": lines})

    toilet, gift, over = grant("WC-300", 20_000), grant("LAMP-TABLE", 5_000, "gift"), \
        grant("WC-400", 90_000)
    assert over["status"] == "pending_approval"
    me = auth(settings, customer)
    wallet = client.get("/v1/me/coupons", headers=me).json()
    assert {(c["id"], c["sku"], c["kind"], c["amount_cents"]) for c in wallet} == {
        (toilet["id"], "WC-300", "discount", 20_000), (gift["id"], "LAMP-TABLE", "gift", 5_000)}

    # A discount the caller names by amount is refused: it would go around the budget.
    assert order([{"sku": "WC-300", "discount_cents": 20_000}]).status_code == 422
    assert order([{"sku": "WC-400", "discount_id": toilet["id"]}]).status_code == 422  # SKU
    assert order([{"sku": "LAMP-TABLE", "discount_id": gift["id"]}]).status_code == 422
    assert order([{"sku": "WC-400", "discount_id": over["id"]}]).status_code == 409  # waiting
    placed = order([{"sku": "WC-300", "discount_id": toilet["id"]}])
    assert placed.status_code == 201, placed.text
    line = placed.json()["lines"][0]
    assert line["discount_cents"] == 20_000
    assert placed.json()["total_cents"] == line["unit_price_cents"] - 20_000
    again = order([{"sku": "WC-300", "discount_id": toilet["id"]}])
    assert again.status_code == 409 and "already used" in again.json()["detail"]
    assert [c["id"] for c in client.get("/v1/me/coupons", headers=me).json()] == [gift["id"]]
    profile = client.get(f"/v1/staff/customers/{customer}/profile", headers=assistant).json()
    assert profile["membership"]["coupons"] == 1
    # Another customer cannot use it; a cancelled order gives it back.
    other = customers.create_customer(db, "Wu", home_store_id="SH-XUHUI")
    set_store_consent(db, other, "SH-XUHUI", True)
    assert client.post("/v1/staff/orders", headers=assistant, json={
        "customer_id": other, "lines": [{"sku": "WC-300", "discount_id": toilet["id"]}]}
    ).status_code == 422
    client.post(f"/v1/staff/orders/{placed.json()['id']}/steps", headers=assistant,
                json={"status": "cancelled"})
    assert toilet["id"] in [c["id"] for c in client.get("/v1/me/coupons", headers=me).json()]
