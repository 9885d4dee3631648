"""Who may read or change what: the access policy, as plain functions over a principal and
a resource, with the audit write.

Transports (api/auth.py) find out who is calling and build a :class:`Principal`; routes
declare what they need and call these functions; none builds its own check. The rules:

- a customer reaches their own data only; anything else answers as if it did not exist;
- a kiosk reaches a customer's data while it holds an open grant for them (a hand-off the
  customer scanned, or an assistant's sign-in);
- a store's assistants and manager reach a customer who let that store in, never a record
  merged into another; staff of other roles reach no customer's data;
- an admin reaches everything;
- objects no customer owns yet (a floor plan or design a store's session holds) belong to
  that store's kiosks and staff.

Every read or change by staff or a kiosk is written to the customer's access log
(:mod:`identity.audit`), refusals too. Merges (:mod:`identity.merge_requests`) and
ownership periods (:mod:`identity.ownership`) are the other rules this package owns.

**Declared needs.** Every route declares what it needs with :func:`needs` (who may call it
at all, and whose object it reaches); the API publishes that in its OpenAPI document
(``x-access``) and refuses to start with a route that declares nothing. :func:`decide` is the
answer the policy gives a kind of caller for a need; the route-by-caller test
(tests/identity/test_authorization_matrix.py) holds every route to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, TypeVar, get_args

from customers.store import is_live
from homeloop.db import Conn
from homeloop.errors import DETAILS, Forbidden, NotFound, missing
from homeloop.i18n import Pair, Text
from identity import audit, kiosks

__all__ = ["ANYONE", "SIGNED_IN", "STAFF", "AccessRefused", "Caller", "Decision",
           "HiddenRefusal", "Need", "Principal", "Role", "actor_of", "decide",
           "ensure_may_act_for", "ensure_may_use", "ensure_own", "ensure_store_holds",
           "may_act_for", "need_of", "needs"]

Role = Literal["assistant", "store_manager", "catalog_editor", "fleet_operator", "admin"]
# Who can be calling: a customer, a store's kiosk, or staff in one of their roles.
Caller = Literal["customer", "kiosk", "assistant", "store_manager", "catalog_editor",
                 "fleet_operator", "admin"]
STAFF: tuple[Caller, ...] = get_args(Role)
SIGNED_IN: tuple[Caller, ...] = get_args(Caller)
ANYONE = "anyone"  # an open route: no sign-in needed
# Whose object a route reaches, past the caller check:
# - "customer": a customer's data (from the path or the body): whoever may act for them;
# - "store": something a store holds (its kiosks, tasks, discounts): its staff and kiosks;
# - "self": the caller's own (a staff member's inbox, a kiosk's grants).
Of = Literal["customer", "store", "self"]


@dataclass(frozen=True, slots=True)
class Need:
    """What a route needs of its caller."""
    callers: frozenset[str]  # Caller values, or ANYONE
    of: Of | None = None
    hidden: bool = False  # refusals answer as for something that does not exist

    def as_openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"callers": sorted(self.callers)}
        if self.of:
            out["of"] = self.of
        if self.hidden:
            out["hidden"] = True
        return out


F = TypeVar("F", bound=Callable[..., Any])


def needs(*callers: str, of: Of | None = None, hidden: bool = False) -> Callable[[F], F]:
    """Declare a route's need (a decorator under the route's own): ``needs("customer")``,
    ``needs(*STAFF, of="customer")``, ``needs(ANYONE)``. The route's dependencies and its
    calls to this module enforce it; the declaration is what they are tested against."""
    unknown = set(callers) - set(SIGNED_IN) - {ANYONE}
    if not callers or unknown:
        raise ValueError(f"needs(): unknown or no callers {sorted(unknown)}")
    need = Need(frozenset(callers), of, hidden)

    def mark(endpoint: F) -> F:
        endpoint.__dict__["access_need"] = need
        return endpoint
    return mark


def need_of(endpoint: Callable[..., Any]) -> Need | None:
    """The need a route's endpoint declared, if any."""
    need = getattr(endpoint, "access_need", None)
    return need if isinstance(need, Need) else None


