"""What a shop assistant sees and does: a customer's profile, notes and tags, in-store QR
trails, catalog search, recommendations, discounts and budgets, the assistant's day.

Every read of a customer's data goes through :func:`ensure_may_act_for` (the customer's
consent for the assistant's store; written to the access audit)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from api.auth import (
    AnonymousRateLimited,
    CurrentCustomer,
    CurrentPrincipal,
    OptionalPrincipal,
    StoreAssistant,
    StoreManager,
    ensure_may_act_for,
    ensure_may_use,
)
from api.deps import ConnDep, SettingsDep
from clienteling import catalog, discounts, service, store, tasks_store
from clienteling.schemas import (
    BindIn,
    Cart,
    CartBody,
    Coupon,
    Day,
    DiscountIn,
    DiscountOut,
    HomeFacts,
    NoteIn,
    Profile,
    Recommendation,
    SearchResult,
    TagIn,
    TierIn,
    TrailItem,
    ViewIn,
)
from customers import store as customers
from floorplans import store as plans
from homeloop import clock
from homeloop.errors import InvalidInput, thing
from identity import staff as staff_store
from identity.access import ANYONE, SIGNED_IN, ensure_own, ensure_store_holds, needs
from identity.privacy import get_purposes
from orders import store as orders

router = APIRouter(prefix="/v1", tags=["clienteling"])

NO_CUSTOMER: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such customer, or not the caller's to see"}}


@router.get("/staff/customers/{customer_id}/profile", response_model=Profile,
            responses=NO_CUSTOMER)
@needs(*SIGNED_IN, of="customer")
def customer_profile(customer_id: int, principal: CurrentPrincipal, conn: ConnDep) -> Profile:
    """Who the customer is and what they need: the four dimensions (demographic, consumption,
    membership, behaviour), home facts, owned products with their state, tags and notes.
    Only with the customer's consent for the caller's store; every read is audited."""
    ensure_may_act_for(conn, principal, customer_id, thing("customer", customer_id))
    return service.profile(conn, customer_id, clock.now())


@router.put("/staff/customers/{customer_id}/home", response_model=Profile,
            responses=NO_CUSTOMER)
@needs(*SIGNED_IN, of="customer")
def set_home_facts(customer_id: int, body: HomeFacts, principal: CurrentPrincipal,
                   conn: ConnDep) -> Profile:
    """Record home and demographic facts (only the fields sent change). The customer may state
    their own; the membership tier is set by a store manager (``PUT …/tier``)."""
    ensure_may_act_for(conn, principal, customer_id, thing("customer", customer_id))
    now = clock.now()
    store.upsert_profile(conn, customer_id, body.model_dump(exclude_unset=True), now)
    store.mark_changed(conn, customer_id, now)
    return service.profile(conn, customer_id, now)


@router.put("/staff/customers/{customer_id}/tier", response_model=Profile,
            responses=NO_CUSTOMER)
@needs("store_manager", "admin", of="customer")
def set_tier(customer_id: int, body: TierIn, manager: StoreManager, conn: ConnDep) -> Profile:
    """Set the customer's membership tier: a store manager of a store the customer let in, or
    an admin (audited). Not the customer, and not an assistant: the tier is a commercial
    status, decided like a discount beyond an assistant's budget."""
    ensure_may_act_for(conn, manager, customer_id, thing("customer", customer_id))
    now = clock.now()
    store.upsert_profile(conn, customer_id, {"tier": body.tier}, now)
    store.mark_changed(conn, customer_id, now)
    return service.profile(conn, customer_id, now)


@router.post("/staff/customers/{customer_id}/notes", status_code=status.HTTP_201_CREATED,
             responses=NO_CUSTOMER)
@needs("assistant", "store_manager", "admin", of="customer")
def add_note(customer_id: int, body: NoteIn, staff: StoreAssistant,
             conn: ConnDep) -> dict[str, Any]:
    """An assistant's note on the customer."""
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    return store.add_note(conn, customer_id, staff.actor, staff.store_id, body.body,
                          clock.now())


@router.post("/staff/customers/{customer_id}/tags", status_code=status.HTTP_204_NO_CONTENT,
             responses=NO_CUSTOMER)
