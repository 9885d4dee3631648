"""Orders followed home: steps in order, slots when the store lacks stock, notifications
once, installers' reputation and low ratings, on the real API and database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from homeloop import clock
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from notifications.fcm import Outcome, Push, Result
from orders import lifecycle
from replenishment import outbox
from tests.api.conftest import auth
from tests.clienteling.conftest import give_budget

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

STEPS = ["picked", "shipped", "out_for_delivery", "delivered", "installation_booked",
         "installed", "closed"]


def _installer(db: Any, name: str = "Wang", company: str = "QuickFit") -> int:
    db.execute("INSERT INTO installer_companies (name) VALUES (%s) ON CONFLICT DO NOTHING",
               (company,))
    return int(db.execute(
        "INSERT INTO installers (company_id, name, store_id) SELECT id, %s, 'SH-XUHUI' "
        "FROM installer_companies WHERE name = %s RETURNING id", (name, company)).fetchone()[0])


def _place(client: TestClient, headers: dict[str, str], customer: int, sku: str,
           quantity: int = 1) -> dict[str, Any]:
    r = client.post("/v1/staff/orders", headers=headers,
                    json={"customer_id": customer, "lines": [{"sku": sku, "quantity": quantity}]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _step(client: TestClient, headers: dict[str, str], order_id: int, status: str,
          **extra: Any) -> Any:
    return client.post(f"/v1/staff/orders/{order_id}/steps", headers=headers,
                       json={"status": status, **extra})


def _through(client: TestClient, headers: dict[str, str], order_id: int, installer: int,
             until: str = "closed") -> None:
    for status in STEPS[:STEPS.index(until) + 1]:
        extra = ({"installer_id": installer, "install_at": "2030-01-05T02:00:00Z"}
                 if status == "installation_booked" else {})
        r = _step(client, headers, order_id, status, **extra)
        assert r.status_code == 200, (status, r.text)


def test_an_order_goes_home_step_by_step_and_says_so_once(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    installer = _installer(db)
    order = _place(client, assistant, customer, "WC-300")
    assert order["fulfil_store_id"] == "SH-XUHUI" and not order["needs_slot"]
    # A step cannot be skipped, nor taken twice.
    assert _step(client, assistant, order["id"], "delivered").status_code == 409
    _through(client, assistant, order["id"], installer)
    again = _step(client, assistant, order["id"], "closed")
    assert again.status_code == 409 and "closed" in again.json()["detail"]

    mine = client.get(f"/v1/orders/{order['id']}", headers=auth(settings, customer)).json()
    assert [e["status"] for e in mine["events"]] == ["placed", *STEPS]
    assert [e["seq"] for e in mine["events"]] == list(range(1, 9))
    assert mine["events"][2]["data"]["store_id"] == "SH-XUHUI"
    assert mine["status"] == "closed"

    pushes = db.execute("SELECT topic, payload->>'body' FROM outbox WHERE customer_id = %s "
                        "ORDER BY id", (customer,)).fetchall()
    assert [t for t, _ in pushes] == [f"order:{order['id']}:{s}" for s in (
        "placed", "shipped", "out_for_delivery", "delivered", "installation_booked",
        "installed")]
    assert "shipped from Shanghai Xuhui" in pushes[1][1]
    assert "Wang (QuickFit)" in pushes[4][1]
    inbox = db.execute("SELECT body FROM assistant_inbox WHERE assistant LIKE 'staff:%%' "
                       "ORDER BY id").fetchall()
    assert len(inbox) == len(STEPS) and "is complete" in inbox[-1][0]

    class Phone:
        def __init__(self) -> None:
            self.sent: list[Push] = []

        def send(self, pushes: list[Push]) -> list[Result]:
            self.sent += pushes
            return [Result(Outcome.SENT, message_id=f"m{len(self.sent)}-{i}")
                    for i, _ in enumerate(pushes)]

    db.execute("INSERT INTO push_tokens (customer_id, token, platform) VALUES (%s, 'tok', 'ios')",
               (customer,))
    phone = Phone()
    now = clock.now()
    with db.transaction():
        first = outbox.deliver(db, phone, now)
    with db.transaction():
        second = outbox.deliver(db, phone, now + timedelta(minutes=5))
    assert first.sent == 6 and second.claimed == 0
    assert len(phone.sent) == 6 and phone.sent[0].data["order_id"] == str(order["id"])


def test_order_news_waits_for_the_end_of_quiet_hours(
        client: TestClient, db: Any, customer: int, assistant: dict[str, str]) -> None:
    now_local = clock.now().astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    start = (now_local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now_local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    db.execute("UPDATE customers SET quiet_start = %s, quiet_end = %s WHERE id = %s",
               (start, end, customer))
    order = _place(client, assistant, customer, "LAMP-TABLE")
    at = db.execute("SELECT next_attempt_at FROM outbox WHERE topic = %s",
                    (f"order:{order['id']}:placed",)).fetchone()[0]
    assert timedelta(minutes=55) < at - clock.now() < timedelta(hours=2, minutes=1)
    # ... and is not sent before then.
    with db.transaction():
        assert outbox.deliver(db, _Never(), clock.now()).claimed == 0


class _Never:
    def send(self, pushes: list[Push]) -> list[Result]:
        raise AssertionError("nothing is due")


def test_a_store_without_stock_ships_from_the_nearest_and_books_a_slot(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    # The corner sofa is out of stock at Xuhui; Pudong (11 km) has it.
    order = _place(client, assistant, customer, "SOFA-CORNER")
    assert order["fulfil_store_id"] == "SH-PUDONG" and order["needs_slot"]
    assert db.execute("SELECT on_hand FROM inventory WHERE store_id = 'SH-PUDONG' "
                      "AND sku = 'SOFA-CORNER'").fetchone()[0] == 11
    for status in ("picked", "shipped"):
        assert _step(client, assistant, order["id"], status).status_code == 200
    refused = _step(client, assistant, order["id"], "out_for_delivery")
    assert refused.status_code == 409 and "delivery slot" in refused.json()["detail"]

    me = auth(settings, customer)
    slots = client.get(f"/v1/orders/{order['id']}/delivery-slots", headers=me).json()
    assert slots and all(s["store_id"] == "SH-PUDONG" for s in slots)
    assert datetime.fromisoformat(slots[0]["starts_at"]) > clock.now()
    booked = client.put(f"/v1/orders/{order['id']}/delivery-slot", headers=me,
                        json={"starts_at": slots[0]["starts_at"]})
    assert booked.status_code == 200, booked.text
    assert booked.json()["slot_starts_at"] is not None
    # A full window is not offered, and cannot be booked.
    db.execute("UPDATE delivery_slots SET capacity = booked WHERE starts_at = %s",
               (datetime.fromisoformat(slots[1]["starts_at"]),))
    full = client.put(f"/v1/orders/{order['id']}/delivery-slot", headers=me,
                      json={"starts_at": slots[1]["starts_at"]})
    assert full.status_code == 409
    assert _step(client, assistant, order["id"], "out_for_delivery").status_code == 200
    body = db.execute("SELECT payload->>'body' FROM outbox WHERE topic = %s",
                      (f"order:{order['id']}:out_for_delivery",)).fetchone()[0]
    assert "out for delivery (" in body


def test_nothing_is_sold_that_no_store_has(client: TestClient, db: Any, customer: int,
                                           assistant: dict[str, str]) -> None:
    db.execute("UPDATE inventory SET on_hand = 0 WHERE sku = 'BED-150'")
    r = client.post("/v1/staff/orders", headers=assistant,
                    json={"customer_id": customer, "lines": [{"sku": "BED-150"}]})
    assert r.status_code == 409
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    db.execute("UPDATE inventory SET on_hand = 12 WHERE sku = 'BED-150'")


def test_ratings_move_reputation_and_a_low_one_opens_a_task(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    wang, li = _installer(db, "Wang"), _installer(db, "Li")
    me = auth(settings, customer)
    first = _place(client, assistant, customer, "WC-300")
    # Not installed yet: nothing to rate.
    early = client.post(f"/v1/me/orders/{first['id']}/rating", headers=me, json={"stars": 5})
    assert early.status_code == 409
    _through(client, assistant, first["id"], wang, until="installed")
    before = {i["name"]: i for i in client.get("/v1/staff/installers", headers=assistant).json()}
    assert before["Wang"]["score"] == before["Li"]["score"] == lifecycle.PRIOR_MEAN

    good = client.post(f"/v1/me/orders/{first['id']}/rating", headers=me, json={"stars": 5})
    assert good.status_code == 201 and not good.json()["low"]
    assert client.post(f"/v1/me/orders/{first['id']}/rating", headers=me,
                       json={"stars": 1}).status_code == 409
    after = {i["name"]: i for i in client.get("/v1/staff/installers", headers=assistant).json()}
    assert after["Wang"]["score"] > after["Li"]["score"]
    ranked = client.get("/v1/staff/installers", headers=assistant).json()
    assert ranked[0]["name"] == "Wang"

    second = _place(client, assistant, customer, "WC-300")
    _through(client, assistant, second["id"], li, until="installed")
    day = client.get("/v1/staff/day", headers=assistant).json()
    assert day["tasks"] == []
    bad = client.post(f"/v1/me/orders/{second['id']}/rating", headers=me,
                      json={"stars": 3, "problems": ["leak", "mess_left"]})
    assert bad.status_code == 201 and bad.json()["low"]
    li_now = next(i for i in client.get("/v1/staff/installers", headers=assistant).json()
                  if i["name"] == "Li")
    assert li_now["problems"] == {"leak": 1, "mess_left": 1} and li_now["ratings"] == 1
    tasks = client.get("/v1/staff/day", headers=assistant).json()["tasks"]
    assert [(t["kind"], t["subject"], t["customer_id"]) for t in tasks] == [
        ("low_rating", f"order:{second['id']}", customer)]
    assert "leak" in tasks[0]["body"]
    # Another customer cannot rate this order: to them it does not exist.
    other = client.post(f"/v1/me/orders/{second['id']}/rating",
                        headers=auth(settings, _someone(db)), json={"stars": 5})
    assert other.status_code == 404
    unknown = client.post(f"/v1/me/orders/{first['id']}/rating", headers=me,
                          json={"stars": 2, "problems": ["aliens"]})
    assert unknown.status_code == 422


def _someone(db: Any) -> int:
    return int(db.execute("INSERT INTO customers (display_name) VALUES ('Other') "
                          "RETURNING id").fetchone()[0])


@pytest.mark.parametrize("now_local, quiet, expected", [
    ("2026-01-01T23:30", ("22:00", "08:00"), "2026-01-02T08:00"),
    ("2026-01-01T03:00", ("22:00", "08:00"), "2026-01-01T08:00"),
    ("2026-01-01T12:00", ("22:00", "08:00"), "2026-01-01T12:00"),
    ("2026-01-01T13:00", ("12:00", "14:00"), "2026-01-01T14:00"),
])
def test_quiet_hours_in_the_customers_zone(now_local: str, quiet: tuple[str, str],
                                            expected: str) -> None:
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime.fromisoformat(now_local).replace(tzinfo=zone).astimezone(UTC)
    got = lifecycle.deliver_after(now, "Asia/Shanghai", time.fromisoformat(quiet[0]),
                                  time.fromisoformat(quiet[1]))
    assert got.astimezone(zone).replace(tzinfo=None) == datetime.fromisoformat(expected)


def test_reputation_is_pulled_towards_the_mean_by_few_ratings() -> None:
    one_five = lifecycle.reputation(1, 5.0, 4.0)
    many_fives = lifecycle.reputation(50, 250.0, 4.0)
    assert 4.0 < one_five.score < many_fives.score < 5.0
    assert lifecycle.reputation(0, 0.0, 4.2).score == 4.2


def test_order_news_waits_for_a_push_token_and_goes_once_one_is_registered(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    order = _place(client, assistant, customer, "LAMP-TABLE")
    sent: list[Push] = []

    class Phone:
        def send(self, pushes: list[Push]) -> list[Result]:
            sent.extend(pushes)
            return [Result(Outcome.SENT, message_id="m") for _ in pushes]

    now = clock.now()
    with db.transaction():
        assert outbox.deliver(db, Phone(), now).failed == 1  # no token yet
    r = client.post("/v1/me/push-tokens", headers=auth(settings, customer),
                    json={"token": "fresh-token", "platform": "android"})
    assert r.status_code == 200, r.text
    with db.transaction():
        assert outbox.deliver(db, Phone(), clock.now()).sent == 1
    assert [p.data["order_id"] for p in sent] == [str(order["id"])]


def test_two_customers_for_the_last_place_in_a_window_and_a_cancellation(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    from orders import service
    from orders.schemas import LineIn
    from tests.conftest import in_two_transactions_at_once

    now = clock.now()
    made = [service.place_order(db, customer, "SH-XUHUI", None, [LineIn(sku="SOFA-CORNER")],
                                now, nearby_km=settings.nearby_store_km) for _ in range(2)]
    window = service.delivery_slots(db, made[0], now)[0].starts_at
    db.execute("UPDATE delivery_slots SET capacity = 1 WHERE starts_at = %s", (window,))
    turn = iter(made)

    def book(conn: Any) -> str:
        try:
            service.book_slot(conn, next(turn), window, "test", now)
            return "booked"
        except Exception as exc:  # the loser's Conflict; its transaction rolls back
            return type(exc).__name__

    assert sorted(in_two_transactions_at_once(settings, book)) == ["Conflict", "booked"]
    assert db.execute("SELECT booked FROM delivery_slots WHERE starts_at = %s",
                      (window,)).fetchone()[0] == 1
    # Cancelling gives back the stock and the window's place.
    booked = next(o for o in made if db.execute(
        "SELECT slot_starts_at IS NOT NULL FROM orders WHERE id = %s", (o,)).fetchone()[0])
    stock = "SELECT on_hand FROM inventory WHERE store_id = 'SH-PUDONG' AND sku = 'SOFA-CORNER'"
    assert db.execute(stock).fetchone()[0] == 10
    assert _step(client, assistant, booked, "cancelled").status_code == 200
    assert db.execute(stock).fetchone()[0] == 11
    assert db.execute("SELECT booked FROM delivery_slots WHERE starts_at = %s",
                      (window,)).fetchone()[0] == 0
    assert _step(client, assistant, booked, "picked").status_code == 409


def test_a_chinese_reader_hears_of_their_order_in_chinese(
        client: TestClient, db: Any, customer: int, assistant: dict[str, str]) -> None:
    db.execute("UPDATE customers SET locale = 'zh-CN' WHERE id = %s", (customer,))
    order = _place(client, assistant, customer, "LAMP-TABLE")
    for status in ("picked", "shipped"):
        assert _step(client, assistant, order["id"], status).status_code == 200
    bodies = [r[0] for r in db.execute(
        "SELECT payload->>'body' FROM outbox WHERE customer_id = %s ORDER BY id", (customer,))]
    assert bodies[0] == f"订单 {order['id']} 已下单：¥199.00。"
    assert bodies[1] == f"订单 {order['id']} 已从上海徐汇店发货。"
    inbox = db.execute("SELECT body FROM assistant_inbox ORDER BY id").fetchall()
    assert inbox[-1][0] == f"Order {order['id']} has shipped from Shanghai Xuhui."


def test_the_assistant_reads_their_order_news(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    order = _place(client, assistant, customer, "LAMP-TABLE")
    assert _step(client, assistant, order["id"], "picked").status_code == 200
    inbox = client.get("/v1/staff/day", headers=assistant).json()["inbox"]
    assert [i["body"] for i in inbox] == [
        f"Order {order['id']} is being prepared at Shanghai Xuhui."]
    other = auth(settings, "staff:cy", role="assistant", store="SH-XUHUI")
    assert client.post(f"/v1/staff/inbox/{inbox[0]['id']}/read",
                       headers=other).status_code == 403  # staff are told why
    assert client.post(f"/v1/staff/inbox/{inbox[0]['id']}/read",
                       headers=assistant).status_code == 204
    assert client.get("/v1/staff/day", headers=assistant).json()["inbox"] == []


def test_a_customer_who_deletes_their_data_leaves_the_sale_in_the_books(
        client: TestClient, settings: Settings, db: Any, customer: int,
        assistant: dict[str, str]) -> None:
    give_budget(db, "ann", 100_000)
    discount = client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": customer, "sku": "WC-300", "amount_cents": 30_000})
    assert discount.status_code == 200 and discount.json()["budget_left_cents"] == 100_000
    wang = _installer(db, "Wang")
    sold = _place(client, assistant, customer, "WC-300")
    _through(client, assistant, sold["id"], wang, until="installed")
    me = auth(settings, customer)
    rated = client.post(f"/v1/me/orders/{sold['id']}/rating", headers=me,
                        json={"stars": 2, "problems": ["leak"], "comment": "Call Lin on 139"})
    assert rated.status_code == 201
    reputation = {i["name"]: i for i in client.get("/v1/staff/installers",
                                                   headers=assistant).json()}["Wang"]

    assert client.delete("/v1/me", headers=me).status_code == 200

    # The sale, its steps and the rating stay, belonging to no one and saying nothing of Lin.
    order = client.get(f"/v1/orders/{sold['id']}", headers=assistant)
    assert order.status_code == 200, order.text
    assert order.json()["customer_id"] is None and order.json()["status"] == "installed"
    assert f"customer:{customer}" not in {e["actor"] for e in order.json()["events"]}
    assert db.execute("SELECT stars, problems, comment, customer_id FROM installation_ratings "
                      "WHERE order_id = %s", (sold["id"],)).fetchone() == (2, ["leak"], "", None)
    after = {i["name"]: i for i in client.get("/v1/staff/installers",
                                              headers=assistant).json()}["Wang"]
    assert after == reputation  # the installer's reputation does not change
    # The store still closes the order; the assistant's budget does not grow back.
    assert _step(client, assistant, sold["id"], "closed").status_code == 200
    next_customer = _someone(db)
    set_store_consent(db, next_customer, "SH-XUHUI", True)
    again = client.post("/v1/staff/discounts", headers=assistant, json={
        "customer_id": next_customer, "sku": "WC-300", "amount_cents": 1_000, "dry_run": True})
    assert again.json()["budget_left_cents"] == 70_000
    # Nobody but the store's staff reaches the anonymous order.
    other_store = auth(settings, "staff:bo", role="assistant", store="SH-PUDONG")
    assert client.get(f"/v1/orders/{sold['id']}", headers=other_store).status_code == 403
    assert client.get(f"/v1/orders/{sold['id']}",
                      headers=auth(settings, _someone(db))).status_code == 404


def test_an_assistant_sells_to_take_away_only_what_the_store_has(
        client: TestClient, db: Any, customer: int, assistant: dict[str, str]) -> None:
    refused = client.post("/v1/staff/orders", headers=assistant, json={
        "customer_id": customer, "lines": [{"sku": "SOFA-CORNER"}], "fulfilment": "pickup"})
    assert refused.status_code == 409 and "deliver it instead" in refused.json()["detail"]
    r = client.post("/v1/staff/orders", headers=assistant, json={
        "customer_id": customer, "lines": [{"sku": "WC-300"}], "fulfilment": "pickup"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["fulfilment"], order["needs_slot"]) == ("pickup", False)
    # ready at the store, then collected: no shipping, no slot
    assert _step(client, assistant, order["id"], "shipped").status_code == 409
    for status in ("picked", "delivered", "closed"):
        assert _step(client, assistant, order["id"], status).status_code == 200, status
