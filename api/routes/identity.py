"""Sign-in for staff and kiosks, and the signed-in customer's identity, consent and data."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api import identity_schemas as s
from api.auth import CurrentCustomer, RecentCustomer, check_rate, client_address, customer_actor
from api.deps import ConnDep, PoolDep, SettingsDep
from catalog import store as catalog_store
from floorplans import scenes
from floorplans import store as floorplan_store
from homeloop.db import Conn, transaction
from homeloop.errors import DomainError, NotFound
from identity import audit, kiosks, linking, merge_requests, privacy, sessions, sms
from identity import staff as staff_store
from identity.access import ANYONE, needs
from identity.keys import normalise

auth_router = APIRouter(prefix="/v1/auth", tags=["auth"])
router = APIRouter(prefix="/v1/me", tags=["me"])


def _session(conn: Conn, settings_token: tuple[str, sessions.Session]) -> s.Session:
    token, session = settings_token
    found = catalog_store.find_store(conn, session.store_id) if session.store_id else None
    return s.Session(access_token=token, expires_at=datetime.fromtimestamp(session.expires_at, UTC),
                     kind=session.kind, role=session.role,  # type: ignore[arg-type]
                     store_id=session.store_id,
                     store_name=found.name if found else None,
                     store_name_zh=(found.name_zh or found.name) if found else None)


@auth_router.post("/staff", response_model=s.Session,
                  responses={401: {"description": "Wrong username or password"},
                             429: {"description": "Too many sign-in attempts"}})
@needs(ANYONE)
def staff_sign_in(body: s.StaffSignIn, request: Request, conn: ConnDep,
                  settings: SettingsDep) -> s.Session:
    """A staff member signs in; the session lasts ``staff_session_hours``."""
    check_rate(request, f"sign-in:{client_address(request)}:{body.username}",
               settings.sign_in_rate_limit)
    member = staff_store.authenticate(conn, body.username, body.password)
    return _session(conn, sessions.issue(settings, "staff", member.id,
                                   seconds=settings.staff_session_hours * 3600,
                                   role=member.role, store_id=member.store_id))


@auth_router.post("/kiosk", response_model=s.Session,
                  responses={401: {"description": "Unknown or revoked kiosk, or wrong secret"},
                             429: {"description": "Too many sign-in attempts"}})
@needs(ANYONE)
def kiosk_sign_in(body: s.KioskSignIn, request: Request, conn: ConnDep,
                  settings: SettingsDep) -> s.Session:
    """A kiosk exchanges its secret for a short-lived session token."""
    check_rate(request, f"sign-in:{client_address(request)}:kiosk:{body.kiosk_id}",
               settings.sign_in_rate_limit)
    kiosk = kiosks.authenticate(conn, settings, body.kiosk_id, body.secret)
    return _session(conn, sessions.issue(settings, "kiosk", kiosk.id,
                                   seconds=settings.kiosk_session_minutes * 60,
                                   store_id=kiosk.store_id))


@router.get("", response_model=s.Me)
@needs("customer")
def me(customer: CurrentCustomer, conn: ConnDep) -> s.Me:
    """Who the app is signed in as, with the identities linked to them."""
    row = conn.execute("SELECT id, display_name, locale, points, home_store_id FROM customers "
                       "WHERE id = %s", (customer,)).fetchone()
    if row is None:
        raise NotFound("this customer no longer exists")
    ids = [s.Identity(id=i, kind=k, hint=h, proof=p)  # type: ignore[arg-type]
           for i, k, h, p in linking.identities_of(conn, customer)]
    return s.Me(id=row[0], display_name=row[1], locale=row[2], points=row[3],
                home_store_id=row[4], identities=ids)


@router.post("/identities/phone", status_code=status.HTTP_202_ACCEPTED,
             response_model=s.PhoneLinkStarted,
             responses={503: {"description": "The SMS gateway is not reachable"}})
@needs("customer")
def start_phone_link(body: s.PhoneLinkRequest, customer: RecentCustomer, conn: ConnDep,
                     settings: SettingsDep) -> s.PhoneLinkStarted:
    """Send a code to the phone number; confirming it links the number to this customer."""
    code = linking.start_phone_link(conn, settings, customer, body.phone)
    sms.send_sms(settings, normalise("phone", body.phone),
                 f"Homeloop code: {code} (valid {int(settings.phone_code_minutes)} min)")
    return s.PhoneLinkStarted(expires_in_s=int(settings.phone_code_minutes * 60))


@router.post("/identities/phone/verify", response_model=s.Linked,
             responses={202: {"model": s.Linked,
                              "description": "Another record has this number and has not "
                                             "verified it: it must confirm in its app"},
                        422: {"description": "Wrong code"},
                        410: {"description": "Expired, or too many wrong tries"}})
@needs("customer")
def verify_phone_link(body: s.PhoneVerify, customer: RecentCustomer, pool: PoolDep,
                      settings: SettingsDep, response: Response) -> s.Linked:
    """Link the phone with the code sent to it. If another record verified that number, the
    code proves control of that record's phone too: the two records become one (products,
    designs, points and offers of both stay; an admin can undo it). If the other record never
    verified it, it must confirm in its own app first (``/v1/me/merge-requests``)."""
    failure: DomainError | None = None
    with transaction(pool) as conn:  # a wrong code's attempt is counted even though we refuse
        try:
            linked = linking.verify_phone_link(conn, settings, customer, body.phone, body.code,
                                               by=customer_actor(customer))
        except DomainError as exc:
            failure = exc
    if failure is not None:
        raise failure
    if linked.status == "pending_confirmation":
        response.status_code = status.HTTP_202_ACCEPTED
    return s.Linked.of(linked)


@router.get("/merge-requests", response_model=list[s.MyMergeRequest])
@needs("customer")
def my_merge_requests(customer: CurrentCustomer, conn: ConnDep) -> list[s.MyMergeRequest]:
    """Merges into or out of this record that wait for the customer's answer."""
    return [s.MyMergeRequest.of(r, customer) for r in merge_requests.requests_of(conn, customer)]


