"""One-time codes sent by SMS to prove control of a phone: linking a phone, confirming a merge.

A code has 6 digits, is stored as a keyed hash (with the phone, and the merge request it is
for, if any), is valid ``phone_code_minutes`` and allows ``phone_code_attempts`` wrong tries.
A new code for the same customer, phone and purpose ends the earlier ones. Callers own the
transaction, and commit a wrong try even when they refuse the request.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import Gone, InvalidInput, NotFound
from homeloop.settings import Settings
from identity.keys import secret_hash

__all__ = ["check_code", "issue_code"]


def _hash(settings: Settings, phone_key: bytes, code: str, merge_request: int | None) -> bytes:
    purpose = "" if merge_request is None else f"merge:{merge_request}:"
    return secret_hash(settings, f"{purpose}{phone_key.hex()}:{code}")


def issue_code(conn: Conn, settings: Settings, customer_id: int, phone_key: bytes, *,
               merge_request: int | None = None) -> str:
    """A new code for the phone whose keyed hash is ``phone_key``; earlier ones stop working."""
    now = clock.now()
    conn.execute("UPDATE phone_codes SET used_at = %s WHERE customer_id = %s "
                 "AND phone_hash = %s AND merge_request_id IS NOT DISTINCT FROM %s "
                 "AND used_at IS NULL", (now, customer_id, phone_key, merge_request))
    code = f"{secrets.randbelow(1_000_000):06d}"
    conn.execute("INSERT INTO phone_codes (customer_id, phone_hash, code_hash, expires_at, "
                 "merge_request_id) VALUES (%s, %s, %s, %s, %s)",
                 (customer_id, phone_key, _hash(settings, phone_key, code, merge_request),
                  now + timedelta(minutes=settings.phone_code_minutes), merge_request))
    return code


def check_code(conn: Conn, settings: Settings, phone_key: bytes, code: str, *,
               customer_id: int | None = None, merge_request: int | None = None) -> int:
    """Use up the latest code for the phone (of ``customer_id``, or for ``merge_request``);
    the customer it was sent for. A wrong code counts a try (commit it!)."""
    row = conn.execute(
        "SELECT id, code_hash, expires_at > %s, attempts, customer_id FROM phone_codes "
        "WHERE phone_hash = %s AND merge_request_id IS NOT DISTINCT FROM %s "
        "AND (%s::bigint IS NULL OR customer_id = %s) AND used_at IS NULL "
        "ORDER BY id DESC LIMIT 1 FOR UPDATE",
        (clock.now(), phone_key, merge_request, customer_id, customer_id)).fetchone()
    if row is None:
        raise NotFound("no code was sent to this number: ask for one first")
    code_id, code_hash, live, attempts = int(row[0]), bytes(row[1]), bool(row[2]), int(row[3])
    if not live or attempts >= settings.phone_code_attempts:
        raise Gone("this code has expired or had too many wrong tries: ask for a new one")
    expected = _hash(settings, phone_key, code.strip(), merge_request)
    if not secrets.compare_digest(code_hash, expected):
        conn.execute("UPDATE phone_codes SET attempts = attempts + 1 WHERE id = %s", (code_id,))
        left = settings.phone_code_attempts - attempts - 1
        raise InvalidInput(f"wrong code; {left} tries left", tries_left=left)
    conn.execute("UPDATE phone_codes SET used_at = %s WHERE id = %s", (clock.now(), code_id))
    return int(row[4])
