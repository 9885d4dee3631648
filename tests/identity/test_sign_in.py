"""Signing in: Firebase customers, staff and kiosk sessions, rate limits, request ids."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from devtools.auth_emulator import AuthEmulator, id_token
from homeloop.settings import Settings
from tests.api.conftest import auth

Conn = Any


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_first_sign_in_creates_the_customer_and_later_ones_find_them(
        client: TestClient, auth_emulator: AuthEmulator, db: Conn) -> None:
    _, token = auth_emulator.sign_up("mei@example.com", "pw-123456", "Mei")
    first = client.get("/v1/me", headers=bearer(token))
    assert first.status_code == 200, first.text
    assert first.json()["display_name"] == "Mei"
    assert [i["kind"] for i in first.json()["identities"]] == ["firebase"]
    _, again = auth_emulator.sign_in("mei@example.com", "pw-123456")
    assert client.get("/v1/me", headers=bearer(again)).json()["id"] == first.json()["id"]
    assert db.execute("SELECT count(*) FROM customers").fetchone() == (1,)
    # The uid is stored only as a keyed hash.
    stored = db.execute("SELECT key_hash, hint FROM customer_identities").fetchone()
    assert stored is not None and len(bytes(stored[0])) == 32 and stored[1] == "app account"


@pytest.mark.clock
@pytest.mark.parametrize("change, detail", [
    (lambda now: {"aud": "someone-elses-project"}, "audience"),
    (lambda now: {"iss": "https://securetoken.google.com/someone-elses-project"}, "issuer"),
    (lambda now: {"exp": now - 60, "iat": now - 3660}, "expired"),  # as of the test's now
    (lambda now: {"sub": ""}, "subject"),
])
def test_id_tokens_for_another_project_expired_or_malformed_are_refused(
        client: TestClient, settings: Settings, change: Callable[[int], dict[str, Any]],
        detail: str) -> None:
    import base64
    import json

    header, payload, _ = id_token(settings.firebase_project_id, "u-1").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(change(int(time.time())))
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    resp = client.get("/v1/me", headers=bearer(f"{header}.{forged}."))
    assert resp.status_code == 401, resp.text
    assert detail in resp.json()["detail"].lower()
    assert resp.headers["www-authenticate"] == "Bearer"


def test_unsigned_tokens_are_refused_when_no_emulator_is_configured(
        client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    token = id_token(settings.firebase_project_id, "u-2")
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    resp = client.get("/v1/me", headers=bearer(token))
    assert resp.status_code == 401
    assert "kid" in resp.json()["detail"]


def test_revoked_sign_in_is_refused_where_revocation_is_checked(
        client: TestClient, auth_emulator: AuthEmulator) -> None:
    account, token = auth_emulator.sign_up("li@example.com", "pw-123456", "Li")
    assert client.get("/v1/me/export", headers=bearer(token)).status_code == 200
    account.valid_since = int(time.time()) + 1  # what firebase-admin's revoke_refresh_tokens sets
    # Routes that read or delete everything check revocation; the others accept the token
    # until it expires, as Firebase documents.
    refused = client.get("/v1/me/export", headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.delete("/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    account.disabled = True
    assert "disabled" in client.get("/v1/me/export", headers=bearer(token)).json()["detail"]


def test_staff_sign_in_gives_a_session_with_their_role_and_disabling_ends_it(
        client: TestClient, settings: Settings) -> None:
    admin = auth(settings, "staff:root")
    made = client.post("/v1/staff/members", headers=admin, json={
        "username": "anna", "display_name": "Anna", "role": "fleet_operator"})
    assert made.status_code == 201, made.text
    password = made.json()["password"]
    wrong = client.post("/v1/auth/staff", json={"username": "anna", "password": "nope"})
    assert wrong.status_code == 401
    assert client.post("/v1/auth/staff", json={"username": "nobody", "password": password}
                       ).status_code == 401
    session = client.post("/v1/auth/staff", json={"username": "anna", "password": password})
    assert session.status_code == 200, session.text
    assert session.json()["role"] == "fleet_operator"
    headers = bearer(session.json()["access_token"])
    assert client.get("/v1/staff/dead-letters", headers=headers).status_code == 200
    assert client.post("/v1/staff/members", headers=headers, json={
        "username": "eve", "display_name": "Eve", "role": "admin"}).status_code == 403
    client.post(f"/v1/staff/members/{made.json()['member']['id']}/disable", headers=admin)
    gone = client.get("/v1/staff/dead-letters", headers=headers)
    assert gone.status_code == 401 and "disabled" in gone.json()["detail"]


def test_a_kiosk_signs_in_with_its_secret_and_revoking_it_ends_its_sessions(
        client: TestClient, settings: Settings) -> None:
    assistant = auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
    other_store = client.post("/v1/staff/kiosks", headers=assistant,
                              json={"store_id": "BJ-SIYUAN", "name": "entrance"})
    assert other_store.status_code == 403
    made = client.post("/v1/staff/kiosks", headers=assistant,
                       json={"store_id": "SH-XUHUI", "name": "entrance"}).json()
    kiosk_id, secret = made["kiosk"]["id"], made["secret"]
    assert client.post("/v1/auth/kiosk", json={"kiosk_id": kiosk_id, "secret": "x" * 43}
                       ).status_code == 401
    session = client.post("/v1/auth/kiosk", json={"kiosk_id": kiosk_id, "secret": secret})
    assert session.status_code == 200 and session.json()["store_id"] == "SH-XUHUI"
    kiosk = bearer(session.json()["access_token"])
    assert client.post("/v1/kiosk/handoffs", headers=kiosk).status_code == 201
    # A kiosk is not staff and not a customer.
    assert client.get("/v1/staff/dead-letters", headers=kiosk).status_code == 403
    assert client.get("/v1/me/products", headers=kiosk).status_code == 403
    client.post(f"/v1/staff/kiosks/{kiosk_id}/revoke", headers=assistant)
    assert client.post("/v1/kiosk/handoffs", headers=kiosk).status_code == 401
    assert client.post("/v1/auth/kiosk", json={"kiosk_id": kiosk_id, "secret": secret}
                       ).status_code == 401


def test_rate_limits_are_per_identity_and_say_when_to_retry(
        settings: Settings, db: Conn) -> None:
    from customers.store import create_customer

    strict = settings.model_copy(update={"rate_limit": "5/minute",
                                         "sign_in_rate_limit": "3/minute"})
    a, b = create_customer(db, "A"), create_customer(db, "B")
    with TestClient(create_app(strict)) as client:
        client.app.state.limiter.storage.reset()  # type: ignore[attr-defined]
        answers = [client.get("/v1/me", headers=auth(settings, a)).status_code
                   for _ in range(6)]
        assert answers == [200] * 5 + [429]
        over = client.get("/v1/me", headers=auth(settings, a))
        assert over.headers["content-type"] == "application/problem+json"
        assert 1 <= int(over.headers["retry-after"]) <= 61
        assert client.get("/v1/me", headers=auth(settings, b)).status_code == 200
        tries = [client.post("/v1/auth/staff", json={"username": "x", "password": "y"}
                             ).status_code for _ in range(4)]
        assert tries == [401, 401, 401, 429]


def test_guessing_tokens_from_one_address_is_slowed_down(settings: Settings, db: Conn) -> None:
    from customers.store import create_customer

    strict = settings.model_copy(update={"failed_auth_rate_limit": "3/minute"})
    me = create_customer(db, "Li")
    with TestClient(create_app(strict)) as client:
        client.app.state.limiter.storage.reset()  # type: ignore[attr-defined]
        guesses = [client.get("/v1/me", headers=bearer(f"guess-{n}")).status_code
                   for n in range(4)]
        assert guesses == [401, 401, 401, 429]
        # A valid token still gets in: only failures count.
        assert client.get("/v1/me", headers=auth(settings, me)).status_code == 200


def test_every_answer_has_a_request_id_and_errors_quote_it(client: TestClient) -> None:
    ok = client.get("/healthz")
    assert len(ok.headers["x-request-id"]) >= 32
    given = "6f1d0c1e-8a53-4b2a-9d0a-2c6b9a0e4f11"
    error = client.get("/v1/me", headers={"X-Request-ID": given})
    assert error.status_code == 401
    assert error.headers["x-request-id"] == given
    assert error.json()["request_id"] == given
    # A caller cannot inject arbitrary text into our logs through the header.
    odd = client.get("/healthz", headers={"X-Request-ID": "x\nforged log line"})
    assert odd.headers["x-request-id"] != "x\nforged log line"


def test_open_routes_are_rate_limited_per_address(settings: Settings, db: Conn) -> None:
    strict = settings.model_copy(update={"anonymous_rate_limit": "3/minute"})
    with TestClient(create_app(strict)) as client:
        client.app.state.limiter.storage.reset()  # type: ignore[attr-defined]
        answers = [client.get("/v1/search", params={"q": "sofa"}).status_code
                   for _ in range(4)]
        assert answers == [200, 200, 200, 429]


def test_a_staff_password_set_anew_signs_in_and_the_old_one_no_longer_does(
        client: TestClient, db: Conn) -> None:
    from identity.staff import create_staff, set_password

    member, first = create_staff(db, "ann.demo", "Ann", "assistant", "SH-XUHUI")
    set_password(db, member.id, "a-new-password")
    for password, expected in ((first, 401), ("a-new-password", 200)):
        r = client.post("/v1/auth/staff", json={"username": "ann.demo", "password": password})
        assert r.status_code == expected, r.text
    assert r.json()["role"] == "assistant" and r.json()["store_id"] == "SH-XUHUI"
