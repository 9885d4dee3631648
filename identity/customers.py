"""Customers by their app account: the first sign-in creates the customer."""

from __future__ import annotations

from customers.store import create_customer
from homeloop.db import Conn
from homeloop.settings import Settings
from identity.firebase import FirebaseUser
from identity.keys import hint, identity_hash

__all__ = ["customer_for", "find_customer"]


def find_customer(conn: Conn, settings: Settings, kind: str, value: str) -> int | None:
    row = conn.execute(
        "SELECT customer_id FROM customer_identities WHERE kind = %s AND key_hash = %s",
        (kind, identity_hash(settings, kind, value))).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else None


def customer_for(conn: Conn, settings: Settings, user: FirebaseUser) -> tuple[int, bool]:
    """The customer signed in as ``user``, and whether this sign-in created them."""
    key = identity_hash(settings, "firebase", user.uid)
    found = conn.execute("SELECT customer_id FROM customer_identities "
                         "WHERE kind = 'firebase' AND key_hash = %s", (key,)).fetchone()
    if found:
        return int(found[0]), False
    # Two first requests at once must not create two customers: serialise on the account.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(key[:8], "big",
                                                                      signed=True),))
    found = conn.execute("SELECT customer_id FROM customer_identities "
                         "WHERE kind = 'firebase' AND key_hash = %s", (key,)).fetchone()
    if found:
        return int(found[0]), False
    name = user.name or (user.email.split("@", 1)[0] if user.email else "Customer")
    customer_id = create_customer(conn, name[:200])
    conn.execute("INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
                 "VALUES (%s, 'firebase', %s, %s, 'firebase_sign_in')",
                 (customer_id, key, hint("firebase", user.uid)))
    return customer_id, True
