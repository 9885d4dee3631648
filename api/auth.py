"""Who is calling, and what they may do: the dependencies every route declares.

Two kinds of bearer token reach the API (both in ``Authorization: Bearer``, told apart by
their issuer):

- **FirebaseIdToken** — a customer of the home app, verified by firebase-admin
  (:mod:`identity.firebase`); the first sign-in creates the customer.
- **SessionToken** — a staff member or a store kiosk, issued by ``POST /v1/auth/staff`` or
  ``POST /v1/auth/kiosk`` (:mod:`identity.sessions`). Each request re-reads the staff member
  or kiosk, so disabling one or revoking a kiosk takes effect at once, and a role change too.

Routes depend on these names only:

- :data:`CurrentPrincipal` — anyone signed in; :data:`CurrentCustomer` — a customer's id;
  :data:`RecentCustomer` — the same, with the Firebase revocation check (export, deletion,
  linking); :data:`CurrentKiosk`; :data:`StaffUser` — any staff member; :func:`require_role`
  and its aliases :data:`StoreAssistant`, :data:`CatalogEditor`, :data:`FleetOperator`,
  :data:`Admin` (an admin passes every role check).
- :func:`ensure_may_act_for` — the object-level check before anyone reads or changes a
  customer's data, which also writes the audit log for staff and kiosks;
  :func:`ensure_may_use` — the same for what a customer owns or a store's session holds until
  a customer claims it (a floor plan, a design). With ``hidden=True`` (an open route, such as
  search) every refusal answers as for something that does not exist. Both are the access
  policy's (:mod:`identity.access`), re-exported here for the routes: this module finds out
  who is calling; it decides nothing about what they may reach.

Every signed-in request counts against a rate limit per identity (``settings.rate_limit``,
counted in Redis with the ``limits`` library); over it, 429 with ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, cast

from asgi_correlation_id import correlation_id
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse as parse_limit
from limits.strategies import RateLimiter
from psycopg_pool import ConnectionPool

from customers import store as customers
from homeloop.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from homeloop.settings import Settings
from identity import audit, kiosks, sessions
from identity import staff as staff_store
from identity.access import (
    AccessRefused,
    HiddenRefusal,
    Principal,
    Role,
    actor_of,
    ensure_may_act_for,
    ensure_may_use,
)
from identity.customers import customer_for
from identity.firebase import FirebaseVerifier

__all__ = ["ROLES", "AccessRefused", "Admin", "AnonymousRateLimited", "CatalogEditor",
           "CurrentCustomer", "CurrentKiosk", "CurrentPrincipal", "FleetOperator",
           "HiddenRefusal", "OptionalCustomer", "OptionalPrincipal", "Principal",
           "RecentCustomer", "StaffUser", "StoreAssistant", "StoreManager", "actor_of",
           "audit_refusal", "check_rate", "client_address", "customer_actor",
           "ensure_may_act_for", "ensure_may_use", "require_role"]

log = logging.getLogger(__name__)

firebase_bearer = HTTPBearer(
    scheme_name="FirebaseIdToken", auto_error=False,
    description="A customer's Firebase ID token (the home app's signed-in user).")
session_bearer = HTTPBearer(
    scheme_name="SessionToken", auto_error=False,
    description="A staff or kiosk session from POST /v1/auth/staff or /v1/auth/kiosk.")



def _token(*creds: HTTPAuthorizationCredentials | None) -> str:
    for cred in creds:
        if cred is not None and cred.credentials:
            return cred.credentials
    raise Unauthorized("sign in: this endpoint needs a bearer token")


def _pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


ROLES: tuple[Role, ...] = staff_store.ROLES


def _action(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def _as_customer(request: Request, token: str, *, check_revoked: bool = False) -> Principal:
    settings: Settings = request.app.state.settings
    if sessions.is_session_token(token):
        sessions.parse_session(settings, token)  # a token that proves nothing is 401, not 403
        raise Forbidden("only a customer can do this")
    verifier: FirebaseVerifier = request.app.state.firebase
    user = verifier.verify(token, check_revoked=check_revoked)
    with _pool(request).connection() as conn:
        customer_id, _ = customer_for(conn, settings, user)
        request.state.customer_locale = customers.locale_of(conn, customer_id)  # their language
    principal = Principal("customer", customer_id=customer_id, action=_action(request),
                          request_id=correlation_id.get())
    check_rate(request, f"customer:{customer_id}", settings.rate_limit)
    return principal


def _as_session(request: Request, token: str) -> Principal:
    settings: Settings = request.app.state.settings
    if not sessions.is_session_token(token):
        verifier: FirebaseVerifier = request.app.state.firebase
        verifier.verify(token)  # a token that proves nothing is 401, not 403
        raise Forbidden("only staff or a store kiosk can do this (with a session token)")
    session = sessions.parse_session(settings, token)
    with _pool(request).connection() as conn:
        if session.kind == "staff":
            try:
                member = staff_store.get_staff(conn, session.id)
            except NotFound as exc:
                raise Unauthorized("this staff account no longer exists") from exc
            if member.disabled:
                raise Unauthorized("this staff account is disabled")
            principal = Principal("staff", staff_id=member.actor,
                                  role=cast(Role, member.role), store_id=member.store_id,
                                  action=_action(request), request_id=correlation_id.get())
        else:
            try:
                kiosk = kiosks.get_kiosk(conn, session.id)
            except NotFound as exc:
                raise Unauthorized("this kiosk no longer exists") from exc
            if kiosk.revoked:
                raise Unauthorized("this kiosk has been revoked")
            principal = Principal("kiosk", kiosk_id=kiosk.id, store_id=kiosk.store_id,
                                  action=_action(request), request_id=correlation_id.get())
    check_rate(request, principal.actor, settings.rate_limit)
    return principal


def client_address(request: Request) -> str:
    """Who is on the other end, for limits that count per address."""
    return request.client.host if request.client else "unknown"


def check_rate(request: Request, key: str, limit: str) -> None:
    """Count one hit for ``key``; over ``limit`` (e.g. ``"10/minute"``) answer 429."""
    limiter: RateLimiter | None = getattr(request.app.state, "limiter", None)
    if limiter is None:
        return
    item = parse_limit(limit)
    try:
        allowed = limiter.hit(item, key)
        if allowed:
            return
        reset, _ = limiter.get_window_stats(item, key)
    except Exception:
        log.warning("rate limiter unavailable; request allowed", exc_info=True)
        return
    retry_after = max(1, int(reset - time.time()) + 1)
    raise TooManyRequests(f"too many requests: at most {limit}; retry in {retry_after} s",
                          retry_after=retry_after)


def _counting_failures(request: Request, resolve: Callable[[], Principal]) -> Principal:
    """Resolve the caller; a failed sign-in counts against the client address's limit, so
    guessing tokens from one address is slowed down (429) rather than answered forever."""
    try:
        return resolve()
    except Unauthorized:
        settings: Settings = request.app.state.settings
        check_rate(request, f"unauthenticated:{client_address(request)}",
                   settings.failed_auth_rate_limit)
        raise


def _principal(request: Request,
               firebase: Annotated[HTTPAuthorizationCredentials | None,
                                   Security(firebase_bearer)],
               session: Annotated[HTTPAuthorizationCredentials | None,
                                  Security(session_bearer)]) -> Principal:
    def resolve() -> Principal:
        token = _token(firebase, session)
        if sessions.is_session_token(token):
            return _as_session(request, token)
        return _as_customer(request, token)
    return _counting_failures(request, resolve)


def _optional_principal(request: Request,
                        firebase: Annotated[HTTPAuthorizationCredentials | None,
                                            Security(firebase_bearer)],
                        session: Annotated[HTTPAuthorizationCredentials | None,
                                           Security(session_bearer)]) -> Principal | None:
    """Whoever is signed in, if a token came (a bad one is still 401); else None."""
    if not any(c is not None and c.credentials for c in (firebase, session)):
        return None
    return _principal(request, firebase, session)


def _customer(request: Request,
              firebase: Annotated[HTTPAuthorizationCredentials | None,
                                  Security(firebase_bearer)]) -> int:
    principal = _counting_failures(request, lambda: _as_customer(request, _token(firebase)))
    assert principal.customer_id is not None
    return principal.customer_id


def _optional_customer(request: Request,
                       firebase: Annotated[HTTPAuthorizationCredentials | None,
                                           Security(firebase_bearer)]) -> int | None:
    """The customer, if a customer's token came (a bad one is still 401); else None."""
    if firebase is None or not firebase.credentials or \
            sessions.is_session_token(firebase.credentials):
        return None
    return _customer(request, firebase)


