"""Orders, one unit of work per function. Callers own the transaction.

Every step is validated (:mod:`orders.lifecycle`), appended to ``order_events`` and
announced: a push to the customer through the outbox (one per order and step, held until
their quiet hours end; transactional, so no weekly cap) and a line in the inbox of the
assistant who sold it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from catalog import availability
from catalog import store as catalog
from clienteling import discounts, points, tasks_store
from clienteling import store as profiles
from customers import store as customers
from device_gateway import taps
from homeloop.db import Conn
from homeloop.errors import DETAILS, Conflict, InvalidInput, NotFound, missing
from orders import lifecycle, store
from orders.schemas import Installer, LineIn, Order, OrderEvent, OrderLine, Rating, Slot
from replenishment import outbox_store

__all__ = ["advance", "book_slot", "delivery_slots", "installer_list", "my_orders",
           "place_offer_order", "place_order", "rate_installation", "view"]


def place_order(conn: Conn, customer_id: int, store_id: str, assistant: str | None,
                wanted: Sequence[LineIn], now: datetime, *, nearby_km: float,
                fulfilment: str = "delivery") -> int:
    """Sell ``wanted`` at ``store_id``: fulfilled by the nearest store that has every line
    (the catalog's answer: the store itself, else the nearest store within ``nearby_km``,
    else online), and then, from another store, a delivery slot is to be booked. A pickup
    is collected here, so this store must have every line."""
    off = store.discounts_for(conn, customer_id, [(w.sku, w.discount_id) for w in wanted])
    priced = store.price_lines(conn, [(w.sku, w.quantity, amount)
                                      for w, amount in zip(wanted, off, strict=True)])
    lines = [(p.sku, p.quantity) for p in priced]
    source = availability.availability(conn, lines, store_id=store_id,
                                       nearby_km=nearby_km).all_at
    if source is None:
        raise Conflict(f"not in stock here, at a store within {nearby_km:g} km or online: it "
                       "cannot be ordered now")
    fulfil = source.store_id
    if fulfilment == "pickup" and fulfil != store_id:
        raise Conflict("not everything is in stock here to take away: deliver it instead")
    catalog.take(conn, fulfil, lines)
    order_id = _insert(conn, customer_id, store_id, assistant, fulfil, priced, now,
                       fulfilment=fulfilment)
    discounts.use_on_order(conn, order_id, [w.discount_id for w in wanted if w.discount_id])
    points.award_new_categories(conn, customer_id, order_id, [p.category for p in priced], now)
    _placed(conn, order_id, customer_id, assistant or f"customer:{customer_id}", now,
            {"store_id": store_id, "fulfil_store_id": fulfil,
             **({"fulfilment": fulfilment} if fulfilment != "delivery" else {})})
    return order_id


def place_offer_order(conn: Conn, customer_id: int, *, fulfilment: str, store_id: str,
                      skus: Sequence[str], by_points: bool, now: datetime) -> int:
    """The order of an accepted offer, one of each item, followed like any other.

    ``store_id`` has every item (the caller checked): a pickup is reserved at that store, a
    delivery at the online store it comes from; a visit (a service) reserves nothing. A
    points offer is paid with the items' points: the lines are discounted to nothing and the
    points are taken now (given back if it is cancelled).
    """
    priced = store.price_lines(conn, [(sku, 1, 0) for sku in skus])
    points_spent = 0
    if by_points:
        costs = store.points_costs(conn, skus)
        points_spent = sum(costs.values())
        customers.spend_points(conn, customer_id, points_spent)
        priced = [replace(p, discount_cents=p.unit_price_cents * p.quantity) for p in priced]
    if fulfilment != "visit":
        catalog.take(conn, store_id, [(p.sku, p.quantity) for p in priced])
    order_id = _insert(conn, customer_id, store_id, None, store_id, priced, now,
                       fulfilment=fulfilment, points_spent=points_spent)
    _placed(conn, order_id, customer_id, f"customer:{customer_id}", now,
            {"store_id": store_id, "fulfilment": fulfilment,
             **({"points_spent": points_spent} if points_spent else {})})
    return order_id


def _insert(conn: Conn, customer_id: int, store_id: str, assistant: str | None,
            fulfil_store_id: str, priced: Sequence[store.Priced], now: datetime, *,
            fulfilment: str = "delivery", points_spent: int = 0) -> int:
    """The order row, its total and its lines; the new order's id."""
    total = sum(p.unit_price_cents * p.quantity - p.discount_cents for p in priced)
    order_id = store.insert_order(conn, customer_id, store_id, assistant, fulfil_store_id,
                                  total, now, fulfilment=fulfilment, points_spent=points_spent)
    for n, line in enumerate(priced, start=1):
        store.add_line(conn, order_id, n, line)
    return order_id