@needs("assistant", "store_manager", "admin", of="customer")
def add_tag(customer_id: int, body: TagIn, staff: StoreAssistant, conn: ConnDep) -> Response:
    """A manual tag (rule tags are computed, never typed)."""
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    store.set_manual_tag(conn, customer_id, body.tag, staff.actor, clock.now())
    return Response(status_code=204)


@router.delete("/staff/customers/{customer_id}/tags/{tag}",
               status_code=status.HTTP_204_NO_CONTENT, responses=NO_CUSTOMER)
@needs("assistant", "store_manager", "admin", of="customer")
def remove_tag(customer_id: int, tag: str, staff: StoreAssistant, conn: ConnDep) -> Response:
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    store.remove_manual_tag(conn, customer_id, tag)
    return Response(status_code=204)


@router.get("/staff/customers/{customer_id}/trail", response_model=list[TrailItem],
            responses=NO_CUSTOMER)
@needs("assistant", "store_manager", "admin", of="customer")
def customer_trail(customer_id: int, staff: StoreAssistant, conn: ConnDep,
                   settings: SettingsDep) -> list[TrailItem]:
    """What the customer looked at in the assistant's store today."""
    ensure_may_act_for(conn, staff, customer_id, thing("customer", customer_id))
    now = clock.now()
    return service.trail(conn, customer_id, store.today_start(now), staff.store_id,
                         with_similar=False, today=store.store_today(now),
                         nearby_km=settings.nearby_store_km)


@router.get("/staff/customers/{customer_id}/recommendations",
            response_model=list[Recommendation], responses=NO_CUSTOMER)
@needs(*SIGNED_IN, of="customer")
def customer_recommendations(customer_id: int, principal: CurrentPrincipal, conn: ConnDep,
                             settings: SettingsDep, store_id: str | None = None,
                             limit: Annotated[int, Query(ge=1, le=50)] = 10,
                             ) -> list[Recommendation]:
    """Recommendations for the customer, each with its reason, only what can be had: here
    now first, then a nearby store (with the transfer time), then online (delivery date)."""
    ensure_may_act_for(conn, principal, customer_id, thing("customer", customer_id))
    here = store_id or principal.store_id or customers.home_store(conn, customer_id)
    return service.customer_recommendations(conn, customer_id, here, store.store_today(clock.now()),
                                            limit, nearby_km=settings.nearby_store_km)


class CartIn(BaseModel):
    skus: list[str] = Field(min_length=1, max_length=50)
    store_id: str | None = None
    limit: int = Field(default=10, ge=1, le=50)


@router.post("/recommendations/cart", response_model=list[Recommendation])
@needs(*SIGNED_IN)
def cart_recommendations(body: CartIn, principal: CurrentPrincipal, conn: ConnDep,
                         settings: SettingsDep) -> list[Recommendation]:
    """Recommendations for a cart (anyone signed in), ranked by what can be had."""
    here = body.store_id or principal.store_id
    return service.recommend_for(conn, body.skus, body.skus, here, store.store_today(clock.now()),
                                 body.limit, nearby_km=settings.nearby_store_km)


@router.get("/search", response_model=SearchResult, dependencies=[AnonymousRateLimited],
            responses={404: {"description": "No such floor plan or wall, or not the caller's "
                                            "to use"}})
