"""Staff: provisioning tags, transferring ownership, reading dead letters and quality alerts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from api import schemas
from api.auth import FleetOperator, StaffUser, StoreAssistant, ensure_may_act_for
from api.deps import ConnDep, PoolDep, SettingsDep
from customers import store as customers
from device_gateway import provisioning
from homeloop import clock
from homeloop.db import transaction
from homeloop.errors import thing
from identity.access import STAFF, needs
from replenishment import offers_store, quality_store
from replenishment import store as forecasts_store

router = APIRouter(prefix="/v1/staff", tags=["staff"])


@router.post("/devices", status_code=status.HTTP_201_CREATED,
             response_model=list[schemas.DeviceCredentials])
@needs("fleet_operator", "admin")
def provision_devices(body: schemas.ProvisionRequest, staff: FleetOperator, pool: PoolDep,
                      settings: SettingsDep) -> list[schemas.DeviceCredentials]:
    """Create tags with their own MQTT credentials; the passwords are in this answer only."""
    with transaction(pool) as conn:
        made = provisioning.provision(conn, body.sku, body.count, body.batch)
    with pool.connection() as conn:  # the broker learns of committed devices only
        provisioning.after_provisioning(conn, settings)
    return [schemas.DeviceCredentials(device_id=c.device_id, password=c.password,
                                      tag_uid=c.tag_uid, product_id=c.instance_id, sku=c.sku,
                                      batch=c.batch)
            for c in made]


@router.post("/devices/{device_id}/revoke", status_code=status.HTTP_204_NO_CONTENT)
@needs("fleet_operator", "admin")
def revoke_device(device_id: str, staff: FleetOperator, pool: PoolDep,
                  settings: SettingsDep) -> None:
    """Revoke a tag; the broker disconnects it and refuses it from then on.

    When the broker (EMQX) cannot be told to close its connection, the answer is 503: the
    tag is revoked all the same and can no longer sign in; asking again retries the close."""
    with transaction(pool) as conn:
        provisioning.revoke(conn, device_id)
    with pool.connection() as conn:
        provisioning.after_revocation(conn, settings, device_id)


@router.post("/products/{product_id}/transfer", response_model=schemas.Product)
@needs("assistant", "store_manager", "admin", of="customer")
def transfer_product(product_id: int, body: schemas.TransferRequest, staff: StoreAssistant,
                     conn: ConnDep) -> schemas.Product:
    """Move a product to another customer (a sale between neighbours, a mistaken claim).

    The assistant must be allowed to act for the new owner, and for the current one if any."""
    owner = customers.get_instance(conn, product_id).owner_id
    if owner is not None:
        ensure_may_act_for(conn, staff, owner, thing("customer", owner))
    ensure_may_act_for(conn, staff, body.to_customer_id, thing("customer", body.to_customer_id))
    moved = customers.transfer(conn, product_id, body.to_customer_id)
    forecasts_store.forget_forecasts(conn, [product_id])  # drawn from the seller's use
    return schemas.Product(**asdict(moved))


@router.get("/dead-letters", response_model=list[schemas.DeadLetter])
@needs("fleet_operator", "admin")
def dead_letters(staff: FleetOperator, conn: ConnDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 before_id: Annotated[int | None, Query()] = None) -> list[schemas.DeadLetter]:
    """Messages the gateway could not store, newest first, with the reason."""
    rows = conn.execute(
        "SELECT id, received_at, topic, reason, payload_size, payload FROM dead_letters "
        "WHERE (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        (before_id, before_id, limit)).fetchall()
    return [schemas.DeadLetter(id=r[0], received_at=r[1], topic=r[2], reason=r[3],
                               payload_size=r[4],
                               payload_preview=bytes(r[5][:200]).decode("utf-8", "replace"))
            for r in rows]


@router.get("/quality-alerts", response_model=list[schemas.QualityAlert])
@needs("fleet_operator", "admin")
def quality_alerts(staff: FleetOperator, conn: ConnDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   ) -> list[schemas.QualityAlert]:
    """Fleet quality alerts, newest first: SKUs with significantly more faults than usual."""
    return [schemas.QualityAlert(**{k: v for k, v in asdict(a).items() if k != "day"})
            for a in quality_store.list_alerts(conn, limit)]


@router.get("/offer-stats", response_model=list[schemas.OfferStats])
@needs(*STAFF)
def offer_stats(staff: StaffUser, conn: ConnDep,
                days: Annotated[int, Query(ge=1, le=365)] = 30) -> list[schemas.OfferStats]:
    """Offers decided in the last ``days`` days per kind: where they ended, why any were
    suppressed, and how many of those shown were accepted (no customer data)."""
    since = clock.now() - timedelta(days=days)
    return [schemas.OfferStats(**asdict(k)) for k in offers_store.stats(conn, since)]