def _recent_customer(request: Request,
                     firebase: Annotated[HTTPAuthorizationCredentials | None,
                                         Security(firebase_bearer)]) -> int:
    principal = _counting_failures(
        request, lambda: _as_customer(request, _token(firebase), check_revoked=True))
    assert principal.customer_id is not None
    return principal.customer_id


def _session(request: Request,
             session: Annotated[HTTPAuthorizationCredentials | None,
                                Security(session_bearer)]) -> Principal:
    return _counting_failures(request, lambda: _as_session(request, _token(session)))


def _kiosk(principal: Annotated[Principal, Depends(_session)]) -> Principal:
    if principal.kind != "kiosk":
        raise Forbidden("only a store kiosk can do this")
    return principal


def _staff(principal: Annotated[Principal, Depends(_session)]) -> str:
    if principal.staff_id is None:
        raise Forbidden("only staff can do this")
    return principal.staff_id


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting staff with one of ``roles``; an admin is always admitted."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(principal: Annotated[Principal, Depends(_session)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"this needs the staff role {' or '.join(sorted(allowed))}")
        return principal
    return dependency


def customer_actor(customer_id: int) -> audit.Actor:
    return audit.Actor(f"customer:{customer_id}", request_id=correlation_id.get())


def _by_address(request: Request) -> None:
    settings: Settings = request.app.state.settings
    check_rate(request, f"anonymous:{client_address(request)}", settings.anonymous_rate_limit)


