"""Pushing offers through the outbox and firebase-admin, against a local stand-in of FCM v1
and of Google's OAuth token endpoint (tests/fcm_standin.py): real HTTP, no network.

``now`` is a parameter everywhere, so backoff is driven by the clock, not by sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from homeloop import clock
from homeloop.settings import Settings
from notifications.fcm import FcmSender, open_sender
from replenishment import outbox
from replenishment.outbox import PushPolicy
from replenishment.tasks import run_pushes
from tests.conftest import in_two_transactions_at_once
from tests.fcm_standin import ACCESS_TOKEN, FcmStandIn, serve, service_account
from tests.replenishment.test_offers import NOW, customer, evaluate, forecast, product

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]
PROJECT = "homeloop-test"


@pytest.fixture
def fcm() -> Iterator[FcmStandIn]:
    yield from serve()


@pytest.fixture
def push_settings(settings: Settings, fcm: FcmStandIn, tmp_path: Path) -> Settings:
    account = service_account(tmp_path / "service-account.json", f"{fcm.url}/token", PROJECT)
    return settings.model_copy(update={"fcm_credentials_file": account,
                                       "fcm_endpoint": fcm.url, "push_backoff_s": 60.0})


@pytest.fixture
def sender(push_settings: Settings) -> Iterator[FcmSender]:
    made = open_sender(push_settings)
    assert made is not None
    yield made
    made.close()


def offer_for(db: Conn, owner: int, sku: str = "WP-500", item: str = "FLT-PP-1") -> int:
    """A product of the customer whose consumable is due, and its offer decided at NOW."""
    forecast(db, product(db, owner, sku), item, 1.0)
    evaluate(db)
    row = db.execute("SELECT max(id) FROM offers WHERE customer_id = %s", (owner,)).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def token(db: Conn, owner: int, value: str, at: datetime = NOW) -> None:
    with db.transaction():
        outbox.register_push_token(db, owner, value, "android", at)


def push(db: Conn, sender: FcmSender, at: datetime = NOW,
         policy: PushPolicy | None = None) -> outbox.DeliverResult:
    with db.transaction():
        outbox.enqueue(db, at)
    with db.transaction():
        return outbox.deliver(db, sender, at, policy or PushPolicy())


def row_of(db: Conn, offer_id: int) -> dict[str, Any]:
    cur = db.execute("SELECT b.*, o.status AS offer_status FROM outbox b "
                     "JOIN offers o ON o.id = b.offer_id WHERE b.offer_id = %s", (offer_id,))
    names = [c.name for c in cur.description or []]
    found = cur.fetchone()
    assert found is not None, f"offer {offer_id} is not in the outbox"
    return dict(zip(names, found, strict=True))


def test_a_pending_offer_is_pushed_in_the_customers_language_and_becomes_sent(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    owner = customer(db, locale="zh-CN")
    offer_id = offer_for(db, owner)
    token(db, owner, "phone-1")
    reason_zh, instance_id = db.execute("SELECT reason_zh, instance_id FROM offers").fetchone()

    result = push(db, sender)

    assert (result.claimed, result.sent) == (1, 1)
    [sent] = fcm.sent
    assert len(fcm.token_requests) == 1  # google-auth fetched its access token here
    assert fcm.token_requests[0]["grant_type"].startswith("urn")
    assert sent.authorization == f"Bearer {ACCESS_TOKEN}" and sent.project == PROJECT
    message = sent.body["message"]
    assert message["token"] == "phone-1"
    assert message["notification"] == {"title": "该补货了", "body": reason_zh}
    assert message["data"] == {"offer_id": str(offer_id), "kind": "replenish",
                               "product_id": str(instance_id)}
    row = row_of(db, offer_id)
    assert (row["status"], row["offer_status"], row["attempts"]) == ("sent", "sent", 1)
    assert row["fcm_message_ids"] == [f"projects/{PROJECT}/messages/1"]
    assert row["sent_at"] == NOW

    # Once per offer: a rerun, later, sends nothing.
    assert push(db, sender, NOW + timedelta(minutes=5)).claimed == 0
    assert len(fcm.sent) == 1


def test_english_customers_get_the_english_reason(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    owner = customer(db, locale="en")
    offer_for(db, owner)
    token(db, owner, "phone-1")
    push(db, sender)
    [reason_en] = db.execute("SELECT reason_en FROM offers").fetchone()
    assert fcm.sent[0].body["message"]["notification"] == {"title": "Time to restock",
                                                           "body": reason_en}


def test_an_unregistered_token_is_pruned_and_never_used_again(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    owner = customer(db)
    first = offer_for(db, owner)
    for value in ("dead-token", "bad-token", "phone-2"):
        token(db, owner, value)

    result = push(db, sender)

    assert (result.sent, result.pruned_tokens) == (1, 2)
    assert sorted(fcm.tokens_sent_to()) == ["bad-token", "dead-token", "phone-2"]
    assert row_of(db, first)["status"] == "sent"
    pruned = dict(db.execute("SELECT token, pruned_reason FROM push_tokens "
                             "WHERE pruned_at IS NOT NULL").fetchall())
    assert set(pruned) == {"dead-token", "bad-token"}
    assert pruned["dead-token"].startswith("UnregisteredError")
    assert pruned["bad-token"].startswith("InvalidArgumentError")

    fcm.sent.clear()
    second = offer_for(db, owner, "DW-60", "DET-TAB-30")
    assert push(db, sender).sent == 1
    assert fcm.tokens_sent_to() == ["phone-2"]
    assert row_of(db, second)["status"] == "sent"


def test_a_customer_whose_only_token_is_dead_waits_for_a_new_one(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    owner = customer(db)
    offer_id = offer_for(db, owner)
    token(db, owner, "dead-token")

    assert push(db, sender).failed == 1
    row = row_of(db, offer_id)
    assert (row["status"], row["last_error"], row["offer_status"]) == (
        "failed", "no push token", "pending")
    assert push(db, sender, NOW + timedelta(minutes=1)).claimed == 0  # not retried on its own

    token(db, owner, "new-phone", NOW + timedelta(minutes=2))
    assert push(db, sender, NOW + timedelta(minutes=2)).sent == 1
    assert fcm.tokens_sent_to() == ["dead-token", "new-phone"]
    assert row_of(db, offer_id)["offer_status"] == "sent"


def test_a_customer_without_any_token_fails_without_calling_fcm(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    offer_id = offer_for(db, customer(db))
    assert push(db, sender).failed == 1
    assert row_of(db, offer_id)["last_error"] == "no push token"
    assert fcm.sent == [] and fcm.token_requests == []


def test_unavailable_is_retried_with_exponential_backoff_then_sent(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    fcm.flaky_failures = 2
    owner = customer(db)
    offer_id = offer_for(db, owner)
    token(db, owner, "flaky-token")

    assert push(db, sender).retrying == 1
    row = row_of(db, offer_id)
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["next_attempt_at"] == NOW + timedelta(seconds=60)
    assert "UnavailableError" in row["last_error"]
    assert len(fcm.sent) == 1  # the library did not retry inside the call

    assert push(db, sender, NOW + timedelta(seconds=59)).claimed == 0  # not yet
    assert push(db, sender, NOW + timedelta(seconds=60)).retrying == 1
    assert row_of(db, offer_id)["next_attempt_at"] == NOW + timedelta(seconds=60 + 120)

    assert push(db, sender, NOW + timedelta(seconds=180)).sent == 1
    row = row_of(db, offer_id)
    assert (row["status"], row["attempts"], row["offer_status"]) == ("sent", 3, "sent")
    assert len(fcm.sent) == 3


def test_after_the_last_attempt_the_push_is_dead_with_the_error(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    fcm.flaky_failures = 10
    owner = customer(db)
    offer_id = offer_for(db, owner)
    token(db, owner, "flaky-token")
    policy = PushPolicy(max_attempts=2, backoff_s=1)

    assert push(db, sender, NOW, policy).retrying == 1
    assert push(db, sender, NOW + timedelta(seconds=1), policy).dead == 1
    row = row_of(db, offer_id)
    assert (row["status"], row["attempts"], row["offer_status"]) == ("dead", 2, "pending")
    assert "503" in row["last_error"] or "unavailable" in row["last_error"].lower()
    assert push(db, sender, NOW + timedelta(hours=1), policy).claimed == 0


def test_no_access_token_retries_the_whole_batch(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    fcm.token_status = 500
    owner = customer(db)
    offer_id = offer_for(db, owner)
    token(db, owner, "phone-1")

    assert push(db, sender).retrying == 1
    assert row_of(db, offer_id)["status"] == "queued" and fcm.sent == []

    fcm.token_status = 200
    assert push(db, sender, NOW + timedelta(minutes=1)).sent == 1


def test_two_deliveries_at_once_send_each_message_once(
        db: Conn, fcm: FcmStandIn, sender: FcmSender, settings: Settings) -> None:
    fcm.send_delay_s = 0.3  # the first holds its rows while the second claims
    owners = [customer(db) for _ in range(4)]
    for n, owner in enumerate(owners):
        offer_for(db, owner)
        token(db, owner, f"phone-{n}")
    with db.transaction():
        assert outbox.enqueue(db, NOW) == 4
    results = in_two_transactions_at_once(
        settings, lambda conn: outbox.deliver(conn, sender, NOW))
    assert sum(r.sent for r in results) == 4
    assert sorted(fcm.tokens_sent_to()) == [f"phone-{n}" for n in range(4)]
    assert db.execute("SELECT count(*) FROM offers WHERE status = 'sent'").fetchone() == (4,)


def test_offers_deferred_by_quiet_hours_are_not_pushed_before_deliver_after(
        db: Conn, fcm: FcmStandIn, push_settings: Settings, sender: FcmSender) -> None:
    owner = customer(db, timezone="Asia/Shanghai")
    forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 2.0)
    token(db, owner, "phone-1")
    night = datetime(2025, 3, 10, 15, 30, tzinfo=NOW.tzinfo)  # 23:30 in Shanghai
    morning = datetime(2025, 3, 11, 0, 0, tzinfo=NOW.tzinfo)  # 08:00
    assert evaluate(db, night).deferred == 1

    assert run_pushes(push_settings, sender, night).queued == 0
    assert run_pushes(push_settings, sender, morning - timedelta(minutes=1)).queued == 0
    assert fcm.sent == []

    assert evaluate(db, morning).released == 1
    done = run_pushes(push_settings, sender, morning)
    assert done.queued == 1 and done.delivered is not None and done.delivered.sent == 1
    assert fcm.tokens_sent_to() == ["phone-1"]


def test_opened_or_dismissed_offers_are_not_pushed(
        db: Conn, fcm: FcmStandIn, sender: FcmSender) -> None:
    owner = customer(db)
    offer_id = offer_for(db, owner)
    token(db, owner, "phone-1")
    with db.transaction():
        outbox.enqueue(db, NOW)
    db.execute("UPDATE offers SET status = 'dismissed' WHERE id = %s", (offer_id,))

    with db.transaction():
        assert outbox.deliver(db, sender, NOW).failed == 1
    assert row_of(db, offer_id)["last_error"] == "offer dismissed"
    assert fcm.sent == []


def test_without_a_service_account_pushes_are_queued_not_sent(
        db: Conn, settings: Settings) -> None:
    from homeloop.worker import make_celery

    offer_id = offer_for(db, customer(db))
    assert open_sender(settings) is None
    done = run_pushes(settings, None, NOW)
    assert (done.queued, done.delivered) == (1, None)
    assert row_of(db, offer_id)["status"] == "queued"
    schedule = make_celery(settings).conf.beat_schedule["send-pushes"]
    assert schedule["task"] == "replenishment.send_pushes"


@pytest.mark.real_clock("the Celery worker is another process, on the machine's clock")
def test_a_real_worker_pushes_a_pending_offer_once(
        db: Conn, fcm: FcmStandIn, push_settings: Settings) -> None:
    import subprocess
    import sys

    from homeloop.worker import make_celery
    from tests.conftest import process_env

    owner = customer(db)
    instance = product(db, owner, "WP-500")
    db.execute(
        "INSERT INTO offers (customer_id, instance_id, kind, item_skus, cycle_key, reason_en, "
        "reason_zh, fulfilment, store_id, lead_days, due_at, expires_at, deliver_after, "
        "decided_at) VALUES (%(owner)s, %(instance)s, 'replenish', ARRAY['FLT-PP-1'], 'now', "
        "'Filter due', "
        "'滤芯到期', 'pickup', 'SH-XUHUI', 1, %(now)s + interval '2 days', "
        "%(now)s + interval '5 days', %(now)s, %(now)s)",
        {"owner": owner, "instance": instance, "now": clock.now()})
    token(db, owner, "phone-1", clock.now())
    env = process_env(push_settings, fcm_credentials_file=str(push_settings.fcm_credentials_file),
                      fcm_endpoint=str(push_settings.fcm_endpoint))
    worker = subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = make_celery(push_settings)
        first = app.send_task("replenishment.send_pushes").get(timeout=60)
        again = app.send_task("replenishment.send_pushes").get(timeout=60)
        app.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert first["queued"] == 1 and first["delivered"]["sent"] == 1
    assert again["queued"] == 0 and again["delivered"]["sent"] == 0
    assert fcm.tokens_sent_to() == ["phone-1"]
    assert db.execute("SELECT status FROM offers").fetchone() == ("sent",)