@needs(ANYONE)
def search(conn: ConnDep, principal: OptionalPrincipal, settings: SettingsDep,
           q: Annotated[str, Query(max_length=200)] = "",
           category: str | None = None, price_min: int | None = None,
           price_max: int | None = None, colour: str | None = None,
           material: str | None = None, style: str | None = None,
           width_min: int | None = None, width_max: int | None = None,
           depth_max: int | None = None, height_max: int | None = None,
           stock: Annotated[str | None, Query(pattern="^(here|nearby|online|any)$")] = None,
           store_id: str | None = None, floor_plan_id: int | None = None,
           wall_id: str | None = None,
           placeable: Annotated[bool, Query(
               description="Only products that stand in a room (furniture, appliances, "
                           "fittings): not consumables, services or materials")] = False,
           limit: Annotated[int, Query(ge=1, le=100)] = 20) -> SearchResult:
    """Search the catalog in Chinese or English (every word must match) with facets: category,
    price, colour, material, style, size ranges, "fits this wall" (a floor plan's wall) and
    stock here, nearby or online, and only what stands in a room (`placeable`: furniture,
    appliances and fittings). Facet counts are over all matches.

    Open to anyone; a signed-in customer's search is remembered for their assistant's view of
    them, if they agreed to usage analytics. "Fits this wall" reads a plan, so it needs a
    caller who may use that plan (its owner, a kiosk they handed over to, an assistant of a
    store they let in, the store session holding it, an admin): for anyone else a plan
    answers 404, exactly as one that does not exist."""
    if (floor_plan_id is None) != (wall_id is None):
        raise InvalidInput("fits this wall needs both floor_plan_id and wall_id")
    height = height_max
    if floor_plan_id is not None and wall_id is not None:
        owner, held_by = plans.plan_holder(conn, floor_plan_id)
        ensure_may_use(conn, principal, owner, held_by, thing("floor plan", floor_plan_id),
                       hidden=True)
        space, wall_height = catalog.wall_space_mm(conn, floor_plan_id, wall_id)
        width_max = min(width_max or space, space)
        height = min(height_max or wall_height, wall_height)
    query = catalog.SearchQuery(q=q, category=category, price_min=price_min,
                                price_max=price_max, colour=colour, material=material,
                                style=style, width_min=width_min, width_max=width_max,
                                depth_max=depth_max, height_max=height, stock=stock,
                                placeable=placeable, limit=limit)
    found = catalog.search(conn, query, store_id, nearby_km=settings.nearby_store_km)
    customer = principal.customer_id if principal is not None else None
    if customer is not None and get_purposes(conn, customer)["usage_analytics"]:
        filters = {k: v for k, v in asdict(query).items()
                   if k not in ("q", "limit") and v is not None}
        store.record_search(conn, customer, q, filters, int(found["total"]), store_id,
                            clock.now())
    return SearchResult(**found)


@router.get("/me/cart", response_model=Cart)
@needs("customer")
def my_cart(customer: CurrentCustomer, conn: ConnDep) -> Cart:
    """The customer's cart (empty if they have none)."""
    return Cart(**store.cart(conn, customer))


@router.put("/me/cart", response_model=Cart)
@needs("customer")
def set_my_cart(body: CartBody, customer: CurrentCustomer, conn: ConnDep) -> Cart:
    """Replace the cart's items (the app and the kiosk keep it in step); empty it with []."""
    items = [i.model_dump() for i in body.items]
    return Cart(**store.save_cart(conn, customer, items, body.store_id, clock.now()))


@router.post("/views", status_code=status.HTTP_201_CREATED,
             dependencies=[AnonymousRateLimited])
@needs(ANYONE)
def record_view(body: ViewIn, conn: ConnDep) -> dict[str, int]:
    """A product's QR scanned (its page and AR view opened), anonymously: the app's session
    id; joined to the customer when they sign in (``POST /v1/me/views/join``)."""
    return {"id": store.add_view(conn, body.session_id, None, body.sku, body.store_id,
                                 clock.now())}


@router.post("/me/views", status_code=status.HTTP_201_CREATED)
@needs("customer")
def record_my_view(body: ViewIn, customer: CurrentCustomer, conn: ConnDep) -> dict[str, int]:
    """A product's QR scanned by a signed-in customer."""
    now = clock.now()
    view_id = store.add_view(conn, body.session_id, customer, body.sku, body.store_id, now)
    store.mark_changed(conn, customer, now)
    return {"id": view_id}


class JoinIn(BaseModel):
    session_id: str = Field(min_length=8, max_length=64)


@router.post("/me/views/join")
@needs("customer")
def join_views(body: JoinIn, customer: CurrentCustomer, conn: ConnDep) -> dict[str, int]:
    """The customer signed in: the session's anonymous views become theirs."""
    joined = store.join_session(conn, body.session_id, customer)
    if joined:
        store.mark_changed(conn, customer, clock.now())
    return {"joined": joined}


@router.get("/me/store-trail", response_model=list[TrailItem])
@needs("customer")
def my_store_trail(customer: CurrentCustomer, conn: ConnDep, settings: SettingsDep,
                   days: Annotated[int, Query(ge=1, le=90)] = 7) -> list[TrailItem]:
    """What I saw in store, with similar items that can be had."""
    now = clock.now()
    return service.trail(conn, customer, now - timedelta(days=days), None, with_similar=True,
                         today=store.store_today(now), nearby_km=settings.nearby_store_km)


