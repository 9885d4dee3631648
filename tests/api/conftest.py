"""The API under test: a client on the real app and database, and real credentials.

Customers sign in with Firebase ID tokens from a local Auth emulator stand-in (the protocol
firebase-admin supports through FIREBASE_AUTH_EMULATOR_HOST); staff and kiosks with session
tokens the API issues. :func:`auth` makes either for a test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from catalog.seed import STORES
from devtools.auth_emulator import Account, AuthEmulator, id_token
from homeloop.settings import Settings
from identity import sessions
from identity.keys import identity_hash

_emulator: AuthEmulator | None = None


def emulator(settings: Settings) -> AuthEmulator:
    """The session's Auth emulator; FIREBASE_AUTH_EMULATOR_HOST points firebase-admin at it."""
    global _emulator
    if _emulator is None:
        _emulator = AuthEmulator(settings.firebase_project_id).start()
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = _emulator.address
    return _emulator


@pytest.fixture(scope="session", autouse=True)
def auth_emulator(settings: Settings) -> Iterator[AuthEmulator]:
    started = emulator(settings)
    yield started
    started.stop()
    os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)


@pytest.fixture
def client(settings: Settings,
           db: psycopg.Connection[tuple[Any, ...]]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:  # db: no rate-limit counters yet
        yield test_client


def customer_uid(customer_id: int) -> str:
    return f"test-customer-{customer_id}"


def _store(store: object) -> str | None:
    if store is None:
        return None
    if isinstance(store, int):  # the n-th store of the seed catalog
        return STORES[store - 1][0]
    return str(store)


def auth(settings: Settings, who: str | int, **claims: object) -> dict[str, str]:
    """A bearer header for ``who``.

    - a customer id: a Firebase ID token (emulator) for an account linked to that customer;
    - ``"staff:<name>"``: a staff session; an admin unless ``role=`` says otherwise, of
      ``store=`` (a store id, or the n-th seed store) — assistants default to the first store;
    - ``"kiosk:<name>"``: a session of a kiosk of ``store=`` (default the first store).
    """
    if isinstance(who, str) and who.startswith("customer:"):
        who = int(who.removeprefix("customer:"))
    if isinstance(who, int):
        uid = customer_uid(who)
        emulator(settings).accounts.setdefault(uid, Account(uid, None, None, None))
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
                "SELECT id, 'firebase', %s, 'app account', 'test' FROM customers WHERE id = %s "
                "ON CONFLICT (kind, key_hash) DO NOTHING",
                (identity_hash(settings, "firebase", uid), who))
        return {"Authorization": f"Bearer {id_token(settings.firebase_project_id, uid)}"}
    kind, _, name = who.partition(":")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        if kind == "staff":
            role = str(claims.get("role", "admin"))
            store = _store(claims.get("store")) or (STORES[0][0] if role == "assistant" else None)
            found = conn.execute("SELECT id FROM staff_members WHERE username = %s",
                                 (name,)).fetchone()
            if found is None:  # not create_staff: an Argon2 hash per test is slow and unused
                staff_id = conn.execute(
                    "INSERT INTO staff_members (username, display_name, role, store_id, "
                    "password_hash) VALUES (%s, %s, %s, %s, 'no sign-in') RETURNING id",
                    (name, name.title(), role, store)).fetchone()[0]
            else:
                staff_id = int(found[0])
                conn.execute("UPDATE staff_members SET role = %s, store_id = %s WHERE id = %s",
                             (role, store, staff_id))
            token, _ = sessions.issue(settings, "staff", staff_id, seconds=3600, role=role,
                                      store_id=store)
        elif kind == "kiosk":
            store = _store(claims.get("store")) or STORES[0][0]
            found = conn.execute("SELECT id FROM kiosks WHERE name = %s AND store_id = %s",
                                 (f"test kiosk {name}", store)).fetchone()
            if found is None:
                found = conn.execute(
                    "INSERT INTO kiosks (store_id, name, secret_hash, created_by) "
                    "VALUES (%s, %s, '\\x00', 'test') RETURNING id",
                    (store, f"test kiosk {name}")).fetchone()
            assert found is not None
            token, _ = sessions.issue(settings, "kiosk", int(found[0]), seconds=3600,
                                      store_id=store)
        else:
            raise ValueError(f"who is a customer id, 'staff:<name>' or 'kiosk:<name>': {who!r}")
    return {"Authorization": f"Bearer {token}"}
