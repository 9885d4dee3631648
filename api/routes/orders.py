"""Orders followed home: placed by an assistant, followed by the customer and the assistant,
delivery slots, installation and its rating, installers' reputation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.auth import (
    CurrentCustomer,
    CurrentPrincipal,
    StoreAssistant,
    ensure_may_act_for,
    ensure_may_use,
)
from api.deps import ConnDep, SettingsDep
from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import InvalidInput, thing
from identity.access import SIGNED_IN, needs
from orders import service, store
from orders.schemas import Installer, NewOrder, Order, Rating, RatingIn, Slot, SlotIn, StepIn

router = APIRouter(prefix="/v1", tags=["orders"])

NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such order, or not the caller's to see"}}


def _order_for(conn: Conn, principal: CurrentPrincipal, order_id: int) -> int | None:
    """The order's customer, once the caller may act for them (audited for staff).

    An order whose customer had their data deleted belongs to no one: the store that sold or
    fulfils it (its staff and kiosks, and admins) may still see it through, nobody else.
    """
    order = store.get_order(conn, order_id)
    ensure_may_use(conn, principal, order.customer_id, (order.store_id, order.fulfil_store_id),
                   thing("order", order_id))
    return order.customer_id


@router.post("/staff/orders", status_code=status.HTTP_201_CREATED, response_model=Order,
             responses={409: {"description": "Not in stock here, nearby or online"}})
@needs("assistant", "store_manager", "admin", of="customer")
def place_order(body: NewOrder, staff: StoreAssistant, conn: ConnDep,
                settings: SettingsDep) -> Order:
    """Sell to a customer at the assistant's store. Fulfilled there when it has every line;
    otherwise from the nearest store within reach that has (or online), and a delivery slot
    is booked."""
    ensure_may_act_for(conn, staff, body.customer_id, thing("customer", body.customer_id))
    if staff.store_id is None:
        raise InvalidInput("an order is sold at a store: only a store's assistant places one")
    order_id = service.place_order(conn, body.customer_id, staff.store_id, staff.actor,
                                   body.lines, clock.now(),
                                   nearby_km=settings.nearby_store_km,
                                   fulfilment=body.fulfilment)
    return service.view(conn, order_id)


@router.get("/me/orders", response_model=list[Order])
@needs("customer")
def my_orders(customer: CurrentCustomer, conn: ConnDep) -> list[Order]:
    """The customer's orders, newest first, each with its steps."""
    return service.my_orders(conn, customer)


@router.get("/orders/{order_id}", response_model=Order, responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def get_order(order_id: int, principal: CurrentPrincipal, conn: ConnDep) -> Order:
    """An order with its lines and every step so far, in order."""
    _order_for(conn, principal, order_id)
    return service.view(conn, order_id)


@router.post("/staff/orders/{order_id}/steps", response_model=Order,
             responses={**NOT_YOURS, 409: {"description": "Not a step this order may take"}})
@needs("assistant", "store_manager", "admin", of="customer")
def advance_order(order_id: int, body: StepIn, staff: StoreAssistant, conn: ConnDep) -> Order:
    """Take the order one step on (picked, shipped from a store, out for delivery, delivered,
    installation booked, installed, closed, cancelled); the customer is told by push, the
    assistant who sold it in their inbox."""
    _order_for(conn, staff, order_id)
    return service.advance(conn, order_id, body.status, staff.actor, clock.now(),
                           shipped_from=body.store_id, installer_id=body.installer_id,
                           install_at=body.install_at)


@router.get("/orders/{order_id}/delivery-slots", response_model=list[Slot],
            responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def delivery_slots(order_id: int, principal: CurrentPrincipal, conn: ConnDep) -> list[Slot]:
    """Delivery windows with room left (none for an order its store fulfils)."""
    _order_for(conn, principal, order_id)
    return service.delivery_slots(conn, order_id, clock.now())


@router.put("/orders/{order_id}/delivery-slot", response_model=Order,
            responses={**NOT_YOURS, 409: {"description": "Full, not offered, or too late"}})
@needs(*SIGNED_IN, of="customer")
def book_slot(order_id: int, body: SlotIn, principal: CurrentPrincipal, conn: ConnDep) -> Order:
    """Book or move the order's delivery window (before it is out for delivery)."""
    _order_for(conn, principal, order_id)
    return service.book_slot(conn, order_id, body.starts_at, principal.actor, clock.now())


@router.post("/me/orders/{order_id}/rating", status_code=status.HTTP_201_CREATED,
             response_model=Rating,
             responses={**NOT_YOURS, 409: {"description": "Not installed yet, or rated"}})
@needs("customer", of="customer")
def rate_installation(order_id: int, body: RatingIn, customer: CurrentCustomer,
                      conn: ConnDep) -> Rating:
    """Rate the installation (stars and a checklist of problems); a low rating opens a
    follow-up task for the store's assistant."""
    return service.rate_installation(conn, customer, order_id, body.stars, body.problems,
                                     body.comment, clock.now())


@router.get("/staff/installers", response_model=list[Installer])
@needs("assistant", "store_manager", "admin")
def installers(staff: StoreAssistant, conn: ConnDep) -> list[Installer]:
    """Installers serving the assistant's store, best reputation first."""
    return service.installer_list(conn, staff.store_id)