@router.post("/me/assistant", status_code=status.HTTP_204_NO_CONTENT)
@needs("customer")
def bind_assistant(body: BindIn, customer: CurrentCustomer, conn: ConnDep) -> Response:
    """The customer scanned an assistant's QR: that assistant is theirs at that store. (It
    does not let the store see their profile: that is the store consent.)"""
    assistant = staff_store.assistant_of_store(conn, body.assistant, body.store_id)
    if assistant is None:
        raise InvalidInput("that QR code names no assistant of this store")
    store.bind(conn, customer, body.store_id, assistant.actor, clock.now())
    return Response(status_code=204)


@router.get("/me/coupons", response_model=list[Coupon])
@needs("customer")
def my_coupons(customer: CurrentCustomer, conn: ConnDep) -> list[Coupon]:
    """Discounts and gifts an assistant granted me, not yet used: a discount comes off the
    item's price when an order for it names it."""
    return [Coupon(**row) for row in discounts.coupons(conn, customer)]


@router.post("/staff/discounts", response_model=DiscountOut, responses=NO_CUSTOMER)
@needs("assistant", "store_manager", "admin", of="customer")
def propose_discount(body: DiscountIn, staff: StoreAssistant, conn: ConnDep) -> DiscountOut:
    """A discount or gift: its effect on the margin and the assistant's commission, and on
    their monthly budget; beyond the budget it waits for a manager. ``dry_run`` only shows."""
    ensure_may_act_for(conn, staff, body.customer_id, thing("customer", body.customer_id))
    if staff.store_id is None:
        raise InvalidInput("discounts are given by a store's assistant")
    discount_id, state, eff = discounts.propose(
        conn, assistant=staff.actor, store_id=staff.store_id, customer_id=body.customer_id,
        sku=body.sku, kind=body.kind, amount=body.amount_cents, dry_run=body.dry_run,
        now=clock.now())
    return DiscountOut(id=discount_id, status=state, **asdict(eff))


class DecisionIn(BaseModel):
    approve: bool


@router.post("/staff/discounts/{discount_id}/decision",
             responses={404: {"description": "No such discount"},
                        409: {"description": "Not waiting for approval"}})
@needs("store_manager", "admin", of="store")
def decide_discount(discount_id: int, body: DecisionIn, manager: StoreManager,
                    conn: ConnDep) -> dict[str, Any]:
    """The store's manager (or an admin) approves or rejects a discount beyond the
    assistant's budget."""
    ensure_store_holds(manager, discounts.store_of(conn, discount_id),
                       thing("discount", discount_id))
    return discounts.decide(conn, discount_id, manager.actor, body.approve, clock.now())


@router.get("/staff/day", response_model=Day)
@needs("assistant", "store_manager", "admin")
def assistant_day(staff: StoreAssistant, conn: ConnDep) -> Day:
    """The assistant's day: open tasks, the customers bound to them, news of their orders."""
    return service.assistant_day(conn, staff.actor, staff.store_id, clock.now())


@router.post("/staff/inbox/{item_id}/read", status_code=status.HTTP_204_NO_CONTENT,
             responses={404: {"description": "No such item in the caller's inbox"}})
@needs("assistant", "store_manager", of="self")
def inbox_read(item_id: int, staff: StoreAssistant, conn: ConnDep) -> Response:
    """The assistant has read this news of an order; it leaves their day."""
    ensure_own(staff, orders.inbox_owner(conn, item_id), thing("inbox item", item_id))
    orders.mark_read(conn, item_id, clock.now())
    return Response(status_code=204)


@router.post("/staff/tasks/{task_id}/done", status_code=status.HTTP_204_NO_CONTENT,
             responses={404: {"description": "No such task in this store"}})
@needs("assistant", "store_manager", "admin", of="store")
def task_done(task_id: int, staff: StoreAssistant, conn: ConnDep) -> Response:
    """The task is done; it leaves the store's day."""
    ensure_store_holds(staff, tasks_store.task_store(conn, task_id), thing("task", task_id))
    tasks_store.close_task(conn, task_id, clock.now())
    return Response(status_code=204)


