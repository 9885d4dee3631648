"""The home app registers its push token and reports a tapped notification."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from customers import store as customers
from homeloop import clock
from homeloop.settings import Settings
from replenishment import outbox
from tests.api.conftest import auth
from tests.api.test_offers import offered

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]


def test_register_a_push_token_idempotently_and_delete_only_my_own(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = customers.create_customer(db, "Sun")
    stranger = customers.create_customer(db, "Stranger")
    body = {"token": "fcm-token-1", "platform": "android"}

    first = client.post("/v1/me/push-tokens", headers=auth(settings, owner), json=body)
    again = client.post("/v1/me/push-tokens", headers=auth(settings, owner), json=body)

    assert first.status_code == 200, first.text
    assert first.json()["token"] == "fcm-token-1" and first.json()["platform"] == "android"
    assert again.json()["created_at"] == first.json()["created_at"]
    assert db.execute("SELECT customer_id, count(*) FROM push_tokens GROUP BY 1"
                      ).fetchall() == [(owner, 1)]

    bad = client.post("/v1/me/push-tokens", headers=auth(settings, owner),
                      json={"token": "x", "platform": "fax"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert client.post("/v1/me/push-tokens", json=body).status_code == 401

    resp = client.delete("/v1/me/push-tokens/fcm-token-1", headers=auth(settings, stranger))
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    resp = client.delete("/v1/me/push-tokens/fcm-token-1", headers=auth(settings, owner))
    assert resp.status_code == 204
    assert db.execute("SELECT count(*) FROM push_tokens").fetchone() == (0,)


def test_registering_a_token_queues_again_the_pushes_that_had_none(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = offered(db, "en", 1.0, quiet=None)  # at any hour: no quiet hours defer it
    now = clock.now()
    with db.transaction():
        outbox.enqueue(db, now)

        class NoCall:
            def send(self, pushes: object) -> list[Any]:
                raise AssertionError("nothing to send without a token")

        assert outbox.deliver(db, NoCall(), now).failed == 1

    resp = client.post("/v1/me/push-tokens", headers=auth(settings, owner),
                       json={"token": "fcm-token-2", "platform": "ios"})
    assert resp.status_code == 200, resp.text
    status, error, due = db.execute(
        "SELECT status, last_error, next_attempt_at FROM outbox").fetchone()
    assert (status, error) == ("queued", None) and due > now - timedelta(seconds=1)


def test_open_my_offer_once_others_get_404_and_dismissed_ones_409(
        client: TestClient, settings: Settings, db: Conn) -> None:
    owner = offered(db, "en", 1.0)
    stranger = customers.create_customer(db, "Stranger", locale="en")
    [offer] = client.get("/v1/me/offers", headers=auth(settings, owner)).json()
    db.execute("UPDATE offers SET status = 'sent'")
    path = f"/v1/me/offers/{offer['id']}/open"

    resp = client.post(path, headers=auth(settings, stranger))
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"

    resp = client.post(path, headers=auth(settings, owner))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "opened"
    assert client.post(path, headers=auth(settings, owner)).json()["status"] == "opened"

    db.execute("UPDATE offers SET status = 'dismissed'")
    resp = client.post(path, headers=auth(settings, owner))
    assert resp.status_code == 409 and "dismissed" in resp.json()["detail"]
