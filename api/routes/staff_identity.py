"""Staff: accounts, kiosks, signing a customer in at a kiosk, recognising them at the till."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, status

from api import identity_schemas as s
from api.auth import Admin, StoreAssistant, ensure_may_act_for
from api.deps import ConnDep, SettingsDep
from homeloop.errors import Forbidden, NotFound
from identity import audit, kiosks, linking
from identity import staff as staff_store
from identity.customers import find_customer

router = APIRouter(prefix="/v1/staff", tags=["staff"])


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=s.StaffCreated)
def create_member(body: s.NewStaff, admin: Admin, conn: ConnDep) -> s.StaffCreated:
    """Create a staff account; its first password is in this answer only."""
    member, password = staff_store.create_staff(conn, body.username, body.display_name,
                                                body.role, body.store_id)
    return s.StaffCreated(member=s.StaffMember(**asdict(member)), password=password)


@router.post("/members/{member_id}/disable", response_model=s.StaffMember)
def disable_member(member_id: int, admin: Admin, conn: ConnDep) -> s.StaffMember:
    """Disable a staff account: its sessions stop working at once."""
    staff_store.disable_staff(conn, member_id)
    return s.StaffMember(**asdict(staff_store.get_staff(conn, member_id)))


def _own_store(principal_store: str | None, role: str | None, store_id: str) -> None:
    if role != "admin" and principal_store != store_id:
        raise Forbidden("an assistant manages their own store's kiosks only")


@router.post("/kiosks", status_code=status.HTTP_201_CREATED, response_model=s.KioskCreated)
def create_kiosk(body: s.NewKiosk, staff: StoreAssistant, conn: ConnDep,
                 settings: SettingsDep) -> s.KioskCreated:
    """Register a kiosk of a store; its secret is in this answer only."""
    _own_store(staff.store_id, staff.role, body.store_id)
    kiosk, secret = kiosks.create_kiosk(conn, settings, body.store_id, body.name, staff.actor)
    return s.KioskCreated(kiosk=s.Kiosk(**asdict(kiosk)), secret=secret)


@router.post("/kiosks/{kiosk_id}/revoke", response_model=s.Kiosk)
def revoke_kiosk(kiosk_id: int, staff: StoreAssistant, conn: ConnDep) -> s.Kiosk:
    """Take a kiosk out of service: its sessions and grants end now."""
    _own_store(staff.store_id, staff.role, kiosks.get_kiosk(conn, kiosk_id).store_id)
    return s.Kiosk(**asdict(kiosks.revoke_kiosk(conn, kiosk_id)))


@router.post("/kiosk-grants", status_code=status.HTTP_201_CREATED, response_model=s.Grant)
def sign_customer_in_at_kiosk(body: s.AssistantGrantRequest, staff: StoreAssistant,
                              conn: ConnDep, settings: SettingsDep) -> s.Grant:
    """An assistant signs a customer in at their store's kiosk (the customer must have let
    the store see their profile); the grant expires like a handoff."""
    grant = kiosks.grant_by_assistant(conn, settings, body.kiosk_id, body.customer_id,
                                      staff=staff.actor, store_id=staff.store_id,
                                      admin=staff.role == "admin")
    audit.record(conn, actor=staff.actor, role=staff.role, store_id=staff.store_id,
                 customer_id=body.customer_id, action=f"signed in at kiosk {body.kiosk_id}",
                 request_id=None)
    return s.Grant(**asdict(grant))


@router.post("/customers/lookup", response_model=s.CustomerFound,
             responses={404: {"description": "No customer with it who lets this store in"}})
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


@router.post("/customers/{customer_id}/cards", response_model=s.Linked)
def link_scanned_card(customer_id: int, body: s.CardScan, staff: StoreAssistant,
                      conn: ConnDep, settings: SettingsDep) -> s.Linked:
    """Link a member card scanned at the till to the customer; a separate record that
    already had the card is merged into this one."""
    ensure_may_act_for(conn, staff, customer_id, f"customer {customer_id}")
    linked = linking.link_identity(conn, settings, customer_id, "member_card", body.card_number,
                                   proof=f"staff_scan:{staff.actor}", by=staff.actor)
    return s.Linked(kind=linked.kind, hint=linked.hint, merged_customer=linked.merged_from,
                    moved=linked.moved)


@router.get("/customers/{customer_id}/access-log", response_model=list[s.AuditEntry])
def customer_access_log(customer_id: int, admin: Admin, conn: ConnDep) -> list[s.AuditEntry]:
    """Who read or changed a customer's data (admins, for privacy requests and audits)."""
    return [s.AuditEntry.of(e) for e in audit.entries_for(conn, customer_id)]
