"""What the shop assistant's tablet needs beyond the clienteling and orders routes: the
customer's whole screen in one call, asking a customer's consent on the spot (answered in
their app), and the manager's approval queue with the store's budget use."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import CurrentCustomer, StoreAssistant, StoreManager, ensure_may_act_for
from api.deps import ConnDep, SettingsDep
from clienteling import discounts, service
from clienteling import store as profiles
from clienteling.schemas import Coupon, Profile, Recommendation, TrailItem
from floorplans import store as plans
from homeloop import clock
from homeloop.errors import InvalidInput, NotFound
from identity import consent_requests
from identity.access import ensure_store_holds, needs

router = APIRouter(prefix="/v1", tags=["assistant's tablet"])


class ConsentAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["member_card", "phone"] = Field(
        description="member_card: the code in the member QR; phone: the number they say")
    value: str = Field(min_length=6, max_length=64)


class ConsentRequest(BaseModel):
    id: int
    status: Literal["pending", "granted", "declined", "expired"]
    expires_at: datetime
    customer_id: int | None = Field(description="Only once the customer granted it")


class PendingConsent(BaseModel):
    id: int
    store_id: str
    store: str
    store_zh: str
    created_at: datetime
    expires_at: datetime


class ConsentAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    granted: bool


class Design(BaseModel):
    id: str
    name: str
    version: int
    updated_at: datetime
    items: int


class PlanSketch(BaseModel):
    """Enough of the home's floor plan to draw a thumbnail: wall centre lines in metres."""

    id: int
    name: str
    area_m2: float
    walls: list[tuple[float, float, float, float]]


class Overview(BaseModel):
    profile: Profile
    plan: PlanSketch | None
    trail: list[TrailItem]
    recommendations: list[Recommendation]
    designs: list[Design]
    coupons: list[Coupon]
    audited: bool = Field(description="This read is in the customer's access log")


@router.post("/staff/consent-requests", status_code=status.HTTP_202_ACCEPTED,
             response_model=ConsentRequest)
@needs("assistant", "store_manager", "admin")
def ask_consent(body: ConsentAsk, staff: StoreAssistant, conn: ConnDep,
                settings: SettingsDep) -> ConsentRequest:
    """Ask the customer with this member QR or phone number to let the store see their
    profile; they answer in their app. The answer is the same whether or not anybody has the
    code or number."""
    if staff.store_id is None:
        raise InvalidInput("a store asks: only a store's assistant or manager can")
    assert staff.staff_id is not None
    return ConsentRequest(**consent_requests.ask(conn, settings, staff.store_id, body.kind,
                                                 body.value, staff.staff_id, clock.now()))


@router.get("/staff/consent-requests/{consent_request_id}", response_model=ConsentRequest,
            responses={404: {"description": "No such request"}})
@needs("assistant", "store_manager", "admin", of="store")
def consent_request_state(consent_request_id: int, staff: StoreAssistant,
                          conn: ConnDep) -> ConsentRequest:
    """Whether the customer answered: pending, granted (with who they are), declined or
    expired."""
    store_id, found = consent_requests.state(conn, consent_request_id, clock.now())
    ensure_store_holds(staff, store_id, f"consent request {consent_request_id}")
    return ConsentRequest(**found)


@router.get("/me/consent-requests", response_model=list[PendingConsent])
@needs("customer")
def my_consent_requests(customer: CurrentCustomer, conn: ConnDep) -> list[PendingConsent]:
    """Stores asking, right now, to see my profile."""
    return [PendingConsent(**r) for r in consent_requests.pending_for(conn, customer,
                                                                      clock.now())]


@router.post("/me/consent-requests/{consent_request_id}/answer", response_model=ConsentRequest,
             responses={404: {"description": "No such request of mine"},
                        409: {"description": "Already answered"},
                        410: {"description": "Expired"}})
