"""Who is calling: the principal behind a request, and the dependencies routes declare.

Routes depend on these names only, so the way a principal is established can change without
touching them:

- :data:`CurrentPrincipal` — anyone signed in (customer, kiosk or staff).
- :data:`CurrentCustomer` — a signed-in customer's id.
- :data:`StaffUser` — any staff member's name; :func:`require_role` for a given role, with the
  aliases :data:`CatalogEditor`, :data:`FleetOperator`, :data:`StoreAssistant`, :data:`Admin`.
- :func:`ensure_may_act_for` — the object-level check before reading or changing a
  customer's data (their products, designs, floor plans…).

This module is still the temporary seam: HS256 tokens minted by ``homeloop auth token``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from homeloop.db import Conn
from homeloop.errors import Forbidden, Unauthorized
from homeloop.settings import Settings

ALGORITHM = "HS256"
bearer = HTTPBearer(auto_error=False, description="Token from `homeloop auth token`")

Role = Literal["assistant", "catalog_editor", "fleet_operator", "admin"]
ROLES: tuple[Role, ...] = ("assistant", "catalog_editor", "fleet_operator", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["customer", "staff", "kiosk"]
    customer_id: int | None = None
    staff_id: str | None = None
    role: Role | None = None
    kiosk_id: int | None = None
    store_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def mint(settings: Settings, subject: str, *, hours: float = 24, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + int(hours * 3600), **claims},
                      settings.secret_key, algorithm=ALGORITHM)


def parse(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid bearer token: {exc}") from exc
    kind, _, ident = str(claims["sub"]).partition(":")
    store = claims.get("store")
    store_id = int(store) if isinstance(store, int) else None
    if kind == "customer" and ident.isdigit():
        return Principal("customer", customer_id=int(ident))
    if kind == "staff" and ident:
        role = claims.get("role", "admin")
        if role not in ROLES:
            raise Unauthorized(f"unknown staff role {role!r}")
        return Principal("staff", staff_id=ident, role=role, store_id=store_id)
    if kind == "kiosk" and ident.isdigit():
        return Principal("kiosk", kiosk_id=int(ident), store_id=store_id)
    raise Unauthorized("bearer token names no customer, kiosk or staff member")


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


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting staff with one of ``roles`` (an admin is always admitted)."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"this needs the staff role {' or '.join(sorted(allowed))}")
        return principal
    return dependency


def ensure_may_act_for(conn: Conn, principal: Principal, customer_id: int) -> None:
    """Raise unless ``principal`` may read or change customer ``customer_id``'s data.

    The customer themselves, an admin, or a store assistant may; kiosks only through a grant.
    """
    del conn  # grants and consent per store are read here once identity lands
    if principal.customer_id == customer_id:
        return
    if principal.role in ("admin", "assistant"):
        return
    raise Forbidden("this belongs to another customer")


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentCustomer = Annotated[int, Depends(_customer)]
StaffUser = Annotated[str, Depends(_staff)]
CatalogEditor = Annotated[Principal, Depends(require_role("catalog_editor"))]
FleetOperator = Annotated[Principal, Depends(require_role("fleet_operator"))]
StoreAssistant = Annotated[Principal, Depends(require_role("assistant"))]
Admin = Annotated[Principal, Depends(require_role())]
