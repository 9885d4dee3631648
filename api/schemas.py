"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ClaimRequest(BaseModel):
    tag_uid: str = Field(min_length=4, max_length=64, pattern=r"^[0-9A-Fa-f:]+$",
                         description="The NFC tag's UID as the phone read it (hex)")


class Product(BaseModel):
    id: int
    sku: str
    tag_uid: str
    owner_id: int | None
    claimed_at: datetime | None


class Point(BaseModel):
    t: datetime
    value: float | None = None
    n: int | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    last: float | None = None


class Series(BaseModel):
    metric: str
    unit: str
    points: list[Point]


class Timeline(BaseModel):
    product_id: int
    bucket: str
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    series: list[Series]
    truncated: bool = Field(description="More than 10,000 points matched; narrow the range")


class Forecast(BaseModel):
    """When one consumable runs out or one service falls due, as of ``computed_at``."""

    kind: Literal["consumable", "service"]
    item_sku: str
    item_name: str = Field(description="In the owner's language")
    reason: str = Field(description="Why this date, in the owner's language: "
                                    "'about 6 days left at your usual pace'")
    metric: str | None = Field(description="The timeline it was read from; null: by time only")
    unit: str | None = Field(description="Unit of rate_per_day, used and remaining")
    rate_per_day: float = Field(description="The household's pace, per day")
    used: float = Field(description="Used since cycle_start")
    remaining: float | None
    days_left: float | None = Field(description="From computed_at; null: no end in sight")
    days_left_low: float | None = Field(description="80 % interval, early end")
    days_left_high: float | None = Field(description="80 % interval, late end; null: unbounded")
    confidence: float = Field(ge=0, le=1, description="days_left_low / days_left_high")
    basis: Literal["usage", "time", "none"] = Field(description="What runs out first")
    data_days: float = Field(description="Days of this product's own data behind the pace")
    prior_weight: float = Field(description="Share of the category's average pace in it")
    cycle_start: datetime = Field(description="When the current one was fitted, or the last "
                                              "service (or the registration)")
    computed_at: datetime
    due_at: datetime | None
    pack_days_low: float | None = Field(None, description="How long a whole new one lasts at "
                                                          "this pace: 80 % interval, early end")
    pack_days_high: float | None = Field(None, description="... and its late end")


class ProductForecasts(BaseModel):
    product_id: int
    locale: str = Field(description="The owner's locale, which the names and reasons are in")
    forecasts: list[Forecast] = Field(description="Soonest due first")


class ProvisionRequest(BaseModel):
    sku: str
    count: int = Field(ge=1, le=10_000)
    batch: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$",
                              description="Production batch (lot) of these products, so that "
                                          "quality alerts can name a bad batch")


class DeviceCredentials(BaseModel):
    device_id: str
    password: str = Field(description="Shown once; only its hash is stored")
    tag_uid: str
    product_id: int
    sku: str
    batch: str | None


class TransferRequest(BaseModel):
    to_customer_id: int | None = Field(description="New owner, or null to release the product")


class DeadLetter(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason: str
    payload_size: int
    payload_preview: str


class QualityAlert(BaseModel):
    id: int
    sku: str
    batch: str | None = Field(description="The production batch at fault; null when the "
                                          "rise is across the whole SKU")
    window_start: datetime
    window_end: datetime
    faults: int
    devices: int
    rate: float
    baseline_rate: float
    expected: float
    p_value: float
    created_at: datetime


OfferKind = Literal["replenish", "maintenance", "upsell", "crosssell", "points", "quality"]


class Offer(BaseModel):
    """A replenishment, maintenance or other offer, as the customer's phone shows it."""

    id: int
    kind: OfferKind
    product_id: int | None = Field(description="The product it is about (a bundle's first)")
    item_skus: list[str] = Field(description="A bundle holds several consumables due the "
                                             "same week")
    reason: str = Field(description="Why and how, in the customer's language")
    fulfilment: Literal["pickup", "delivery", "visit"]
    store_id: str | None = Field(description="The pickup store, or the store booking a visit")
    lead_days: int
    due_at: datetime
    expires_at: datetime
    status: Literal["pending", "deferred", "sent", "opened", "snoozed", "accepted",
                    "dismissed", "already_bought", "expired"] = Field(
        description="snoozed: 'I still have some' (still acceptable, not pushed again); "
                    "already_bought: closed by 'Already bought'")
    deliver_after: datetime = Field(description="Not pushed before this (quiet hours)")
    decided_at: datetime


class AcceptOffer(BaseModel):
    """How the customer wants it; by default as the offer said."""

    model_config = ConfigDict(extra="forbid")

    fulfilment: Literal["pickup", "delivery", "visit"] | None = None
    store_id: str | None = Field(default=None, max_length=64,
                                 description="For a pickup, or the store whose technician "
                                             "visits: the store (default the offer's)")


class OrderRequest(BaseModel):
    """An accepted offer on its way to the retailer's order system."""

    id: int
    offer_id: int
    fulfilment: Literal["pickup", "delivery", "visit"]
    store_id: str | None
    items: list[dict[str, Any]]
    ready_by: datetime = Field(description="When it can be picked up, delivered or visited")
    status: Literal["queued", "sent", "dead"]
    external_ref: str | None = Field(description="The order system's order id, once sent")
    fitted_at: datetime | None = Field(
        description="When the new consumable showed up in the product's timeline (or the "
                    "service was done)")
    created_at: datetime
    order_id: int | None = Field(description="The order it placed: follow it at "
                                             "/v1/orders/{order_id}")


class AcceptedOffer(BaseModel):
    offer: Offer
    order_request: OrderRequest


class OfferStats(BaseModel):
    """Offers decided in the period, per kind: how many reached each status."""

    kind: str
    decided: int
    by_status: dict[str, int]
    suppressed_by_reason: dict[str, int]
    acceptance_rate: float = Field(description="Accepted of those shown to the customer")


class ConsentUpdate(BaseModel):
    channel: Literal["push"] = "push"
    kinds: dict[OfferKind, bool] = Field(
        default_factory=dict, description="Only the kinds given change; without an answer, "
                                          "service kinds are allowed and marketing is not")
    opted_out: bool | None = Field(default=None,
                                   description="Opt out of every offer (quality notices "
                                               "still come); null leaves it as it is")


class Consents(BaseModel):
    channel: Literal["push"]
    opted_out: bool
    kinds: dict[str, bool] = Field(description="Every offer kind, as the rules apply it")


class PushTokenRequest(BaseModel):
    token: str = Field(min_length=1, max_length=4096,
                       description="The FCM registration token the app got on this install")
    platform: Literal["android", "ios", "web"]


class PushToken(BaseModel):
    token: str
    platform: Literal["android", "ios", "web"]
    created_at: datetime
    last_seen_at: datetime
