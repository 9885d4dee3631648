"""A store kiosk: hand-off codes, and the customers it may open."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response, status

from api import identity_schemas as s
from api.auth import CurrentKiosk
from api.deps import ConnDep, SettingsDep
from homeloop.errors import thing
from identity import kiosks
from identity.access import ensure_own, needs

router = APIRouter(prefix="/v1/kiosk", tags=["kiosk"])


@router.post("/handoffs", status_code=status.HTTP_201_CREATED, response_model=s.Handoff)
@needs("kiosk")
def create_handoff(kiosk: CurrentKiosk, conn: ConnDep, settings: SettingsDep) -> s.Handoff:
    """A single-use code for the kiosk to show as a QR; the customer scans it in the app."""
    assert kiosk.kiosk_id is not None
    code, expires_at = kiosks.create_handoff(conn, settings, kiosk.kiosk_id)
    return s.Handoff(code=code, expires_at=expires_at,
                     qr_text=f"homeloop://kiosk-handoff?code={code}")


@router.get("/grants", response_model=list[s.Grant])
@needs("kiosk")
def my_grants(kiosk: CurrentKiosk, conn: ConnDep) -> list[s.Grant]:
    """The customers this kiosk may open now, until each grant expires."""
    assert kiosk.kiosk_id is not None
    return [s.Grant(**asdict(g)) for g in kiosks.grants_of_kiosk(conn, kiosk.kiosk_id)]


@router.delete("/grants/{grant_id}", status_code=status.HTTP_204_NO_CONTENT)
@needs("kiosk", of="self")
def end_grant(grant_id: int, kiosk: CurrentKiosk, conn: ConnDep) -> Response:
    """Sign the customer out of this kiosk (its own grants only)."""
    grant = kiosks.open_grant(conn, grant_id)
    ensure_own(kiosk, f"kiosk:{grant.kiosk_id}", thing("grant", grant_id))
    kiosks.end_grant(conn, grant_id, kiosk_id=kiosk.kiosk_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