def _placed(conn: Conn, order_id: int, customer_id: int, actor: str, now: datetime,
            data: dict[str, Any]) -> None:
    """The order's first step, recorded and announced; the customer's profile to update."""
    store.add_event(conn, order_id, "placed", actor, now, data)
    profiles.mark_changed(conn, customer_id, now)
    _announce(conn, store.get_order(conn, order_id), "placed", now)


def view(conn: Conn, order_id: int) -> Order:
    order = store.get_order(conn, order_id)
    return Order(**{k: getattr(order, k) for k in order.__slots__},
                 lines=[OrderLine(**r) for r in store.lines(conn, order_id)],
                 events=[OrderEvent(**r) for r in store.events(conn, order_id)])


def my_orders(conn: Conn, customer_id: int) -> list[Order]:
    return [view(conn, i) for i in store.customer_orders(conn, customer_id)]


def advance(conn: Conn, order_id: int, new: str, actor: str, now: datetime, *,
            shipped_from: str | None = None, installer_id: int | None = None,
            install_at: datetime | None = None) -> Order:
    """Take the order one step on (see :data:`orders.lifecycle.NEXT`)."""
    order = store.get_order(conn, order_id, lock=True)
    lifecycle.check_transition(order.status, new, needs_slot=order.needs_slot,
                               has_slot=order.slot_starts_at is not None,
                               has_installer=installer_id is not None and install_at is not None,
                               fulfilment=order.fulfilment)
    data: dict[str, Any] = {}
    if new == "shipped":
        data["store_id"] = shipped_from or order.fulfil_store_id
        _store_name(conn, data["store_id"])  # 422 for a store that does not exist
    if new == "installation_booked":
        assert installer_id is not None and install_at is not None
        data.update(installer_id=installer_id, installer=store.installer_name(conn, installer_id),
                    install_at=install_at.isoformat())
        store.set_fields(conn, order_id, installer_id=installer_id, install_at=install_at)
    if new == "installed" and order.fulfilment == "visit":
        data["service_taps"] = taps.record_parts_done(
            conn, store.visit_taps(conn, order_id), {"order_id": order_id, "by": actor}, now)
    if new == "cancelled":
        if order.points_spent and order.customer_id is not None:
            customers.add_points(conn, order.customer_id, order.points_spent)
        discounts.release_from_order(conn, order_id)
        if order.fulfilment != "visit":
            catalog.put_back(conn, order.fulfil_store_id,
                             [(line["sku"], int(line["quantity"]))
                              for line in store.lines(conn, order_id)])
        if order.slot_starts_at is not None:  # give the delivery window's place back
            store.release_slot(conn, order.fulfil_store_id, order.slot_starts_at)
    store.add_event(conn, order_id, new, actor, now, data)
    _announce(conn, store.get_order(conn, order_id), new, now, data)
    return view(conn, order_id)


def delivery_slots(conn: Conn, order_id: int, now: datetime) -> list[Slot]:
    order = store.get_order(conn, order_id)
    if not order.needs_slot:
        return []
    # the first day the goods can be there: the catalog's days from the selling store
    lead = availability.days_between(conn, order.store_id, order.fulfil_store_id)
    where = catalog.find_store(conn, order.fulfil_store_id)
    assert where is not None
    windows = lifecycle.slot_windows(now, where.timezone, lead)
    return [Slot(store_id=order.fulfil_store_id, starts_at=s, ends_at=e, free=free)
            for s, e, free in store.offer_slots(conn, order.fulfil_store_id, windows,
                                                lifecycle.SLOT_CAPACITY)]


def book_slot(conn: Conn, order_id: int, starts_at: datetime, actor: str,
              now: datetime) -> Order:
    """Book (or move) the order's delivery window; only before it is out for delivery."""
    order = store.get_order(conn, order_id, lock=True)
    if not order.needs_slot:
        raise Conflict(DETAILS("order.no_slot_to_book"))
    if order.status not in ("placed", "picked", "shipped"):
        raise Conflict(DETAILS("order.slot_locked", status=lifecycle.status_words(order.status)))
    offered = {s.starts_at for s in delivery_slots(conn, order_id, now)}
    if starts_at not in offered:
        raise Conflict(DETAILS("order.slot_full"))
    ends_at = store.book_slot(conn, order.fulfil_store_id, starts_at, order.slot_starts_at)
    store.set_fields(conn, order_id, slot_starts_at=starts_at, slot_ends_at=ends_at)
    store.add_event(conn, order_id, order.status, actor, now,
                    {"slot_starts_at": starts_at.isoformat(), "slot_ends_at": ends_at.isoformat()})
    return view(conn, order_id)


