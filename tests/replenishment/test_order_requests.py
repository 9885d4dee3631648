"""Accepting an offer: the order request, and its signed webhook to the order system."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from customers import store as customers
from device_gateway.provisioning import provision
from homeloop import clock
from homeloop.settings import Settings
from homeloop.worker import make_celery
from identity.privacy import set_store_consent
from replenishment.order_webhook import verify
from replenishment.tasks import run_order_requests
from tests.api.conftest import auth
from tests.api.conftest import auth_emulator as auth_emulator
from tests.api.conftest import client as client
from tests.conftest import process_env

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]
SECRET = "test-order-webhook-secret"


@dataclass
class OrderSystem:
    """A stand-in of the retailer's order system: checks signatures, books each request once
    (by its Idempotency-Key), and answers as scripted."""

    script: list[int] = field(default_factory=list)  # statuses to answer first, then 201
    received: list[dict[str, Any]] = field(default_factory=list)
    booked: dict[str, str] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/orders"

    def start(self) -> OrderSystem:
        system = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = verify(SECRET, self.headers.get("Homeloop-Signature", ""), body)
                key = self.headers.get("Idempotency-Key", "")
                system.received.append({"signed": signed, "key": key,
                                        "payload": json.loads(body)})
                status = system.script.pop(0) if system.script else 201
                if status == 201 and signed:
                    ref = system.booked.setdefault(key, f"ORD-{len(system.booked) + 1}")
                    answer = json.dumps({"order_id": ref}).encode()
                elif not signed:
                    status, answer = 401, b'{"error": "bad signature"}'
                else:
                    answer = b'{"error": "scripted"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self


@pytest.fixture
def order_system() -> Iterator[OrderSystem]:
    system = OrderSystem().start()
    yield system
    assert system.server is not None
    system.server.shutdown()
    system.server.server_close()


@pytest.fixture
def webhook_settings(settings: Settings, order_system: OrderSystem) -> Settings:
    return settings.model_copy(update={"order_webhook_url": order_system.url,
                                       "order_webhook_secret": SECRET,
                                       "order_webhook_backoff_s": 60.0,
                                       "order_webhook_max_attempts": 3})


def _offer(db: Conn, *, kind: str = "replenish", skus: tuple[str, ...] = ("FLT-PP-1",),
           fulfilment: str = "pickup", store: str | None = "SH-XUHUI",
           status: str = "sent") -> tuple[int, int]:
    """A customer of Xuhui with a purifier and an offer about it; (customer, offer)."""
    customer = customers.create_customer(db, "Li", home_store_id="SH-XUHUI")
    made = provision(db, "WP-500", 1)[0]
    customers.claim(db, customer, device_id=made.device_id)
    now = clock.now()
    row = db.execute(
        "INSERT INTO offers (customer_id, instance_id, kind, item_skus, cycle_key, reason_en, "
        "reason_zh, fulfilment, store_id, lead_days, due_at, expires_at, status, "
        "deliver_after, decided_at) VALUES (%s, %s, %s, %s, %s, 'Filter due', '滤芯到期', %s, "
        "%s, 1, %s + interval '3 days', %s + interval '6 days', %s, %s, %s) "
        "RETURNING id", (customer, made.instance_id, kind, list(skus), f"c-{customer}",
                         fulfilment, store, now, now, status, now, now)).fetchone()
    assert row is not None
    return customer, int(row[0])


def test_accepting_an_offer_makes_one_order_request_ready_when_the_store_can(
        client: TestClient, settings: Settings, db: Conn) -> None:
    customer, offer = _offer(db, skus=("FLT-PP-1", "FLT-RO-1"))
    accepted = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                           json={})
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["offer"]["status"] == "accepted"
    request = body["order_request"]
    assert (request["fulfilment"], request["store_id"], request["status"]) == (
        "pickup", "SH-XUHUI", "queued")
    assert [i["sku"] for i in request["items"]] == ["FLT-PP-1", "FLT-RO-1"]
    ready = datetime.fromisoformat(request["ready_by"])
    assert timedelta(hours=23) < ready - clock.now() < timedelta(hours=25)  # tomorrow
    again = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                        json={"fulfilment": "delivery"})
    assert again.json()["order_request"]["id"] == request["id"]
    assert db.execute("SELECT count(*) FROM order_requests").fetchone() == (1,)
    listed = client.get("/v1/me/order-requests", headers=auth(settings, customer)).json()
    assert [r["id"] for r in listed] == [request["id"]]


def test_an_offer_answered_still_have_some_can_still_be_accepted(
        client: TestClient, settings: Settings, db: Conn) -> None:
    customer, offer = _offer(db)
    snoozed = client.post(f"/v1/me/offers/{offer}/snooze", headers=auth(settings, customer))
    assert snoozed.json()["status"] == "snoozed"
    accepted = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                           json={})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["offer"]["status"] == "accepted"


def test_a_store_without_every_item_is_refused_and_delivery_comes_from_online(
        client: TestClient, settings: Settings, db: Conn) -> None:
    customer, offer = _offer(db, skus=("FLT-PP-1", "FLT-RO-1"))
    pudong = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                         json={"fulfilment": "pickup", "store_id": "SH-PUDONG"})
    assert pudong.status_code == 409
    assert pudong.json()["missing"] == ["FLT-RO-1"]
    assert pudong.json()["code"] == "offer.out_of_stock"  # in Li's Chinese, the store's name
    assert pudong.json()["detail"] == "上海浦东店现在没有 FLT-RO-1 的库存。"
    delivered = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                            json={"fulfilment": "delivery"})
    assert delivered.status_code == 200
    request = delivered.json()["order_request"]
    assert (request["fulfilment"], request["store_id"]) == ("delivery", "ONLINE")


def test_only_the_owner_accepts_and_only_an_open_offer(client: TestClient, settings: Settings,
                                                       db: Conn) -> None:
    customer, offer = _offer(db)
    other = customers.create_customer(db, "Wang")
    assert client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, other),
                       json={}).status_code == 404
    client.post(f"/v1/me/offers/{offer}/dismiss", headers=auth(settings, customer))
    late = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                       json={})
    assert late.status_code == 409 and late.json()["code"] == "offer.closed"
    assert late.json()["detail"] == f"推荐 {offer} 已忽略，无法再接受。"
    _, visit = _offer(db, kind="maintenance", skus=("SVC-DESCALE",), fulfilment="visit")
    assert db.execute("SELECT count(*) FROM order_requests").fetchone() == (0,)
    owner = db.execute("SELECT customer_id FROM offers WHERE id = %s", (visit,)).fetchone()[0]
    wrong = client.post(f"/v1/me/offers/{visit}/accept", headers=auth(settings, owner),
                        json={"fulfilment": "delivery"})
    assert wrong.status_code == 422


def test_the_webhook_is_signed_retried_and_books_the_order_once(
        webhook_settings: Settings, order_system: OrderSystem, db: Conn) -> None:
    from replenishment.order_requests import Choice, accept

    customer, offer = _offer(db)
    now = clock.now()
    request = accept(db, webhook_settings, customer, offer, Choice(), now)
    order_system.script = [503]
    first = run_order_requests(webhook_settings, now)
    assert (first.sent, first.retrying) == (0, 1)
    state = db.execute("SELECT status, attempts, next_attempt_at, last_error "
                       "FROM order_requests").fetchone()
    assert state[0:2] == ("queued", 1) and "503" in state[3]
    assert state[2] == now + timedelta(seconds=60)
    assert run_order_requests(webhook_settings, now + timedelta(seconds=30)).sent == 0  # not due
    second = run_order_requests(webhook_settings, now + timedelta(seconds=61))
    assert second.sent == 1
    assert db.execute("SELECT status, external_ref FROM order_requests").fetchone() == (
        "sent", "ORD-1")
    assert [r["signed"] for r in order_system.received] == [True, True]
    keys = {r["key"] for r in order_system.received}
    assert keys == {f"homeloop-order-request-{request.id}"}  # the same key on the retry
    payload = order_system.received[-1]["payload"]
    assert (payload["offer_id"], payload["fulfilment"], payload["store_id"]) == (
        offer, "pickup", "SH-XUHUI")
    assert payload["order_id"] == request.order_id is not None  # the order it placed
    assert len(order_system.booked) == 1
    assert run_order_requests(webhook_settings, now + timedelta(hours=1)).sent == 0


def test_a_refusal_is_not_retried_and_attempts_run_out(
        webhook_settings: Settings, order_system: OrderSystem, db: Conn) -> None:
    from replenishment.order_requests import Choice, accept

    now = clock.now()
    refused_customer, refused_offer = _offer(db)
    accept(db, webhook_settings, refused_customer, refused_offer, Choice(), now)
    order_system.script = [422]
    assert run_order_requests(webhook_settings, now).dead == 1
    assert db.execute("SELECT status, attempts FROM order_requests").fetchone() == ("dead", 1)

    db.execute("DELETE FROM order_requests")
    db.execute("UPDATE offers SET status = 'sent'")
    accept(db, webhook_settings, refused_customer, refused_offer, Choice(), now)
    order_system.script = [500, 500, 500]
    at = now
    for _ in range(3):
        run_order_requests(webhook_settings, at)
        at += timedelta(days=1)
    state = db.execute("SELECT status, attempts, last_error FROM order_requests").fetchone()
    assert state[0:2] == ("dead", 3) and "500" in state[2]


def test_a_forged_signature_is_refused_by_the_receiver() -> None:
    body = b'{"request_id": 1}'
    from replenishment.order_webhook import sign

    now = int(clock.now().timestamp())
    good = sign(SECRET, body, now)
    assert verify(SECRET, good, body)
    assert not verify("another secret", good, body)
    assert not verify(SECRET, good, body + b" ")
    assert not verify(SECRET, sign(SECRET, body, now - 3600), body)  # a replay, an hour later


@pytest.mark.real_clock("the Celery worker is another process, on the machine's clock")
def test_a_real_worker_sends_the_order_requests(
        webhook_settings: Settings, order_system: OrderSystem, db: Conn) -> None:
    from replenishment.order_requests import Choice, accept

    customer, offer = _offer(db)
    accept(db, webhook_settings, customer, offer, Choice(), clock.now())
    env = process_env(webhook_settings, order_webhook_url=order_system.url,
                      order_webhook_secret=SECRET)
    worker = subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = make_celery(webhook_settings)
        result = app.send_task("replenishment.send_order_requests")
        assert result.get(timeout=60) == {"sent": 1, "retrying": 0, "dead": 0}
        app.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert len(order_system.booked) == 1
    schedule = make_celery(webhook_settings).conf.beat_schedule["send-order-requests"]
    assert schedule["schedule"] == 30.0


def test_staff_see_offer_statistics_without_customer_data(
        client: TestClient, settings: Settings, db: Conn) -> None:
    customer, accepted = _offer(db)
    client.post(f"/v1/me/offers/{accepted}/accept", headers=auth(settings, customer), json={})
    _offer(db, status="dismissed")
    _, suppressed = _offer(db)
    db.execute("UPDATE offers SET status = 'suppressed', "
               "suppressed_reason = 'weekly cap of 3 offers reached' WHERE id = %s",
               (suppressed,))
    stats = client.get("/v1/staff/offer-stats",
                       headers=auth(settings, "staff:ann", role="assistant")).json()
    assert stats == [{"kind": "replenish", "decided": 3,
                      "by_status": {"accepted": 1, "dismissed": 1, "suppressed": 1},
                      "suppressed_by_reason": {"weekly cap of 3 offers reached": 1},
                      "acceptance_rate": 0.5}]
    assert client.get("/v1/staff/offer-stats", headers=auth(settings, customer)
                      ).status_code == 403


def test_the_new_consumables_tap_shows_the_order_request_fitted(
        client: TestClient, settings: Settings, db: Conn) -> None:
    from replenishment.order_requests import mark_fitted

    customer, offer = _offer(db)
    instance = db.execute("SELECT instance_id FROM offers WHERE id = %s", (offer,)).fetchone()[0]
    old_cycle = clock.now() - timedelta(days=170)
    db.execute("INSERT INTO offer_lines (offer_id, offer_kind, instance_id, item_sku, "
               "cycle_start) VALUES (%s, 'replenish', %s, 'FLT-PP-1', %s)",
               (offer, instance, old_cycle))

    def forecast_cycle(start: datetime) -> None:
        db.execute(
            "INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, rate_per_day, "
            "used, remaining, days_left, confidence, basis, data_days, prior_weight, "
            "cycle_start, computed_at, due_at) VALUES (%s, 'FLT-PP-1', 'consumable', 'flow_l', "
            "10, 5, 1995, 180, 0.8, 'usage', 30, 0.1, %s, %s, %s + interval '180 days') "
            "ON CONFLICT (instance_id, item_sku, kind) DO UPDATE SET "
            "cycle_start = excluded.cycle_start", (instance, start, clock.now(), clock.now()))

    client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer), json={})
    forecast_cycle(old_cycle)  # the old filter is still in
    assert mark_fitted(db) == 0
    tapped = clock.now().replace(microsecond=0)
    forecast_cycle(tapped)  # the customer tapped the new filter's tag: a new cycle
    assert mark_fitted(db) == 1
    [request] = client.get("/v1/me/order-requests", headers=auth(settings, customer)).json()
    assert datetime.fromisoformat(request["fitted_at"]) == tapped
    assert mark_fitted(db) == 0


def _on_hand(db: Conn, store: str, sku: str) -> int:
    return int(db.execute("SELECT on_hand FROM inventory WHERE store_id = %s AND sku = %s",
                          (store, sku)).fetchone()[0])


def _outbox_body(db: Conn, topic: str) -> str:
    row = db.execute("SELECT payload->>'body' FROM outbox WHERE topic = %s", (topic,)).fetchone()
    assert row is not None, f"nothing pushed for {topic}"
    return str(row[0])


def test_an_accepted_offer_is_an_order_the_customer_and_the_store_follow(
        client: TestClient, settings: Settings, db: Conn) -> None:
    customer, offer = _offer(db)
    db.execute("UPDATE customers SET locale = 'en-GB' WHERE id = %s", (customer,))
    set_store_consent(db, customer, "SH-XUHUI", True)
    before = _on_hand(db, "SH-XUHUI", "FLT-PP-1")
    me = auth(settings, customer)

    accepted = client.post(f"/v1/me/offers/{offer}/accept", headers=me, json={})

    order_id = accepted.json()["order_request"]["order_id"]
    assert order_id is not None
    assert _on_hand(db, "SH-XUHUI", "FLT-PP-1") == before - 1  # kept aside for them
    [order] = client.get("/v1/me/orders", headers=me).json()
    assert (order["id"], order["fulfilment"], order["store_id"], order["status"]) == (
        order_id, "pickup", "SH-XUHUI", "placed")
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("FLT-PP-1", 1)]
    assert order["total_cents"] == order["lines"][0]["unit_price_cents"] > 0
    # accepting again places nothing more
    client.post(f"/v1/me/offers/{offer}/accept", headers=me, json={})
    assert db.execute("SELECT count(*) FROM orders").fetchone() == (1,)

    staff = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")

    def step(status: str) -> Any:
        return client.post(f"/v1/staff/orders/{order_id}/steps", headers=staff,
                           json={"status": status})

    assert step("shipped").status_code == 409  # a pickup is not shipped
    assert step("picked").status_code == 200
    assert "ready for pickup at Shanghai Xuhui" in _outbox_body(db, f"order:{order_id}:picked")
    assert step("delivered").status_code == 200
    assert "collected" in _outbox_body(db, f"order:{order_id}:delivered")
    assert step("closed").json()["status"] == "closed"


def test_a_points_offer_is_paid_with_points_and_given_back_if_cancelled(
        client: TestClient, settings: Settings, db: Conn) -> None:
    customer, offer = _offer(db, kind="points")
    set_store_consent(db, customer, "SH-XUHUI", True)
    db.execute("UPDATE customers SET points = 1050 WHERE id = %s", (customer,))  # costs 1,000
    poor, poor_offer = _offer(db, kind="points")
    db.execute("UPDATE customers SET points = 999 WHERE id = %s", (poor,))

    refused = client.post(f"/v1/me/offers/{poor_offer}/accept", headers=auth(settings, poor),
                          json={})
    assert refused.status_code == 409 and "1,000" in refused.json()["detail"]
    accepted = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                           json={})

    assert accepted.status_code == 200, accepted.text
    order_id = accepted.json()["order_request"]["order_id"]
    assert db.execute("SELECT count(*) FROM orders").fetchone() == (1,)  # none for the refusal
    assert db.execute("SELECT points FROM customers WHERE id = %s", (customer,)).fetchone() == (50,)
    order = client.get(f"/v1/orders/{order_id}", headers=auth(settings, customer)).json()
    assert (order["total_cents"], order["points_spent"]) == (0, 1000)
    stock = _on_hand(db, "SH-XUHUI", "FLT-PP-1")
    cancelled = client.post(f"/v1/staff/orders/{order_id}/steps", json={"status": "cancelled"},
                            headers=auth(settings, "staff:ann", role="assistant",
                                         store="SH-XUHUI"))
    assert cancelled.status_code == 200
    assert db.execute("SELECT points FROM customers WHERE id = %s",
                      (customer,)).fetchone() == (1050,)
    assert _on_hand(db, "SH-XUHUI", "FLT-PP-1") == stock + 1


def test_a_service_visit_is_booked_done_and_starts_the_next_service_cycle(
        client: TestClient, settings: Settings, db: Conn) -> None:
    services = ("SVC-DESCALE", "SVC-FLOOR-CARE")  # two services in one visit
    customer, offer = _offer(db, kind="maintenance", skus=services, fulfilment="visit")
    set_store_consent(db, customer, "SH-XUHUI", True)
    instance = db.execute("SELECT instance_id FROM offers WHERE id = %s", (offer,)).fetchone()[0]
    for sku in services:
        db.execute("INSERT INTO offer_lines (offer_id, offer_kind, instance_id, item_sku, "
                   "cycle_start) VALUES (%s, 'maintenance', %s, %s, %s)",
                   (offer, instance, sku, clock.now() - timedelta(days=365)))
    installer = db.execute(
        "WITH c AS (INSERT INTO installer_companies (name) VALUES ('QuickFit') RETURNING id) "
        "INSERT INTO installers (company_id, name, store_id) SELECT id, 'Zhang', 'SH-XUHUI' "
        "FROM c RETURNING id").fetchone()[0]

    accepted = client.post(f"/v1/me/offers/{offer}/accept", headers=auth(settings, customer),
                           json={})

    order_id = accepted.json()["order_request"]["order_id"]
    staff = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    order = client.get(f"/v1/orders/{order_id}", headers=staff).json()
    assert (order["fulfilment"], order["fulfil_store_id"]) == ("visit", "SH-XUHUI")
    steps = f"/v1/staff/orders/{order_id}/steps"
    assert client.post(steps, headers=staff, json={"status": "picked"}).status_code == 409
    booked = client.post(steps, headers=staff, json={
        "status": "installation_booked", "installer_id": installer,
        "install_at": (clock.now() + timedelta(days=2)).isoformat()})
    assert booked.status_code == 200, booked.text
    assert "上门服务已预约" in _outbox_body(db, f"order:{order_id}:installation_booked")
    assert client.post(steps, headers=staff, json={"status": "installed"}).status_code == 200

    # The visit counts as the technician's tap naming the service: its next cycle starts.
    device = db.execute("SELECT id FROM devices WHERE instance_id = %s", (instance,)).fetchone()
    taps = db.execute("SELECT data->>'part', data->>'order_id' FROM events "
                      "WHERE device_id = %s AND kind = 'nfc_tap' ORDER BY time",
                      device).fetchall()
    assert taps == [("SVC-DESCALE", str(order_id)), ("SVC-FLOOR-CARE", str(order_id))]
    from replenishment.items import CycleEvent, applies, service_item
    descale = service_item("SVC-DESCALE", 12, 2000.0, "count")
    assert applies(CycleEvent(0.0, "nfc_tap", "SVC-DESCALE"), descale)
    rating = client.post(f"/v1/me/orders/{order_id}/rating", headers=auth(settings, customer),
                         json={"stars": 5})
    assert rating.status_code == 201  # the customer rates the technician's visit
