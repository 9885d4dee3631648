"""Session tokens for staff and kiosks: short-lived HS256 JWTs issued by this service.

Customers use Firebase ID tokens instead (:mod:`identity.firebase`). A session token names
its subject (``staff:<id>`` or ``kiosk:<id>``) and carries the role and store it was issued
for; the subject is still checked against the database on every request, so disabling a
staff member or revoking a kiosk ends its sessions at once.

Tokens are signed with ``settings.secret_key`` and say which key in their header (``kid``, a
fingerprint of the key). They verify under the current key or one of
``settings.previous_secret_keys``, whichever the ``kid`` names: rotating the key (the old one
moves to the previous keys, a new one becomes current) signs nobody out, and dropping the old
key once its last tokens have expired ends them. A token naming no key we hold is refused.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from homeloop.errors import Unauthorized
from homeloop.settings import Settings

__all__ = ["ISSUER", "Session", "is_session_token", "issue", "key_id", "parse_session"]

ISSUER = "homeloop"
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Session:
    kind: Literal["staff", "kiosk"]
    id: int
    role: str | None
    store_id: str | None
    expires_at: int


def issue(settings: Settings, kind: Literal["staff", "kiosk"], ident: int, *,
          seconds: float, role: str | None = None, store_id: str | None = None,
          ) -> tuple[str, Session]:
    """A signed token for a staff member or kiosk, valid for ``seconds``."""
    now = int(time.time())
    session = Session(kind, ident, role, store_id, now + int(seconds))
    claims = {"iss": ISSUER, "sub": f"{kind}:{ident}", "role": role, "store": store_id,
              "iat": now, "exp": session.expires_at, "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM,
                       headers={"kid": key_id(settings.secret_key)})
    return token, session


def key_id(key: str) -> str:
    """The ``kid`` of a signing key: a fingerprint that tells keys apart and reveals nothing
    a signature does not (the keys are long and random)."""
    return hashlib.sha256(b"homeloop session key:" + key.encode()).hexdigest()[:16]


def _signing_key(settings: Settings, token: str) -> str:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid session token: {exc}") from exc
    for key in (settings.secret_key, *settings.previous_secret_keys):
        if kid == key_id(key):
            return key
    raise Unauthorized("invalid session token: signed with a key this service does not hold")


def is_session_token(token: str) -> bool:
    """True for our own tokens (issuer ``homeloop``); Firebase ID tokens say Google's issuer."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return isinstance(claims, dict) and claims.get("iss") == ISSUER


def parse_session(settings: Settings, token: str) -> Session:
    try:
        claims = jwt.decode(token, _signing_key(settings, token), algorithms=[ALGORITHM],
                            issuer=ISSUER,
                            options={"require": ["sub", "exp", "iss"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid session token: {exc}") from exc
    kind, _, ident = str(claims["sub"]).partition(":")
    if kind not in ("staff", "kiosk") or not ident.isdigit():
        raise Unauthorized("the session token names no staff member or kiosk")
    role, store = claims.get("role"), claims.get("store")
    return Session("staff" if kind == "staff" else "kiosk", int(ident),
                   role if isinstance(role, str) else None,
                   store if isinstance(store, str) else None, int(claims["exp"]))