@needs("customer", of="customer")
def answer_consent(consent_request_id: int, body: ConsentAnswer, customer: CurrentCustomer,
                   conn: ConnDep) -> ConsentRequest:
    """Yes lets the store's assistants see my profile (withdrawn any time in my consents)."""
    consent_requests.answer(conn, customer, consent_request_id, body.granted, clock.now())
    return ConsentRequest(**consent_requests.state(conn, consent_request_id, clock.now())[1])


@router.get("/staff/customers/{customer_id}/overview", response_model=Overview,
            responses={404: {"description": "No such customer, or not the caller's to see"}})
@needs("assistant", "store_manager", "admin", of="customer")
def customer_overview(customer_id: int, staff: StoreAssistant, conn: ConnDep,
                      settings: SettingsDep) -> Overview:
    """The assistant's customer screen in one call: the profile (four dimensions, home,
    owned products with their state, tags, notes), the floor plan's outline, today's trail
    in this store (in order), recommendations with where each can be had, designs and
    coupons. Only with the customer's consent for the store; the read is audited once."""
    ensure_may_act_for(conn, staff, customer_id, f"customer {customer_id}")
    now = clock.now()
    today = profiles.store_today(now)
    profile = service.profile(conn, customer_id, now)
    plan = None
    plan_id = profile.home.get("floor_plan_id")
    if plan_id is not None:
        try:
            row = plans.get_plan(conn, int(plan_id))
        except NotFound:
            row = None
        if row is not None:
            plan = PlanSketch(id=row.id, name=row.name, area_m2=row.area_m2,
                              walls=[(w.start[0], w.start[1], w.end[0], w.end[1])
                                     for w in row.plan.walls if w.storey == 0])
    trail = service.trail(conn, customer_id, profiles.today_start(now), staff.store_id,
                          with_similar=False, today=today, nearby_km=settings.nearby_store_km)
    trail.sort(key=lambda t: t.at)
    recs = service.customer_recommendations(conn, customer_id, staff.store_id, today, 8,
                                            nearby_km=settings.nearby_store_km)
    designs = [Design(id=d.id, name=d.name, version=d.version, updated_at=d.updated_at,
                      items=len(d.placements)) for d in plans.designs_of(conn, customer_id)]
    return Overview(profile=profile, plan=plan, trail=trail, recommendations=recs,
                    designs=designs[:10],
                    coupons=[Coupon(**c) for c in discounts.coupons(conn, customer_id)],
                    audited=True)


class PendingDiscount(BaseModel):
    id: int
    assistant: str
    assistant_name: str
    customer_id: int
    sku: str
    name: str
    name_zh: str
    kind: str
    amount_cents: int
    price_cents: int
    created_at: datetime


class BudgetUse(BaseModel):
    assistant: str
    assistant_name: str
    budget_cents: int
    used_cents: int
    pending_cents: int


class ApprovalQueue(BaseModel):
    store_id: str | None
    pending: list[PendingDiscount]
    budgets: list[BudgetUse]


@router.get("/staff/discounts/pending", response_model=ApprovalQueue)
@needs("store_manager", "admin")
def approval_queue(manager: StoreManager, conn: ConnDep) -> ApprovalQueue:
    """Discounts of the manager's store waiting for a decision, oldest first, and each
    assistant's budget use this month (an admin sees every store's)."""
    queue = discounts.approval_queue(conn, manager.store_id, clock.now())
    return ApprovalQueue(store_id=manager.store_id,
                         pending=[PendingDiscount(**p) for p in queue["pending"]],
                         budgets=[BudgetUse(**b) for b in queue["budgets"]])


@router.get("/staff/discounts/{discount_id}", responses={404: {"description": "No such discount"}})
@needs("assistant", "store_manager", "admin", of="store")
def discount_state(discount_id: int, staff: StoreAssistant, conn: ConnDep) -> dict[str, Any]:
    """A discount and its steps (an assistant waiting for the manager's answer)."""
    ensure_store_holds(staff, discounts.store_of(conn, discount_id), f"discount {discount_id}")
    return discounts.trail(conn, discount_id)
