"""Request and response bodies of the clienteling API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BindIn", "Coupon", "Day", "DiscountIn", "DiscountOut", "HomeFacts", "NoteIn", "Profile",
           "Recommendation", "SearchResult", "TagIn", "TierIn", "TrailItem", "ViewIn"]


class HomeFacts(BaseModel):
    """Facts about the customer's home and household, which the customer or an assistant
    acting for them may state. The membership tier is not among them: a store manager sets it
    (:class:`TierIn`), and a body naming it is refused rather than half-applied."""

    model_config = ConfigDict(extra="forbid")

    birthday: date | None = None
    age_band: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=64)
    household: str | None = Field(default=None, max_length=200)
    channels: list[str] | None = Field(default=None, max_length=8)
    move_in_date: date | None = None
    floor_plan_id: int | None = None
    rough_in_mm: int | None = Field(default=None, gt=0, le=1000)
    home_style: str | None = Field(default=None, max_length=64)
    budget_cents: int | None = Field(default=None, ge=0)


class Profile(BaseModel):
    customer_id: int
    name: str
    demographic: dict[str, Any]
    consumption: dict[str, Any]
    membership: dict[str, Any]
    behaviour: dict[str, Any]
    home: dict[str, Any]
    products: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    notes: list[dict[str, Any]]


class TierIn(BaseModel):
    tier: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$",
                      description="The membership tier, e.g. member, silver, gold")


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=2000)


class TagIn(BaseModel):
    tag: str = Field(min_length=1, max_length=64, pattern=r"^[^:\s][^\s]*$")


class ViewIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    store_id: str | None = Field(default=None, max_length=32)
    session_id: str = Field(min_length=8, max_length=64,
                            description="The app's anonymous session until sign-in")


class BindIn(BaseModel):
    assistant: str = Field(min_length=1, max_length=80, description="From the assistant's QR: "
                           "staff:<id>")
    store_id: str = Field(max_length=32)


class TrailItem(BaseModel):
    sku: str
    name: str
    name_zh: str
    category: str
    price_cents: int
    at: datetime
    views: int
    store_id: str | None
    store_name: str | None = Field(default=None, description="Where it was seen, by name")
    store_name_zh: str | None = Field(default=None, description="Its Chinese name")
    similar: list[Recommendation] = []


class Recommendation(BaseModel):
    sku: str
    name: str
    name_zh: str = ""
    score: float
    reason: str
    availability: str
    tier: int
    days: int
    store_id: str | None
    store_name: str | None = Field(default=None, description="The supplying store's name")
    store_name_zh: str | None = Field(default=None, description="Its Chinese name")


class CartItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=99)


class CartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[CartItem] = Field(max_length=100)
    store_id: str | None = Field(default=None, max_length=32,
                                 description="Where the customer means to get them")


class Cart(BaseModel):
    items: list[CartItem]
    store_id: str | None
    updated_at: datetime | None


class SearchResult(BaseModel):
    total: int
    items: list[dict[str, Any]]
    facets: dict[str, dict[str, int]]


class DiscountIn(BaseModel):
    customer_id: int
    sku: str = Field(min_length=1, max_length=64)
    amount_cents: int = Field(gt=0)
    kind: str = Field(default="discount", pattern="^(discount|gift)$")
    dry_run: bool = Field(default=False, description="Only show the effect")


class Coupon(BaseModel):
    """A discount or gift an assistant granted the customer, not yet used."""

    id: int = Field(description="Name it as a line's discount_id when ordering the item")
    sku: str
    name: str
    name_zh: str
    kind: str = Field(description="discount: taken off the item's price; gift: handed over")
    amount_cents: int
    store_id: str
    store: str = Field(description="The store's name")
    store_zh: str = Field(description="Its Chinese name")
    granted_at: datetime


class DiscountOut(BaseModel):
    id: int | None
    status: str
    price_cents: int
    amount_cents: int
    margin_before_cents: int
    margin_after_cents: int
    margin_rate_after: float
    commission_before_cents: int
    commission_after_cents: int
    budget_cents: int
    budget_used_cents: int
    budget_left_cents: int
    needs_approval: bool


class Day(BaseModel):
    tasks: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    inbox: list[dict[str, Any]]


TrailItem.model_rebuild()
