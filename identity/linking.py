"""Linking a member card or phone number to a customer, with proof; merging on a match.

- **Phone**: :func:`start_phone_link` makes a 6-digit code (stored as a keyed hash, valid
  ``phone_code_minutes``) for the caller to send by SMS; :func:`verify_phone_link` checks it
  (at most ``phone_code_attempts`` tries per code) and links the number.
- **Member card**: a store assistant scans it at the till (:func:`link_identity` with proof
  ``staff_scan``).

If the identity already belongs to another customer record, that record is merged into this
one (:func:`identity.merge.merge_customers`): the person is one customer again, with all the
products, designs, points and offers of both. Callers own the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import Gone, InvalidInput, NotFound
from homeloop.settings import Settings
from identity.keys import Kind, hint, identity_hash, secret_hash
from identity.merge import merge_customers

__all__ = ["Linked", "identities_of", "link_identity", "start_phone_link", "unlink_identity",
           "verify_phone_link"]


@dataclass(frozen=True, slots=True)
class Linked:
    kind: str
    hint: str
    merged_from: int | None  # the customer record merged into this one, if any
    moved: dict[str, int]


def link_identity(conn: Conn, settings: Settings, customer_id: int, kind: Kind, value: str, *,
                  proof: str, by: str) -> Linked:
    key = identity_hash(settings, kind, value)
    owner = conn.execute("SELECT customer_id FROM customer_identities "
                         "WHERE kind = %s AND key_hash = %s FOR UPDATE", (kind, key)).fetchone()
    if owner is not None and int(owner[0]) == customer_id:
        return Linked(kind, hint(kind, value), None, {})
    merged_from, moved = None, {}
    if owner is not None:
        merged_from = int(owner[0])
        moved = merge_customers(conn, merged_from, customer_id, by)
    else:
        conn.execute("INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
                     "VALUES (%s, %s, %s, %s, %s)",
                     (customer_id, kind, key, hint(kind, value), proof))
    return Linked(kind, hint(kind, value), merged_from, moved)


def start_phone_link(conn: Conn, settings: Settings, customer_id: int, phone: str) -> str:
    """A new code for ``phone``; earlier codes for it stop working."""
    phone_key = identity_hash(settings, "phone", phone)
    now = clock.now()
    conn.execute("UPDATE phone_codes SET used_at = %s WHERE customer_id = %s "
                 "AND phone_hash = %s AND used_at IS NULL", (now, customer_id, phone_key))
    code = f"{secrets.randbelow(1_000_000):06d}"
    conn.execute("INSERT INTO phone_codes (customer_id, phone_hash, code_hash, expires_at) "
                 "VALUES (%s, %s, %s, %s)",
                 (customer_id, phone_key, secret_hash(settings, f"{phone_key.hex()}:{code}"),
                  now + timedelta(minutes=settings.phone_code_minutes)))
    return code


def verify_phone_link(conn: Conn, settings: Settings, customer_id: int, phone: str,
                      code: str) -> Linked:
    """Check the code and link the phone. A wrong code counts an attempt (commit it!)."""
    phone_key = identity_hash(settings, "phone", phone)
    row = conn.execute(
        "SELECT id, code_hash, expires_at > %s, attempts FROM phone_codes "
        "WHERE customer_id = %s AND phone_hash = %s AND used_at IS NULL "
        "ORDER BY id DESC LIMIT 1 FOR UPDATE", (clock.now(), customer_id, phone_key)).fetchone()
    if row is None:
        raise NotFound("no code was sent to this number: ask for one first")
    code_id, code_hash, live, attempts = int(row[0]), bytes(row[1]), bool(row[2]), int(row[3])
    if not live or attempts >= settings.phone_code_attempts:
        raise Gone("this code has expired or had too many wrong tries: ask for a new one")
    expected = secret_hash(settings, f"{phone_key.hex()}:{code.strip()}")
    if not secrets.compare_digest(code_hash, expected):
        conn.execute("UPDATE phone_codes SET attempts = attempts + 1 WHERE id = %s", (code_id,))
        left = settings.phone_code_attempts - attempts - 1
        raise InvalidInput(f"wrong code; {left} tries left", tries_left=left)
    conn.execute("UPDATE phone_codes SET used_at = %s WHERE id = %s", (clock.now(), code_id))
    return link_identity(conn, settings, customer_id, "phone", phone, proof="sms_code",
                         by=f"customer:{customer_id}")


def identities_of(conn: Conn, customer_id: int) -> list[tuple[int, str, str, str]]:
    """(id, kind, hint, proof) of each linked identity."""
    return [(int(i), str(k), str(h), str(p)) for i, k, h, p in conn.execute(
        "SELECT id, kind, hint, proof FROM customer_identities WHERE customer_id = %s "
        "ORDER BY id", (customer_id,)).fetchall()]


def unlink_identity(conn: Conn, customer_id: int, identity_id: int) -> None:
    row = conn.execute("SELECT kind FROM customer_identities WHERE id = %s "
                       "AND customer_id = %s", (identity_id, customer_id)).fetchone()
    if row is None:
        raise NotFound(f"identity {identity_id} does not exist")
    if row[0] == "firebase":
        raise InvalidInput("the app account you are signed in with cannot be unlinked")
    conn.execute("DELETE FROM customer_identities WHERE id = %s", (identity_id,))

