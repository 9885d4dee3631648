"""Customers by their app account: the first sign-in creates the customer.

An identity of a record that was merged into another opens the survivor (the merge moves the
identities along; :func:`identity.merge.survivor` covers any left behind).
"""

from __future__ import annotations

from customers.store import create_customer
from homeloop.db import Conn
from homeloop.settings import Settings
from identity.firebase import FirebaseUser
from identity.keys import hint, identity_hash
from identity.merge import survivor

__all__ = ["customer_for", "find_customer"]


def find_customer(conn: Conn, settings: Settings, kind: str, value: str) -> int | None:
    row = conn.execute(
        "SELECT customer_id FROM customer_identities WHERE kind = %s AND key_hash = %s",
        (kind, identity_hash(settings, kind, value))).fetchone()  # type: ignore[arg-type]
    return survivor(conn, int(row[0])) if row else None


def customer_for(conn: Conn, settings: Settings, user: FirebaseUser) -> tuple[int, bool]:
    """The customer signed in as ``user``, and whether this sign-in created them."""
    key = identity_hash(settings, "firebase", user.uid)
    found = _account(conn, key)
    if found is not None:
        return found, False
    # Two first requests at once must not create two customers: serialise on the account.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(key[:8], "big",
                                                                      signed=True),))
    found = _account(conn, key)
    if found is not None:
        return found, False
    name = user.name or (user.email.split("@", 1)[0] if user.email else "Customer")
    customer_id = create_customer(conn, name[:200])
    conn.execute("INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
                 "VALUES (%s, 'firebase', %s, %s, 'firebase_sign_in')",
                 (customer_id, key, hint("firebase", user.uid)))
    return customer_id, True


def _account(conn: Conn, key: bytes) -> int | None:
    found = conn.execute("SELECT i.customer_id, c.merged_into IS NOT NULL "
                         "FROM customer_identities i JOIN customers c ON c.id = i.customer_id "
                         "WHERE i.kind = 'firebase' AND i.key_hash = %s", (key,)).fetchone()
    if found is None:
        return None
    return survivor(conn, int(found[0])) if found[1] else int(found[0])