@router.post("/merge-requests/{request_id}/confirm", response_model=s.MyMergeRequest,
             responses={404: {"description": "No such request for this customer"},
                        409: {"description": "Already merged, declined or cancelled"},
                        410: {"description": "The request expired"}})
@needs("customer", of="customer")
def confirm_merge_request(request_id: int, customer: RecentCustomer,
                          conn: ConnDep) -> s.MyMergeRequest:
    """Confirm a merge into or out of this record; once both customers have confirmed, the
    two records become one (``status`` ``merged``)."""
    request, _ = merge_requests.confirm(conn, request_id, customer, customer_actor(customer))
    return s.MyMergeRequest.of(request, customer)


@router.post("/merge-requests/{request_id}/decline", response_model=s.MyMergeRequest,
             responses={404: {"description": "No such request for this customer"},
                        409: {"description": "Already merged, declined or cancelled"},
                        410: {"description": "The request expired"}})
@needs("customer", of="customer")
def decline_merge_request(request_id: int, customer: CurrentCustomer,
                          conn: ConnDep) -> s.MyMergeRequest:
    """Refuse a merge into or out of this record: nothing moves, the request is closed."""
    request = merge_requests.decline(conn, request_id, customer, customer_actor(customer))
    return s.MyMergeRequest.of(request, customer)


