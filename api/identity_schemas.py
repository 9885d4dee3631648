"""Request and response bodies of the identity routes (sign-in, kiosks, the customer's data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from identity import audit

Role = Literal["assistant", "store_manager", "catalog_editor", "fleet_operator", "admin"]


class Body(BaseModel):
    """A request body: unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class StaffSignIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class KioskSignIn(Body):
    kiosk_id: int = Field(ge=1, le=2**62)
    secret: str = Field(min_length=1, max_length=256)


class Session(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    kind: Literal["staff", "kiosk"]
    role: Role | None
    store_id: str | None


class Identity(BaseModel):
    id: int
    kind: Literal["firebase", "member_card", "phone"]
    hint: str
    proof: str


class Me(BaseModel):
    id: int
    display_name: str
    locale: str
    points: int
    home_store_id: str | None
    identities: list[Identity]


class PhoneLinkRequest(Body):
    phone: str = Field(min_length=6, max_length=32)


class PhoneLinkStarted(BaseModel):
    expires_in_s: int


class PhoneVerify(Body):
    phone: str = Field(min_length=6, max_length=32)
    code: str = Field(min_length=4, max_length=12)


class CardScan(Body):
    card_number: str = Field(min_length=6, max_length=64)


class Linked(BaseModel):
    kind: str
    hint: str
    merged_customer: int | None = Field(
        description="A separate record of the same person that was merged into this one")
    moved: dict[str, int]


class Purposes(BaseModel):
    push_marketing: bool
    service_reminders: bool
    usage_analytics: bool


class PurposesUpdate(Body):
    push_marketing: bool | None = None
    service_reminders: bool | None = None
    usage_analytics: bool | None = None


class StoreConsent(Body):
    granted: bool


class ConsentChange(BaseModel):
    kind: str
    channel: str
    granted: bool
    at: datetime


class HandoffClaim(Body):
    code: str = Field(min_length=8, max_length=64)


class Handoff(BaseModel):
    code: str
    expires_at: datetime
    qr_text: str = Field(description="What the kiosk shows as a QR code for the app to scan")


class Grant(BaseModel):
    id: int
    kiosk_id: int
    customer_id: int
    via: Literal["handoff", "assistant"]
    expires_at: datetime


class AssistantGrantRequest(Body):
    kiosk_id: int = Field(ge=1, le=2**62)
    customer_id: int = Field(ge=1, le=2**62)


class NewStaff(Body):
    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    store_id: str | None = Field(default=None, max_length=64)


class StaffMember(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    store_id: str | None
    disabled: bool


class StaffCreated(BaseModel):
    member: StaffMember
    password: str = Field(description="Shown once")


class NewKiosk(Body):
    store_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class Kiosk(BaseModel):
    id: int
    store_id: str
    name: str
    revoked: bool


class KioskCreated(BaseModel):
    kiosk: Kiosk
    secret: str = Field(description="Shown once: the kiosk exchanges it for session tokens")


class CustomerLookup(Body):
    kind: Literal["member_card", "phone"]
    value: str = Field(min_length=6, max_length=64)


class CustomerFound(BaseModel):
    customer_id: int


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    role: str | None
    store_id: str | None
    action: str
    request_id: str | None

    @classmethod
    def of(cls, entry: audit.AuditEntry) -> AuditEntry:
        return cls(at=entry.at, actor=entry.actor, role=entry.role, store_id=entry.store_id,
                   action=entry.action, request_id=entry.request_id)


class Export(BaseModel):
    customer: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]]
    usage: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Each product the customer owns or owned: their periods of it, its daily "
                    "readings and its events in those periods")


class Deleted(BaseModel):
    deleted: bool
    affected: dict[str, int]
