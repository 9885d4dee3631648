"""Session tokens name their signing key: rotation signs nobody out, forged keys get nowhere."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from fastapi.testclient import TestClient

from api.app import create_app
from homeloop.settings import Settings
from identity import sessions
from tests.api.conftest import auth

Conn = Any
STAFF_ONLY = "/v1/staff/dead-letters"  # an admin may read it
OLD_DEFAULT = "dev-only-secret-change-me-in-production-0123456789"  # published until now


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(staff_id: int) -> dict[str, object]:
    now = int(time.time())
    return {"iss": sessions.ISSUER, "sub": f"staff:{staff_id}", "role": "admin", "store": None,
            "iat": now, "exp": now + 600, "jti": secrets.token_hex(8)}


def answers(settings: Settings, *tokens: str) -> list[int]:
    with TestClient(create_app(settings)) as client:
        return [client.get(STAFF_ONLY, headers=bearer(t)).status_code for t in tokens]


def _staff_id(db: Conn) -> int:
    row = db.execute("SELECT id FROM staff_members WHERE username = 'root'").fetchone()
    assert row is not None
    return int(row[0])


def test_a_token_signed_with_the_previous_key_still_works_after_rotation(
        settings: Settings, db: Conn) -> None:
    auth(settings, "staff:root")  # the admin
    staff = _staff_id(db)
    before, _ = sessions.issue(settings, "staff", staff, seconds=600, role="admin")
    assert jwt.get_unverified_header(before)["kid"] == sessions.key_id(settings.secret_key)

    rotated = settings.model_copy(update={"secret_key": secrets.token_urlsafe(48),
                                          "previous_secret_keys": [settings.secret_key]})
    after, _ = sessions.issue(rotated, "staff", staff, seconds=600, role="admin")
    assert jwt.get_unverified_header(after)["kid"] == sessions.key_id(rotated.secret_key)
    assert answers(rotated, before, after) == [200, 200]
    # Once the previous key is dropped, its tokens end; the new key's go on.
    dropped = rotated.model_copy(update={"previous_secret_keys": []})
    assert answers(dropped, before, after) == [401, 200]


def test_tokens_naming_no_key_we_hold_or_forged_with_the_old_default_are_refused(
        settings: Settings, db: Conn) -> None:
    auth(settings, "staff:root")
    staff = _staff_id(db)
    stranger = secrets.token_urlsafe(48)
    forged = [
        # an unknown kid
        jwt.encode(claims(staff), stranger, "HS256", headers={"kid": sessions.key_id(stranger)}),
        # our kid, someone else's key
        jwt.encode(claims(staff), stranger, "HS256",
                   headers={"kid": sessions.key_id(settings.secret_key)}),
        # the key that used to be built in, with its kid, with ours and with none
        jwt.encode(claims(staff), OLD_DEFAULT, "HS256",
                   headers={"kid": sessions.key_id(OLD_DEFAULT)}),
        jwt.encode(claims(staff), OLD_DEFAULT, "HS256",
                   headers={"kid": sessions.key_id(settings.secret_key)}),
        jwt.encode(claims(staff), OLD_DEFAULT, "HS256"),
        # and our own key without a kid (tokens from before kids): refused too
        jwt.encode(claims(staff), settings.secret_key, "HS256"),
    ]
    with TestClient(create_app(settings)) as client:
        for token in forged:
            answer = client.get(STAFF_ONLY, headers=bearer(token))
            assert answer.status_code == 401, jwt.get_unverified_header(token)
            assert answer.headers["content-type"] == "application/problem+json"
        good, _ = sessions.issue(settings, "staff", staff, seconds=600, role="admin")
        assert client.get(STAFF_ONLY, headers=bearer(good)).status_code == 200
