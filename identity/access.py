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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from customers.store import is_live
from homeloop.db import Conn
from homeloop.errors import Forbidden, NotFound
from identity import audit, kiosks

__all__ = ["AccessRefused", "HiddenRefusal", "Principal", "Role", "actor_of",
           "ensure_may_act_for", "ensure_may_use"]

Role = Literal["assistant", "store_manager", "catalog_editor", "fleet_operator", "admin"]


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
    def actor(self) -> str:
        if self.kind == "kiosk":
            return f"kiosk:{self.kiosk_id}"
        if self.kind == "staff":
            return str(self.staff_id)
        return f"customer:{self.customer_id}"


def ensure_may_act_for(conn: Conn, principal: Principal, customer_id: int | None,
                       what: str = "this", *, hidden: bool = False) -> None:
    """Raise unless ``principal`` may read or change customer ``customer_id``'s data.

    - the customer themselves;
    - a kiosk holding an open grant for that customer (a handoff or an assistant's sign-in);
    - a store assistant or manager of a store the customer has let see their profile;
    - an admin.

    Staff and kiosk access is written to the audit log. Another customer gets 404, the same
    answer as for an id that does not exist (``NotFound(f"{what} does not exist")``), so ids
    reveal nothing. Staff and kiosks are told why they were refused (403), unless ``hidden``:
    then they too get that 404 (the refusal is still audited).
    """
    if principal.kind == "customer":
        if customer_id is None or principal.customer_id != customer_id:
            raise NotFound(f"{what} does not exist")
        return
    if customer_id is None:
        if hidden:
            raise NotFound(f"{what} does not exist")
        raise Forbidden(f"{what} belongs to no customer")
    if not is_live(conn, customer_id):  # a record merged into another is gone for everyone
        raise NotFound(f"{what} does not exist" if hidden
                       else f"customer {customer_id} does not exist")
    refused = None
    if principal.kind == "kiosk":
        assert principal.kiosk_id is not None
        if not kiosks.active_grant(conn, principal.kiosk_id, customer_id):
            refused = ("this kiosk may open a customer's data only after they hand it over "
                       "(QR) or an assistant signs them in")
    elif principal.role in ("assistant", "store_manager"):
        if not kiosks.store_consented(conn, customer_id, principal.store_id):
            refused = "the customer has not let this store see their data"
    elif principal.role != "admin":
        refused = "this staff role does not reach customers' data"
    if refused is not None:
        if hidden:
            raise HiddenRefusal(f"{what} does not exist", principal, customer_id)
        raise AccessRefused(refused, principal, customer_id)
    audit.record(conn, actor=principal.actor, role=principal.role, store_id=principal.store_id,
                 customer_id=customer_id, action=principal.action,
                 request_id=principal.request_id)


def actor_of(principal: Principal) -> audit.Actor:
    """The principal as the audit log names them, with their request's id."""
    return audit.Actor(principal.actor, principal.role, principal.store_id, principal.request_id)


def ensure_may_use(conn: Conn, principal: Principal | None, owner_id: int | None,
                   store_id: str | None, what: str, *, hidden: bool = False) -> None:
    """Raise unless ``principal`` may use something a customer owns or, until a customer
    claims it, a store's session holds (a floor plan, a design):

    - owned by a customer: whoever may act for them (:func:`ensure_may_act_for`);
    - held by a store: that store's kiosks and staff;
    - an admin.

    A customer refused gets ``NotFound(f"{what} does not exist")``, the answer for an id that
    does not exist; with ``hidden`` (an open route) so does everyone refused, including a
    caller who is not signed in (``principal`` None).
    """
    missing = NotFound(f"{what} does not exist")
    if principal is None:
        raise missing
    if owner_id is not None:
        ensure_may_act_for(conn, principal, owner_id, what, hidden=hidden)
        return
    if principal.kind != "customer" and store_id is not None and \
            principal.store_id is not None and str(principal.store_id) == store_id:
        return
    if principal.role == "admin":
        return
    if principal.kind == "customer" or hidden:
        raise missing
    raise Forbidden(f"{what} belongs to another store's session")


class AccessRefused(Forbidden):
    """Staff or a kiosk was refused a customer's data. The request's transaction rolls back,
    so the problem handler writes the refusal to the audit log in a transaction of its own
    (:func:`audit_refusal`): the customer sees attempts too, not only reads."""

    def __init__(self, detail: str, principal: Principal, customer_id: int) -> None:
        super().__init__(detail)
        self.principal, self.customer_id = principal, customer_id


class HiddenRefusal(NotFound):
    """Staff or a kiosk was refused on an open route, answered as for something that does not
    exist; audited like :class:`AccessRefused`."""

    def __init__(self, detail: str, principal: Principal, customer_id: int) -> None:
        super().__init__(detail)
        self.principal, self.customer_id = principal, customer_id
