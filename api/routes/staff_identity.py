"""Staff: accounts, kiosks, signing a customer in at a kiosk, recognising them at the till."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response, status

from api import identity_schemas as s
from api.auth import Admin, StoreAssistant, actor_of, ensure_may_act_for
from api.deps import ConnDep, PoolDep, SettingsDep
from homeloop.db import transaction
from homeloop.errors import DomainError, Forbidden, NotFound, thing
from identity import audit, kiosks, linking, merge, merge_requests, messages, sms
from identity import staff as staff_store
from identity.access import ensure_store_holds, needs
from identity.customers import find_customer
from identity.keys import normalise

router = APIRouter(prefix="/v1/staff", tags=["staff"])


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=s.StaffCreated)
@needs("admin")
def create_member(body: s.NewStaff, admin: Admin, conn: ConnDep) -> s.StaffCreated:
    """Create a staff account; its first password is in this answer only."""
    member, password = staff_store.create_staff(conn, body.username, body.display_name,
                                                body.role, body.store_id)
    return s.StaffCreated(member=s.StaffMember(**asdict(member)), password=password)


@router.post("/members/{member_id}/disable", response_model=s.StaffMember)
@needs("admin")
def disable_member(member_id: int, admin: Admin, conn: ConnDep) -> s.StaffMember:
    """Disable a staff account: its sessions stop working at once."""
    staff_store.disable_staff(conn, member_id)
    return s.StaffMember(**asdict(staff_store.get_staff(conn, member_id)))


@router.post("/kiosks", status_code=status.HTTP_201_CREATED, response_model=s.KioskCreated)
@needs("assistant", "store_manager", "admin", of="store")
def create_kiosk(body: s.NewKiosk, staff: StoreAssistant, conn: ConnDep,
                 settings: SettingsDep) -> s.KioskCreated:
    """Register a kiosk of a store; its secret is in this answer only."""
    ensure_store_holds(staff, body.store_id, f"store {body.store_id}'s kiosks")
    kiosk, secret = kiosks.create_kiosk(conn, settings, body.store_id, body.name, staff.actor)
    return s.KioskCreated(kiosk=s.Kiosk(**asdict(kiosk)), secret=secret)


@router.post("/kiosks/{kiosk_id}/revoke", response_model=s.Kiosk)
@needs("assistant", "store_manager", "admin", of="store")
def revoke_kiosk(kiosk_id: int, staff: StoreAssistant, conn: ConnDep) -> s.Kiosk:
    """Take a kiosk out of service: its sessions and grants end now."""
    ensure_store_holds(staff, kiosks.get_kiosk(conn, kiosk_id).store_id, thing("kiosk", kiosk_id))
    return s.Kiosk(**asdict(kiosks.revoke_kiosk(conn, kiosk_id)))


@router.post("/kiosk-grants", status_code=status.HTTP_201_CREATED, response_model=s.Grant)
@needs("assistant", "store_manager", "admin", of="customer")
def sign_customer_in_at_kiosk(body: s.AssistantGrantRequest, staff: StoreAssistant,
                              conn: ConnDep, settings: SettingsDep) -> s.Grant:
    """An assistant signs a customer in at their store's kiosk (the customer must have let
    the store see their profile); the grant expires like a handoff."""
    ensure_store_holds(staff, kiosks.get_kiosk(conn, body.kiosk_id).store_id,
                       thing("kiosk", body.kiosk_id))
    ensure_may_act_for(conn, staff, body.customer_id, thing("customer", body.customer_id))
    grant = kiosks.grant_by_assistant(conn, settings, body.kiosk_id, body.customer_id,
                                      staff=staff.actor)
    audit.record(conn, actor=staff.actor, role=staff.role, store_id=staff.store_id,
                 customer_id=body.customer_id, action=f"signed in at kiosk {body.kiosk_id}",
                 request_id=staff.request_id)
    return s.Grant(**asdict(grant))


@router.post("/customers/lookup", response_model=s.CustomerFound,
             responses={404: {"description": "No customer with it who lets this store in"}})
@needs("assistant", "store_manager", "admin")
def find_customer_at_till(body: s.CustomerLookup, staff: StoreAssistant, conn: ConnDep,
                          settings: SettingsDep) -> s.CustomerFound:
    """Recognise a customer by the member card or phone number they give at the till."""
    found = find_customer(conn, settings, body.kind, body.value)
    if found is None:
        raise NotFound("no customer has this card or number")
    try:
        ensure_may_act_for(conn, staff, found)
    except Forbidden as exc:  # do not reveal who has a number to a store they did not allow
        raise NotFound("no customer has this card or number") from exc
    return s.CustomerFound(customer_id=found)


@router.post("/customers/{customer_id}/cards", response_model=s.Linked,
             responses={202: {"model": s.Linked,
                              "description": "The card is on another record: a merge waits "
                                             "for both customers to confirm"}})
@needs("assistant", "store_manager", "admin", of="customer")
def link_scanned_card(customer_id: int, body: s.CardScan, staff: StoreAssistant,
                      conn: ConnDep, settings: SettingsDep, response: Response) -> s.Linked:
    """Link a member card scanned at the till to the customer. If another record holds the
    card, nothing moves: a merge request waits for both customers' confirmation (each in
    their app, or with a code sent to a phone verified on their record), and the answer
    says nothing about that record."""
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    linked = linking.link_identity(conn, settings, customer_id, "member_card", body.card_number,
                                   proof=f"staff_scan:{staff.actor}", by=actor_of(staff))
    if linked.status == "pending_confirmation":
        response.status_code = status.HTTP_202_ACCEPTED
    return s.Linked.of(linked)


@router.get("/customers/{customer_id}/merge-requests/{request_id}",
            response_model=s.MergeRequestState)
@needs("assistant", "store_manager", "admin", of="customer")
def merge_request_state(customer_id: int, request_id: int, staff: StoreAssistant,
                        conn: ConnDep) -> s.MergeRequestState:
    """Where a merge into this customer's record stands (pending, merged, declined…)."""
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    return s.MergeRequestState.of(
        merge_requests.get_request(conn, request_id, customer_id, side="into"))


