"""Per-device MQTT credentials, enforced by Mosquitto's password file and ACL patterns.

Passwords are hashed in Mosquitto's own ``$7$`` format (PBKDF2-SHA512), so the hash we store
in ``devices.password_hash`` is the very line the broker checks. The ACL lets a device publish
only under ``tags/{its id}/`` and read only its own config; the gateway reads all tags.
Files are replaced atomically and the broker reloads them on SIGHUP, which also disconnects
clients whose credentials are gone: revocation needs no broker restart.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from homeloop.settings import Settings

ITERATIONS = 101  # what mosquitto_passwd 2.0 writes


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    _, alg, iterations, salt_b64, digest_b64 = hashed.split("$")
    if alg != "7":
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt_b64),
                                 int(iterations))
    return secrets.compare_digest(base64.b64encode(digest).decode(), digest_b64)


ACL = """# Rendered by homeloop; do not edit by hand.
user {gateway}
topic read tags/+/readings
topic read tags/+/events
topic read tags/+/status
topic readwrite tags/+/config

# Every device (its username is its id) may publish only under its own prefix
# and read only its own config.
pattern write tags/%u/readings
pattern write tags/%u/events
pattern write tags/%u/status
pattern read tags/%u/config
"""


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    os.replace(tmp, path)


def write_auth_files(settings: Settings, devices: Iterable[tuple[str, str]]) -> int:
    """Render the password and ACL files from (device_id, password_hash) pairs."""
    lines = [f"{settings.gateway_username}:{hash_password(settings.gateway_password)}"]
    lines.extend(f"{device_id}:{hashed}" for device_id, hashed in devices)
    _replace(settings.password_file, "\n".join(lines) + "\n")
    _replace(settings.acl_file, ACL.format(gateway=settings.gateway_username))
    return len(lines) - 1


def write_password_file(settings: Settings, device_lines: Iterable[bytes]) -> int:
    """Render the password and ACL files from blocks of ready ``id:hash`` lines (as
    PostgreSQL's COPY streams them), never holding the fleet in memory; the device count."""
    path = settings.password_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    count = 0
    with tmp.open("wb") as out:
        tmp.chmod(0o600)
        out.write(f"{settings.gateway_username}:"
                  f"{hash_password(settings.gateway_password)}\n".encode())
        for block in device_lines:
            out.write(block)
            count += block.count(b"\n")
    os.replace(tmp, path)
    _replace(settings.acl_file, ACL.format(gateway=settings.gateway_username))
    return count


def refresh_gateway_entry(settings: Settings) -> bool:
    """Make the password file's gateway line check ``settings.gateway_password``, keeping the
    devices' lines; True when it had to be rewritten (the broker must then reload).

    An install's broker files outlive a change of that password: an older checkout rendered
    a built-in one, and a development install now makes its own."""
    path = settings.password_file
    prefix = f"{settings.gateway_username}:"
    lines = path.read_text().splitlines()
    if any(line.startswith(prefix)
           and verify_password(settings.gateway_password, line.removeprefix(prefix))
           for line in lines):
        return False
    kept = [line for line in lines if line and not line.startswith(prefix)]
    _replace(path, "\n".join([prefix + hash_password(settings.gateway_password), *kept]) + "\n")
    return True