def rate_installation(conn: Conn, customer_id: int, order_id: int, stars: int,
                      problems: Sequence[str], comment: str, now: datetime) -> Rating:
    """The customer rates the installer; a low rating opens a follow-up for the assistant."""
    order = store.get_order(conn, order_id)
    if order.customer_id != customer_id:
        raise NotFound(missing("order", order_id))
    unknown = set(problems) - lifecycle.PROBLEMS
    if unknown:
        raise InvalidInput(f"unknown problems: {', '.join(sorted(unknown))}; known: "
                           f"{', '.join(sorted(lifecycle.PROBLEMS))}")
    if order.installer_id is None or order.status not in ("installed", "closed"):
        raise Conflict(DETAILS("order.rate_after_installation"))
    problems = sorted(set(problems))
    store.rate(conn, order_id, customer_id, order.installer_id, stars, problems, comment, now)
    low = lifecycle.is_low_rating(stars, problems)
    task_id = None
    if low:
        what = f"{stars}★" + (f", {', '.join(problems)}" if problems else "")
        task_id = tasks_store.open_task(
            conn, store_id=order.store_id, assistant=order.assistant, customer_id=customer_id,
            kind="low_rating", subject=f"order:{order_id}",
            body=f"Call the customer back: installation of order {order_id} rated {what}.",
            due_at=now, now=now)
    return Rating(order_id=order_id, installer_id=order.installer_id, stars=stars,
                  problems=list(problems), low=low, task_id=task_id)


def installer_list(conn: Conn, store_id: str | None) -> list[Installer]:
    """Installers with their reputation, best first (a Bayesian average over everyone's mean)."""
    n, total = store.rating_totals(conn)
    # everyone's mean, itself pulled towards PRIOR_MEAN while there are few ratings at all
    prior = lifecycle.reputation(n, total).score
    out = []
    for r in store.installers(conn, store_id):
        rep = lifecycle.reputation(int(r["n"]), float(r["total"]), prior)
        company = lifecycle.reputation(int(r["company_n"]), float(r["company_total"]), prior)
        out.append(Installer(id=r["id"], name=r["name"], company_id=r["company_id"],
                             company=r["company"], ratings=rep.ratings, mean=rep.mean,
                             score=rep.score, company_score=company.score,
                             problems=r["problems"]))
    return sorted(out, key=lambda i: (-i.score, i.id))


def _announce(conn: Conn, order: store.OrderRow, status: str, now: datetime,
              data: dict[str, Any] | None = None) -> None:
    data = data or {}
    if order.customer_id is None:  # an anonymised sale: its steps are recorded, told no one
        return
    who = store.customer_addressee(conn, order.customer_id)
    zh = who.locale.lower().startswith("zh")
    words: dict[str, Any] = {"order_id": order.id, "total_cents": order.total_cents}
    if status in ("picked", "shipped"):
        words["store"] = _store_name(conn, data.get("store_id", order.fulfil_store_id), zh=zh)
    if status == "out_for_delivery" and order.slot_starts_at and order.slot_ends_at:
        local = lifecycle.local_window(order.slot_starts_at, order.slot_ends_at, who.timezone)
        words["slot"] = local
    if status == "installation_booked" and order.install_at:
        words["when"] = lifecycle.local_time(order.install_at, who.timezone)
        words["installer"] = data.get("installer", "")
    topic = f"order:{order.id}:{status}"
    if lifecycle.customer_hears(status, order.fulfilment):
        body = lifecycle.message(status, zh=zh, fulfilment=order.fulfilment, **words)
        title = "订单更新" if zh else "Your order"
        at = lifecycle.deliver_after(now, who.timezone, who.quiet_start, who.quiet_end)
        outbox_store.enqueue_message(
            conn, order.customer_id, topic, title, body,
            {"order_id": str(order.id), "kind": "order", "status": status}, at, now)
    if order.assistant and status != "placed":
        if "store" in words:
            words["store"] = _store_name(conn, data.get("store_id", order.fulfil_store_id))
        store.notify_assistant(conn, order.assistant, order.customer_id, order.id, topic,
                               lifecycle.message(status, zh=False, fulfilment=order.fulfilment,
                                                 **words), now)


def _store_name(conn: Conn, store_id: str, *, zh: bool = False) -> str:
    """The store's name, in Chinese when asked and known; 422 for no such store."""
    where = catalog.find_store(conn, store_id)
    if where is None:
        raise InvalidInput(f"no store {store_id!r}")
    return (where.name_zh or where.name) if zh else where.name