@router.post("/customers/{customer_id}/merge-requests/{request_id}/codes",
             status_code=status.HTTP_202_ACCEPTED, response_model=s.MergeCodeRequested,
             responses={409: {"description": "Too many codes were asked for this merge"},
                        410: {"description": "The request expired"},
                        503: {"description": "The SMS gateway is not reachable"}})
@needs("assistant", "store_manager", "admin", of="customer")
def send_merge_code(customer_id: int, request_id: int, body: s.MergeCodeRequest,
                    staff: StoreAssistant, conn: ConnDep,
                    settings: SettingsDep) -> s.MergeCodeRequested:
    """Send a one-time code to the number the customer gives, if it is a phone verified on
    one of the two records of the merge (and that side has not confirmed yet). The answer is
    the same either way."""
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    code = merge_requests.start_code(conn, settings, request_id, customer_id, body.phone)
    if code is not None:
        sms.send_sms(settings, normalise("phone", body.phone),
                     messages.merge_code_sms(code, int(settings.phone_code_minutes)))
    return s.MergeCodeRequested(expires_in_s=int(settings.phone_code_minutes * 60))


@router.post("/customers/{customer_id}/merge-requests/{request_id}/confirm",
             response_model=s.MergeRequestState,
             responses={409: {"description": "Already merged, declined or cancelled"},
                        410: {"description": "The request expired"},
                        422: {"description": "Wrong or expired code, or none for this number"}})
@needs("assistant", "store_manager", "admin", of="customer")
def confirm_merge_with_code(customer_id: int, request_id: int, body: s.MergeCodeConfirm,
                            staff: StoreAssistant, pool: PoolDep,
                            settings: SettingsDep) -> s.MergeRequestState:
    """Confirm one side of the merge with the code its phone received; when both sides have
    confirmed, the records become one (``merged``)."""
    failure: DomainError | None = None
    with transaction(pool) as conn:  # a wrong code's attempt is counted even though we refuse
        try:
            ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
            request, _ = merge_requests.confirm_with_code(
                conn, settings, request_id, customer_id, body.phone, body.code,
                by=actor_of(staff))
        except DomainError as exc:
            failure = exc
    if failure is not None:
        raise failure
    return s.MergeRequestState.of(request)


@router.get("/customers/{customer_id}/merges", response_model=list[s.MergeRecord])
@needs("admin")
def customer_merges(customer_id: int, admin: Admin, conn: ConnDep,
                    settings: SettingsDep) -> list[s.MergeRecord]:
    """The merges into or out of a customer's record, and until when each can be undone."""
    return [s.MergeRecord(**asdict(m)) for m in merge.merges_of(conn, settings, customer_id)]


@router.post("/merges/{merge_id}/undo", response_model=s.MergeUndone,
             responses={404: {"description": "No such merge"},
                        409: {"description": "Already undone, or the records changed since "
                                             "in a way that prevents it"},
                        410: {"description": "Older than merge_undo_days"}})
@needs("admin")
def undo_merge(merge_id: int, admin: Admin, conn: ConnDep,
               settings: SettingsDep) -> s.MergeUndone:
    """Separate two merged records again: every row the merge moved goes back, the rows it
    deleted as duplicates come back, and so do the points and the home store."""
    return s.MergeUndone(**asdict(merge.undo_merge(conn, settings, merge_id, actor_of(admin))))


@router.get("/customers/{customer_id}/access-log", response_model=list[s.AuditEntry])
@needs("admin")
def customer_access_log(customer_id: int, admin: Admin, conn: ConnDep) -> list[s.AuditEntry]:
    """Who read or changed a customer's data (admins, for privacy requests and audits)."""
    return [s.AuditEntry.of(e) for e in audit.entries_for(conn, customer_id)]
