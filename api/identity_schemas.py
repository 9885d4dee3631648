"""Request and response bodies of the identity routes (sign-in, kiosks, the customer's data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from identity import audit, linking, merge_requests, messages

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
    store_name: str | None = Field(default=None, description="The store's name")
    store_name_zh: str | None = Field(default=None, description="Its Chinese name")


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


class MergeRequestState(BaseModel):
    """A merge waiting for both customers' proof, as whoever asked for it sees it: nothing
    about the other record."""

    id: int
    status: Literal["pending", "merged", "declined", "cancelled", "expired"]
    expires_at: datetime

    @classmethod
    def of(cls, request: merge_requests.MergeRequest) -> MergeRequestState:
        return cls(id=request.id, status=request.status,  # type: ignore[arg-type]
                   expires_at=request.expires_at)


class Linked(BaseModel):
    kind: str
    hint: str
    status: Literal["linked", "merged", "pending_confirmation"] = Field(
        description="linked; merged (another record of the same person, proven by the same "
                    "code, was merged into this one); pending_confirmation (another record "
                    "holds it: both customers must confirm before anything moves)")
    merge_request: MergeRequestState | None
    message_zh: str
    message_en: str

    @classmethod
    def of(cls, linked: linking.Linked) -> Linked:
        zh, en = messages.link_outcome(linked.kind, linked.status)
        request = MergeRequestState.of(linked.request) if linked.request else None
        return cls(kind=linked.kind, hint=linked.hint, status=linked.status,
                   merge_request=request, message_zh=zh, message_en=en)


class MyMergeRequest(BaseModel):
    """A merge into or out of the signed-in customer's record, waiting for their answer."""

    id: int
    role: Literal["into", "from"] = Field(
        description="into: another record would be merged into this account; from: this "
                    "record would be merged into another")
    kind: str
    hint: str
    store_id: str | None = Field(description="The store where it was asked, if at a store")
    requested_at: datetime
    expires_at: datetime
    status: Literal["pending", "merged", "declined", "cancelled", "expired"]
    you_confirmed: bool
    message_zh: str
    message_en: str

    @classmethod
    def of(cls, request: merge_requests.MergeRequest, customer_id: int) -> MyMergeRequest:
        role = request.side_of(customer_id)
        assert role is not None
        zh, en = messages.merge_request_text(request.kind, request.hint, role)
        mine = request.into_confirmed_via if role == "into" else request.from_confirmed_via
        return cls(id=request.id, role=role, kind=request.kind, hint=request.hint,
                   store_id=request.store_id, requested_at=request.created_at,
                   expires_at=request.expires_at, status=request.status,  # type: ignore[arg-type]
                   you_confirmed=mine is not None, message_zh=zh, message_en=en)


class MergeCodeRequest(Body):
    phone: str = Field(min_length=6, max_length=32,
                       description="A phone number the customer at the till gives: a code is "
                                   "sent only if it is verified on a record of this merge")


class MergeCodeRequested(BaseModel):
    expires_in_s: int
    message_zh: str = messages.code_requested()[0]
    message_en: str = messages.code_requested()[1]


class MergeCodeConfirm(Body):
    phone: str = Field(min_length=6, max_length=32)
    code: str = Field(min_length=4, max_length=12)


class MergeRecord(BaseModel):
    id: int
    from_customer: int
    into_customer: int
    by: str
    at: datetime
    moved: dict[str, int]
    points: int
    undo_until: datetime
    undone_at: datetime | None
    undone_by: str | None


class MergeUndone(BaseModel):
    id: int
    from_customer: int
    into_customer: int
    restored: dict[str, int] = Field(description="Rows given back, per table and column")
    missing: dict[str, int] = Field(
        description="Rows the surviving record deleted after the merge, so not given back")


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
