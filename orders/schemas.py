"""Request and response bodies of the orders API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Installer", "LineIn", "NewOrder", "Order", "OrderEvent", "OrderLine", "Rating",
           "RatingIn", "Slot", "SlotIn", "StepIn"]


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=100)
    discount_id: int | None = Field(
        default=None, description="A discount granted (or approved) for this customer and "
                                  "SKU, taken off this line; each is used once")


class NewOrder(BaseModel):
    customer_id: int
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    fulfilment: Literal["delivery", "pickup"] = Field(
        default="delivery", description="delivery: from here, else the nearest store that "
        "has every line or online (then with a slot); pickup: collected at this store, which "
        "must have every line")


class StepIn(BaseModel):
    status: str = Field(min_length=1, max_length=32)
    store_id: str | None = Field(default=None, description="shipped from (default: the "
                                 "fulfilling store)")
    installer_id: int | None = None
    install_at: datetime | None = None


class SlotIn(BaseModel):
    starts_at: datetime


class RatingIn(BaseModel):
    stars: int = Field(ge=1, le=5)
    problems: list[str] = Field(default_factory=list, max_length=8)
    comment: str = Field(default="", max_length=2000)


class OrderLine(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    discount_cents: int


class OrderEvent(BaseModel):
    seq: int
    status: str
    at: datetime
    actor: str
    data: dict[str, Any]


class Order(BaseModel):
    id: int
    customer_id: int | None = Field(description="null once the customer had their data "
                                                 "deleted: the sale stays in the books")
    store_id: str
    assistant: str | None
    fulfil_store_id: str
    needs_slot: bool
    slot_starts_at: datetime | None
    slot_ends_at: datetime | None
    installer_id: int | None
    install_at: datetime | None
    status: str
    total_cents: int
    created_at: datetime
    fulfilment: Literal["delivery", "pickup", "visit"] = Field(
        description="delivery (sold in store), pickup or visit (an accepted offer)")
    points_spent: int = Field(description="loyalty points it was paid with")
    lines: list[OrderLine]
    events: list[OrderEvent]


class Slot(BaseModel):
    store_id: str
    starts_at: datetime
    ends_at: datetime
    free: int


class Rating(BaseModel):
    order_id: int
    installer_id: int
    stars: int
    problems: list[str]
    low: bool
    task_id: int | None


class Installer(BaseModel):
    id: int
    name: str
    company_id: int
    company: str
    ratings: int
    mean: float | None
    score: float
    company_score: float
    problems: dict[str, int]