@router.delete("/identities/{identity_id}", status_code=status.HTTP_204_NO_CONTENT)
@needs("customer", of="customer")
def unlink_identity(identity_id: int, customer: RecentCustomer, conn: ConnDep) -> Response:
    """Unlink a member card or phone number (the signed-in app account stays)."""
    linking.unlink_identity(conn, customer, identity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/privacy", response_model=s.Purposes)
@needs("customer")
def my_purposes(customer: CurrentCustomer, conn: ConnDep) -> s.Purposes:
    """What the customer agreed to, per purpose."""
    return s.Purposes(**privacy.get_purposes(conn, customer))


@router.put("/privacy", response_model=s.Purposes)
@needs("customer")
def set_my_purposes(body: s.PurposesUpdate, customer: CurrentCustomer,
                    conn: ConnDep) -> s.Purposes:
    """Change answers per purpose (only those given); each change is kept in the history."""
    answers = {k: v for k, v in body.model_dump().items() if v is not None}
    return s.Purposes(**privacy.set_purposes(conn, customer, answers))


@router.get("/store-consents", response_model=dict[str, bool])
@needs("customer")
def my_store_consents(customer: CurrentCustomer, conn: ConnDep) -> dict[str, bool]:
    """The stores whose assistants may (true) or may not (false) see this customer's profile."""
    return privacy.store_consents(conn, customer)


@router.put("/store-consents/{store_id}", response_model=dict[str, bool])
@needs("customer")
def set_my_store_consent(store_id: str, body: s.StoreConsent, customer: CurrentCustomer,
                         conn: ConnDep) -> dict[str, bool]:
    """Let a store's assistants see this customer's profile, or stop them."""
    privacy.set_store_consent(conn, customer, store_id, body.granted)
    return privacy.store_consents(conn, customer)


@router.get("/consent-history", response_model=list[s.ConsentChange])
@needs("customer")
def consent_history(customer: CurrentCustomer, conn: ConnDep) -> list[s.ConsentChange]:
    """Every consent answer the customer gave, oldest first."""
    rows = conn.execute("SELECT kind, channel, granted, at FROM consent_changes "
                        "WHERE customer_id = %s ORDER BY at, id", (customer,)).fetchall()
    return [s.ConsentChange(kind=k, channel=c, granted=g, at=a) for k, c, g, a in rows]


@router.post("/kiosk-grants", status_code=status.HTTP_201_CREATED, response_model=s.Grant,
             responses={404: {"description": "No such code"},
                        409: {"description": "The code was already used"},
                        410: {"description": "The code expired"}})
@needs("customer")
def claim_kiosk_handoff(body: s.HandoffClaim, customer: CurrentCustomer, conn: ConnDep,
                        settings: SettingsDep) -> s.Grant:
    """The customer scanned a kiosk's QR code: that kiosk may open their data for a while."""
    return s.Grant(**asdict(kiosks.claim_handoff(conn, settings, body.code, customer)))


@router.delete("/kiosk-grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
@needs("customer", of="customer")
def end_kiosk_grant(grant_id: int, customer: CurrentCustomer, conn: ConnDep) -> Response:
    """End a kiosk's access to the customer's data now."""
    kiosks.end_grant(conn, grant_id, customer_id=customer)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/access-log", response_model=list[s.AuditEntry])
@needs("customer")
def my_access_log(customer: CurrentCustomer, conn: ConnDep) -> list[s.AuditEntry]:
    """Which staff member or kiosk read or changed the customer's data, and when."""
    return [s.AuditEntry.of(e) for e in audit.entries_for(conn, customer)]


@router.get("/export", response_model=s.Export)
@needs("customer")
def export_me(customer: RecentCustomer, conn: ConnDep) -> s.Export:
    """Everything stored about the customer, as JSON."""
    return s.Export(**privacy.export_customer(conn, customer))


@router.get("/export.zip", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}},
                             "description": "export.json, and each design's room as GLB"}})
@needs("customer")
def export_me_archive(customer: RecentCustomer, conn: ConnDep,
                      settings: SettingsDep) -> FileResponse:
    """Everything stored about the customer (``export.json``) and each of their designs as a
    3D room (``designs/<id>.glb``, the VR profile: the most detailed)."""
    data = privacy.export_customer(conn, customer)
    archive = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)  # noqa: SIM115
    with archive, zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export.json", json.dumps(data, ensure_ascii=False, indent=1,
                                              default=str))
        for design in floorplan_store.designs_of(conn, customer):
            scene = scenes.scene_file(conn, settings, scenes.gather(conn, design, "vr"))
            zf.write(scene, f"designs/{design.id}.glb")
    return FileResponse(archive.name, media_type="application/zip",
                        filename=f"homeloop-export-{customer}.zip",
                        background=BackgroundTask(os.unlink, archive.name))


@router.delete("", response_model=s.Deleted)
@needs("customer")
def delete_me(customer: RecentCustomer, conn: ConnDep) -> s.Deleted:
    """Delete the customer's personal data. Their products stay in the fleet, unowned."""
    return s.Deleted(deleted=True,
                     affected=privacy.delete_customer(conn, customer, "the customer themselves"))
