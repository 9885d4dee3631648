"""Identity tests: the API fixtures, an SMS gateway stand-in, and a customer with a history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from homeloop import clock
from homeloop.settings import Settings
from tests.api.conftest import auth_emulator as auth_emulator
from tests.api.conftest import client as client


@dataclass
class SmsStandIn:
    """Records what the SMS gateway was asked to send; ``fail`` answers 503."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def start(self) -> SmsStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if standin.fail:
                    self.send_response(503)
                else:
                    standin.messages.append(body)
                    self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def last_code(self) -> str:
        return str(self.messages[-1]["text"]).split("code: ")[1][:6]


@pytest.fixture
def sms() -> Iterator[SmsStandIn]:
    standin = SmsStandIn().start()
    yield standin
    assert standin.server is not None
    standin.server.shutdown()
    standin.server.server_close()


@pytest.fixture
def sms_settings(settings: Settings, sms: SmsStandIn) -> Settings:
    return settings.model_copy(update={"sms_endpoint": sms.url})


@dataclass
class Person:
    id: int
    name: str
    product_id: int
    offer_id: int
    card: str
    phone: str


def make_person(db: Any, settings: Settings, name: str, *, card: str, phone: str,
                points: int = 0) -> Person:
    """A customer with something in every corner: a product with an offer and its line, a
    push token, consent answers, a store's consent, a linked member card and (verified) phone,
    points."""
    from customers import store as customers
    from customers.consents import set_consents
    from device_gateway.provisioning import provision
    from identity.audit import Actor
    from identity.linking import link_identity
    from identity.privacy import set_purposes, set_store_consent

    customer = customers.create_customer(db, name, home_store_id="SH-XUHUI")
    db.execute("UPDATE customers SET points = %s WHERE id = %s", (points, customer))
    made = provision(db, "WP-500", 1)[0]
    customers.claim(db, customer, device_id=made.device_id, via="nfc_tap")
    now = clock.now()
    row = db.execute(
        "INSERT INTO offers (customer_id, instance_id, kind, item_skus, cycle_key, reason_en, "
        "reason_zh, fulfilment, store_id, lead_days, due_at, expires_at, deliver_after, "
        "decided_at) VALUES (%(c)s, %(i)s, 'replenish', ARRAY['FLT-PP-1'], %(k)s, 'Filter due', "
        "'滤芯到期', 'pickup', 'SH-XUHUI', 0, %(now)s, %(now)s + interval '3 days', %(now)s, "
        "%(now)s) RETURNING id",
        {"now": now, "c": customer, "i": made.instance_id, "k": f"cycle-{name}"}).fetchone()
    assert row is not None
    db.execute("INSERT INTO offer_lines (offer_id, offer_kind, instance_id, item_sku, "
               "cycle_start) VALUES (%s, 'replenish', %s, 'FLT-PP-1', %s)",
               (row[0], made.instance_id, now))
    db.execute("INSERT INTO push_tokens (customer_id, token, platform) VALUES (%s, %s, 'ios')",
               (customer, f"push-token-of-{name}"))
    set_consents(db, customer, {"upsell": True})
    set_purposes(db, customer, {"usage_analytics": True})
    set_store_consent(db, customer, "SH-XUHUI", True)
    link_identity(db, settings, customer, "member_card", card, proof="test", by=Actor("test"))
    # as if verified with a code sent to it: the phone is a channel of this record
    link_identity(db, settings, customer, "phone", phone, proof="sms_code", by=Actor("test"))
    return Person(customer, name, made.instance_id, int(row[0]), card, phone)
