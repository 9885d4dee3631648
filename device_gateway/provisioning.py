"""Provisioning tags: a product instance, a device id and its own MQTT credentials.

The plain password is returned once and never stored. After the transaction commits, the
broker learns of the change (:func:`after_provisioning`, :func:`after_revocation`): Mosquitto's
password file is rendered from ``devices.password_hash`` by :func:`sync_broker`; EMQX reads the
``broker_credentials`` view itself, and a revoked device's connection is closed through its
REST API (:mod:`device_gateway.emqx`).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from customers import store as customers
from device_gateway import emqx
from device_gateway.broker_auth import hash_password, write_password_file
from homeloop import services
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound
from homeloop.settings import Settings

MAX_BATCH = 10_000
PARALLEL_FROM = 512  # tags in one call from which hashing them is spread over threads
# A production batch (lot) as factories print it: letters, digits, dot, dash, underscore.
BATCH_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


@dataclass(frozen=True, slots=True)
class Credentials:
    device_id: str
    password: str
    tag_uid: str
    instance_id: int
    sku: str
    batch: str | None = None


def new_device_id() -> str:
    return "hl-" + base64.b32encode(secrets.token_bytes(10)).decode().lower()


def new_tag_uid() -> str:
    # NFC Forum type 2 tags carry a 7-byte UID; 0x04 is NXP's manufacturer code.
    return "04" + secrets.token_hex(6).upper()


def provision(conn: Conn, sku: str, count: int, batch: str | None = None) -> list[Credentials]:
    """``count`` new tags for ``sku``, from production ``batch`` when the factory gave one.

    The batch lets the fleet quality scan tell a bad batch from a bad model.
    """
    if not 1 <= count <= MAX_BATCH:
        raise InvalidInput(f"count must be between 1 and {MAX_BATCH}, got {count}")
    if batch is not None and not BATCH_PATTERN.fullmatch(batch):
        raise InvalidInput(f"batch must be 1-40 letters, digits, '.', '-' or '_', got {batch!r}")
    if conn.execute("SELECT 1 FROM skus WHERE sku = %s", (sku,)).fetchone() is None:
        raise NotFound(f"SKU {sku!r} is not in the catalog")
    tags = [(new_tag_uid(), new_device_id(), secrets.token_urlsafe(18)) for _ in range(count)]
    # PBKDF2 is most of the cost and hashlib lets go of the GIL while it runs: use every core.
    if count < PARALLEL_FROM:
        hashes = [hash_password(t[2]) for t in tags]
    else:
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            hashes = list(pool.map(hash_password, [t[2] for t in tags], chunksize=256))
    instances = customers.new_instances(conn, sku, [t[0] for t in tags], batch)
    with conn.cursor() as cur, cur.copy(
            "COPY devices (id, instance_id, password_hash) FROM STDIN") as copy:
        for (_, device_id, _), instance_id, hashed in zip(tags, instances, hashes, strict=True):
            copy.write_row((device_id, instance_id, hashed))
    return [Credentials(device_id, password, tag_uid, instance_id, sku, batch)
            for (tag_uid, device_id, password), instance_id in zip(tags, instances, strict=True)]


def revoke(conn: Conn, device_id: str) -> None:
    """Revoke a device; revoking it again changes nothing (the first time is kept)."""
    row = conn.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, now()), "
                       "online = false WHERE id = %s RETURNING id", (device_id,)).fetchone()
    if row is None:
        raise NotFound(f"no device {device_id!r}")


def sync_broker(conn: Conn, settings: Settings) -> int:
    """Render the broker's auth files from the active devices and make the broker reload.

    The lines are streamed from the database as they will be written (``id:hash``), so
    rendering a million devices takes seconds and little memory; Mosquitto's reload of them
    still grows with the fleet (docs/ARCHITECTURE.md, "Device identity")."""
    with conn.cursor() as cur, cur.copy(
            "COPY (SELECT id || ':' || password_hash FROM devices WHERE revoked_at IS NULL) "
            "TO STDOUT") as copy:
        count = write_password_file(settings, (bytes(block) for block in copy))
    services.reload_broker(settings)
    return count


def after_provisioning(conn: Conn, settings: Settings) -> None:
    """Tell the broker of committed new devices. Mosquitto re-reads its files; EMQX needs
    nothing: it looks each device up in the database when it signs in."""
    if settings.broker == "mosquitto":
        sync_broker(conn, settings)


def after_revocation(conn: Conn, settings: Settings, device_id: str) -> None:
    """Make the broker drop a committed revocation. Mosquitto re-reads its files and closes
    the device's connection; EMQX already refuses it a new sign-in and is asked to close the
    connection that is up (:func:`device_gateway.emqx.kick`, :class:`ServiceError` when it
    cannot be: the revocation stands and may be repeated)."""
    if settings.broker == "emqx":
        emqx.kick(settings, device_id)
    else:
        sync_broker(conn, settings)
