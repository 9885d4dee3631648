"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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


class ProvisionRequest(BaseModel):
    sku: str
    count: int = Field(ge=1, le=10_000)


class DeviceCredentials(BaseModel):
    device_id: str
    password: str = Field(description="Shown once; only its hash is stored")
    tag_uid: str
    product_id: int
    sku: str


class TransferRequest(BaseModel):
    to_customer_id: int | None = Field(description="New owner, or null to release the product")


class DeadLetter(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason: str
    payload_size: int
    payload_preview: str