# Open to anyone (a product's QR page, search): rate-limited per client address instead.
AnonymousRateLimited = Depends(_by_address)


def audit_refusal(pool: ConnectionPool, exc: AccessRefused | HiddenRefusal) -> None:
    p = exc.principal
    with pool.connection() as conn:
        audit.record(conn, actor=p.actor, role=p.role, store_id=p.store_id,
                     customer_id=exc.customer_id, action=f"refused: {p.action}",
                     request_id=correlation_id.get())


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentCustomer = Annotated[int, Depends(_customer)]
RecentCustomer = Annotated[int, Depends(_recent_customer)]
# An open route that a signed-in customer may also call (to remember what they did).
OptionalCustomer = Annotated[int | None, Depends(_optional_customer)]
# An open route where being signed in may reach more (search's "fits this wall" on a plan).
OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]
CurrentKiosk = Annotated[Principal, Depends(_kiosk)]
StaffUser = Annotated[str, Depends(_staff)]
# A store manager does what the store's assistants do, and approves beyond their budgets.
StoreAssistant = Annotated[Principal, Depends(require_role("assistant", "store_manager"))]
StoreManager = Annotated[Principal, Depends(require_role("store_manager"))]
CatalogEditor = Annotated[Principal, Depends(require_role("catalog_editor"))]
FleetOperator = Annotated[Principal, Depends(require_role("fleet_operator"))]
Admin = Annotated[Principal, Depends(require_role())]