class Decision(Enum):
    ADMIT = "admit"
    SIGN_IN = "sign in"  # no caller, or a token that proves nothing
    FORBIDDEN = "forbidden"  # the caller is told why
    HIDDEN = "hidden"  # answered as for something that does not exist


def may_act_for(caller: Caller, *, is_owner: bool, granted: bool, consented: bool) -> bool:
    """Whether a caller may reach a customer's data: the customer themselves, a kiosk they
    handed over to (or an assistant signed them in at), the assistants and manager of a
    store they let in, an admin."""
    if caller == "customer":
        return is_owner
    if caller == "kiosk":
        return granted
    if caller in ("assistant", "store_manager"):
        return consented
    return caller == "admin"


def decide(need: Need, caller: Caller | None, *, is_owner: bool = False,
           granted: bool = False, consented: bool = False, same_store: bool = False,
           is_self: bool = False) -> Decision:
    """The policy's answer to ``caller`` (None: not signed in) for a route needing ``need``,
    given how the caller stands to the route's object: the customer who owns it
    (``is_owner``), a kiosk holding their grant, a store they let in (``consented``), the
    store that holds it (``same_store``), the caller's own (``is_self``)."""
    if ANYONE in need.callers:
        return Decision.ADMIT
    if caller is None:
        return Decision.SIGN_IN
    if caller not in need.callers:
        return Decision.FORBIDDEN
    if need.of is None:
        return Decision.ADMIT
    if need.of == "customer":
        ok = may_act_for(caller, is_owner=is_owner, granted=granted, consented=consented)
    elif need.of == "store":
        ok = caller == "admin" or (caller != "customer" and same_store)
    else:
        ok = is_self
    if ok:
        return Decision.ADMIT
    return Decision.HIDDEN if caller == "customer" or need.hidden else Decision.FORBIDDEN


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["customer", "staff", "kiosk"]
    customer_id: int | None = None
    staff_id: str | None = None  # "staff:<id>"; also the actor in the audit log
    role: Role | None = None
    kiosk_id: int | None = None
    store_id: str | None = None
    action: str = ""  # "GET /v1/…", for the audit log
    request_id: str | None = None  # the request's X-Request-ID, for the audit log

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def caller(self) -> Caller:
        if self.kind == "staff":
            assert self.role is not None
            return self.role
        return self.kind

    @property
    def actor(self) -> str:
        if self.kind == "kiosk":
            return f"kiosk:{self.kiosk_id}"
        if self.kind == "staff":
            return str(self.staff_id)
        return f"customer:{self.customer_id}"


def ensure_may_act_for(conn: Conn, principal: Principal, customer_id: int | None,
                       what: str | Pair = "this", *, hidden: bool = False) -> None:
    """Raise unless ``principal`` may read or change customer ``customer_id``'s data.

    - the customer themselves;
    - a kiosk holding an open grant for that customer (a handoff or an assistant's sign-in);
    - a store assistant or manager of a store the customer has let see their profile;
    - an admin.

    Staff and kiosk access is written to the audit log. Another customer gets 404, the same
    answer as for an id that does not exist (``NotFound(DETAILS("not_found", what=what))``), so ids
    reveal nothing. Staff and kiosks are told why they were refused (403), unless ``hidden``:
    then they too get that 404 (the refusal is still audited).
    """
    if principal.kind == "customer":
        if customer_id is None or principal.customer_id != customer_id:
            raise NotFound(DETAILS("not_found", what=what))
        return
    if customer_id is None:
        if hidden:
            raise NotFound(DETAILS("not_found", what=what))
        raise Forbidden(DETAILS("belongs_to_no_customer", what=what))
    if not is_live(conn, customer_id):  # a record merged into another is gone for everyone
        raise NotFound(DETAILS("not_found", what=what) if hidden
                       else missing("customer", customer_id))
    granted = principal.kind == "kiosk" and principal.kiosk_id is not None and \
        kiosks.active_grant(conn, principal.kiosk_id, customer_id)
    consented = principal.role in ("assistant", "store_manager") and \
        kiosks.store_consented(conn, customer_id, principal.store_id)
    if not may_act_for(principal.caller, is_owner=False, granted=granted, consented=consented):
        refused = ("this kiosk may open a customer's data only after they hand it over (QR) "
                   "or an assistant signs them in" if principal.kind == "kiosk" else
                   "the customer has not let this store see their data"
                   if principal.role in ("assistant", "store_manager") else
                   "this staff role does not reach customers' data")
        if hidden:
            raise HiddenRefusal(DETAILS("not_found", what=what), principal, customer_id)
        raise AccessRefused(refused, principal, customer_id)
    audit.record(conn, actor=principal.actor, role=principal.role, store_id=principal.store_id,
                 customer_id=customer_id, action=principal.action,
                 request_id=principal.request_id)


