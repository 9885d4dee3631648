"""Broker accounts in the database, for a broker that checks credentials there (EMQX).

Devices need nothing here: ``devices`` already holds their hashes, and the views of
migration 0020 hand them to the broker. The gateway is not a device, so its account is a
row of ``broker_accounts``, hashed from the gateway's password like a device's.
"""

from __future__ import annotations

from device_gateway.broker_auth import hash_password, verify_password
from homeloop.db import Conn
from homeloop.settings import Settings


def store_gateway_account(conn: Conn, settings: Settings) -> bool:
    """Make ``broker_accounts`` hold the gateway's account for ``settings.gateway_password``;
    True when the row was written (new, or the password changed)."""
    row = conn.execute("SELECT password_hash FROM broker_accounts WHERE username = %s",
                       [settings.gateway_username]).fetchone()
    if row is not None and verify_password(settings.gateway_password, row[0]):
        return False
    conn.execute(
        "INSERT INTO broker_accounts (username, password_hash, role) VALUES (%s, %s, 'gateway') "
        "ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
        "role = EXCLUDED.role, updated_at = now()",
        [settings.gateway_username, hash_password(settings.gateway_password)])
    return True
