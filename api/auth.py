"""The temporary auth seam: HMAC-signed bearer tokens naming a customer or a staff member.

Real identity (Firebase ID tokens, kiosks, staff roles) replaces this in its own issue; the
routes already depend on :data:`CurrentCustomer` / :data:`StaffUser` / :data:`Principal` only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from homeloop.errors import Forbidden, Unauthorized
from homeloop.settings import Settings

ALGORITHM = "HS256"
bearer = HTTPBearer(auto_error=False, description="Token from `homeloop auth token`")


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["customer", "staff"]
    customer_id: int | None = None
    staff_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def mint(settings: Settings, subject: str, *, hours: float = 24) -> str:
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + int(hours * 3600)},
                      settings.secret_key, algorithm=ALGORITHM)


def parse(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid bearer token: {exc}") from exc
    kind, _, ident = str(claims["sub"]).partition(":")
    if kind == "customer" and ident.isdigit():
        return Principal("customer", customer_id=int(ident))
    if kind == "staff" and ident:
        return Principal("staff", staff_id=ident)
    raise Unauthorized("bearer token names no customer or staff member")


def _principal(request: Request,
               creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    if creds is None:
        raise Unauthorized("sign in: this endpoint needs a bearer token")
    settings: Settings = request.app.state.settings
    return parse(settings, creds.credentials)


def _customer(principal: Annotated[Principal, Depends(_principal)]) -> int:
    if principal.customer_id is None:
        raise Forbidden("only a customer can do this")
    return principal.customer_id


def _staff(principal: Annotated[Principal, Depends(_principal)]) -> str:
    if principal.staff_id is None:
        raise Forbidden("only staff can do this")
    return principal.staff_id


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentCustomer = Annotated[int, Depends(_customer)]
StaffUser = Annotated[str, Depends(_staff)]
