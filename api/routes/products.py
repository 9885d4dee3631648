"""The customer's products, their usage timelines and forecasts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import schemas
from api.auth import CurrentCustomer
from api.deps import ConnDep, ReadableProduct, ReplicaConnDep
from catalog.metrics import metric_unit
from customers import store as customers
from device_gateway.timeline import EVERYTHING, Bucket, read_timeline
from homeloop import clock
from identity import ownership
from identity.access import SIGNED_IN, needs
from replenishment.views import product_forecasts

router = APIRouter(tags=["products"])
DEFAULT_SPAN = {"raw": timedelta(days=1), "hour": timedelta(days=7), "day": timedelta(days=90)}


@router.post("/v1/me/products/claim", response_model=schemas.Product,
             responses={404: {"description": "No product carries this tag"},
                        409: {"description": "Already registered to another customer"}})
@needs("customer")
def claim_product(body: schemas.ClaimRequest, customer: CurrentCustomer, conn: ConnDep,
                  response: Response) -> schemas.Product:
    """Register a product to the signed-in customer from the NFC tag UID the phone read.

    The first claim wins; claiming your own product again answers 200 with it.
    """
    claimed = customers.claim(conn, customer, tag_uid=body.tag_uid.replace(":", "").upper())
    response.status_code = status.HTTP_201_CREATED if claimed.new else status.HTTP_200_OK
    return schemas.Product(**asdict(claimed.product))


@router.get("/v1/me/products", response_model=list[schemas.Product])
@needs("customer")
def my_products(customer: CurrentCustomer, conn: ConnDep) -> list[schemas.Product]:
    """The products registered to the signed-in customer."""
    return [schemas.Product(**asdict(p)) for p in customers.list_owned(conn, customer)]


@router.get("/v1/products/{product_id}/timeline", response_model=schemas.Timeline,
            response_model_by_alias=True, response_model_exclude_none=True,
            responses={404: {"description": "No such product, or not yours"}})
@needs(*SIGNED_IN, of="customer")
def timeline(
    product: ReadableProduct, conn: ConnDep, replica: ReplicaConnDep,
    metric: Annotated[str | None, Query(description="One metric; all when omitted")] = None,
    start: Annotated[datetime | None, Query(alias="from", description="Inclusive")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Exclusive; default now")]
    = None,
    bucket: Annotated[Bucket, Query(description="raw readings or hourly/daily rollups")] = "hour",
) -> schemas.Timeline:
    """A product's usage timeline, answered from the rollup that matches the bucket.

    Only the product's owner and whoever may act for them read it; anyone else gets 404. It
    holds only what the product recorded while its owner owned it: a product bought from
    someone else starts when it changed hands (an edge bucket holds only the owner's part).
    """
    end = end or clock.now()
    start = start or end - DEFAULT_SPAN[bucket]
    within = EVERYTHING if product.owner_id is None else \
        ownership.periods(conn, product.id, product.owner_id)  # fleet data: the whole life
    found = read_timeline(replica, product.id, metric=metric, start=start, end=end, bucket=bucket,
                          within=within)
    return schemas.Timeline.model_validate(asdict(found))


@router.get("/v1/products/{product_id}/forecasts", response_model=schemas.ProductForecasts,
            responses={404: {"description": "No such product, or not yours"}})
@needs(*SIGNED_IN, of="customer")
def forecasts(product: ReadableProduct, replica: ReplicaConnDep) -> schemas.ProductForecasts:
    """When each consumable of the product runs out and each service falls due.

    The forecasts the hourly task stored (``homeloop forecast`` runs it at once), each with
    a reason in the owner's language. Only the product's owner and staff may read them;
    anyone else gets 404.
    """
    found = product_forecasts(replica, product)
    return schemas.ProductForecasts(
        product_id=found.product_id, locale=found.locale,
        forecasts=[schemas.Forecast(**asdict(v.forecast), item_name=v.item_name,
                                    reason=v.reason,
                                    unit=metric_unit(v.forecast.metric))
                   for v in found.forecasts])