def actor_of(principal: Principal) -> audit.Actor:
    """The principal as the audit log names them, with their request's id."""
    return audit.Actor(principal.actor, principal.role, principal.store_id, principal.request_id)


def ensure_may_use(conn: Conn, principal: Principal | None, owner_id: int | None,
                   store_id: str | Iterable[str | None] | None, what: str | Pair, *,
                   hidden: bool = False) -> None:
    """Raise unless ``principal`` may use something a customer owns or, until a customer
    claims it, a store's session holds (a floor plan, a design):

    - owned by a customer: whoever may act for them (:func:`ensure_may_act_for`);
    - held by a store: that store's kiosks and staff;
    - an admin.

    A customer refused gets ``NotFound(DETAILS("not_found", what=what))``, the answer for an id that
    does not exist; with ``hidden`` (an open route) so does everyone refused, including a
    caller who is not signed in (``principal`` None).
    """
    absent = NotFound(DETAILS("not_found", what=what))
    if principal is None:
        raise absent
    if owner_id is not None:
        ensure_may_act_for(conn, principal, owner_id, what, hidden=hidden)
        return
    stores = {store_id} if store_id is None or isinstance(store_id, str) else set(store_id)
    if principal.kind != "customer" and principal.store_id is not None and \
            str(principal.store_id) in stores:
        return
    if principal.role == "admin":
        return
    if principal.kind == "customer" or hidden:
        raise absent
    raise Forbidden(DETAILS("belongs_to_another_session", what=what))


def ensure_store_holds(principal: Principal, store_id: str | None,
                       what: str | Pair) -> None:
    """Raise unless ``principal`` is staff or a kiosk of the store that holds ``what`` (its
    kiosks, tasks, discounts), or an admin. Customers are told it does not exist."""
    if principal.role == "admin":
        return
    if principal.kind == "customer":
        raise NotFound(DETAILS("not_found", what=what))
    if store_id is None or principal.store_id != store_id:
        raise Forbidden(DETAILS("belongs_to_another_store", what=what))


def ensure_own(principal: Principal, owner: str | None, what: str | Pair) -> None:
    """Raise unless ``what`` is the caller's own (``owner`` is its actor label, e.g. a staff
    member's inbox item or a kiosk's grant): nobody else's, not even an admin's."""
    if owner != principal.actor:
        if principal.kind == "customer":
            raise NotFound(DETAILS("not_found", what=what))
        raise Forbidden(DETAILS("not_yours", what=what))


class AccessRefused(Forbidden):
    """Staff or a kiosk was refused a customer's data. The request's transaction rolls back,
    so the problem handler writes the refusal to the audit log in a transaction of its own
    (:func:`audit_refusal`): the customer sees attempts too, not only reads."""

    def __init__(self, detail: str | Text, principal: Principal, customer_id: int) -> None:
        super().__init__(detail)
        self.principal, self.customer_id = principal, customer_id


class HiddenRefusal(NotFound):
    """Staff or a kiosk was refused on an open route, answered as for something that does not
    exist; audited like :class:`AccessRefused`."""

    def __init__(self, detail: str | Text, principal: Principal, customer_id: int) -> None:
        super().__init__(detail)
        self.principal, self.customer_id = principal, customer_id
