"""Accepting an offer: an order request, sent to the retailer's order system by webhook.

:func:`accept` (the app's "get it" button) checks the customer's choice against what can
really be had — pickup at a store that has every item, delivery from the online store that
has them all, or a technician's visit for a service — marks the offer ``accepted``, places
the order (:func:`orders.service.place_offer_order`: stock reserved at that store, points
taken for a points offer) that the customer follows in their orders and the store's staff take
through its steps (ready for pickup and collected; shipped and delivered; the technician's
visit booked and done), and stores one order request for it linked to that order
(``UNIQUE (offer_id)``: accepting again returns the same request and places nothing).

:func:`deliver` (Celery, every 30 seconds, and right after an acceptance) claims due requests
with ``FOR UPDATE SKIP LOCKED`` and posts each through :mod:`order_webhook`: sent → ``sent``
with the order system's reference; a refusal (a 4xx) → ``dead`` at once; a failure worth
retrying → ``next_attempt_at`` = now + backoff · 2^(n-1), and ``dead`` after
``order_webhook_max_attempts``.

:func:`mark_fitted` closes the loop after each forecast run: an accepted offer's consumable
whose forecast has started a new cycle since (the customer tapped the new filter's tag, the
device reported it replaced, a counter reset) was fitted, and a maintenance visit was done
(the technician's tap, or the visit's order marked done, which records that tap); its
request gets ``fitted_at``. Callers own the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import requests
from psycopg.rows import class_row

from catalog import store as catalog
from catalog.availability import availability
from customers import store as customers
from homeloop.db import Conn
from homeloop.errors import Conflict, InvalidInput, NotFound, missing
from homeloop.i18n import Pair
from homeloop.settings import Settings
from orders import service as orders
from replenishment import order_webhook, texts
from replenishment.offers_store import EVERYONE, Customers

__all__ = ["Choice", "OrderRequest", "accept", "deliver", "mark_fitted", "requests_of"]

OPEN = ("pending", "deferred", "sent", "opened", "snoozed")


@dataclass(frozen=True, slots=True)
class Choice:
    fulfilment: Literal["pickup", "delivery", "visit"] | None = None  # None: as offered
    store_id: str | None = None  # for a pickup: which store (default: the offer's)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    id: int
    offer_id: int
    customer_id: int
    fulfilment: str
    store_id: str | None
    items: list[dict[str, Any]]
    ready_by: datetime
    status: str
    attempts: int
    last_error: str | None
    external_ref: str | None
    fitted_at: datetime | None
    created_at: datetime
    order_id: int | None  # the order it placed, which the customer and the store follow


_COLUMNS = ("id, offer_id, customer_id, fulfilment, store_id, items, ready_by, status, "
            "attempts, last_error, external_ref, fitted_at, created_at, order_id")


def _request_of_offer(conn: Conn, offer_id: int) -> OrderRequest | None:
    with conn.cursor(row_factory=class_row(OrderRequest)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM order_requests "  # noqa: S608
                           "WHERE offer_id = %s", (offer_id,)).fetchone()


def _source(conn: Conn, settings: Settings, customer_id: int, skus: list[str],
            fulfilment: str, store_id: str | None) -> tuple[str, int]:
    """The store the items come from and its days, as the catalog answers for the customer's
    home store (the same answer the offer was worded from), or a conflict saying what is
    missing. A pickup at a store beyond the home store's reach is asked of that store."""
    lines = [(sku, 1) for sku in skus]
    home = customers.home_store(conn, customer_id)
    found = availability(conn, lines, store_id=home, nearby_km=settings.nearby_store_km,
                         at_store=False)
    if fulfilment == "delivery":
        online = [s for s in found.reach if s.kind == "online"]
        if not online:
            raise InvalidInput(texts.PROBLEMS("offer.no_online_store"))
        chosen = next((s for s in found.with_all() if s.kind == "online"), None)
        wanted = online[0]
    else:
        assert store_id is not None
        where = catalog.find_store(conn, store_id)
        if where is None or where.online:
            raise InvalidInput(f"store {store_id!r} does not exist")
        if store_id not in {s.store_id for s in found.reach}:
            found = availability(conn, lines, store_id=store_id,
                                 nearby_km=settings.nearby_store_km, at_store=False)
        chosen = found.source(store_id)
        wanted = next(s for s in found.reach if s.store_id == store_id)
    if chosen is not None:
        return chosen.store_id, chosen.days
    missing = found.missing_at(wanted.store_id)
    store = Pair(wanted.store_name_zh or wanted.store_name, wanted.store_name)
    raise Conflict(texts.PROBLEMS("offer.out_of_stock", store=store, skus=", ".join(missing)),
                   missing=missing)


def _physical_store(conn: Conn, store_id: str) -> None:
    where = catalog.find_store(conn, store_id)
    if where is None or where.online:
        raise InvalidInput(f"store {store_id!r} does not exist or sends no technicians")


def accept(conn: Conn, settings: Settings, customer_id: int, offer_id: int, choice: Choice,
           now: datetime) -> OrderRequest:
    """Accept the customer's open offer as they chose; accepting again changes nothing."""
    offer = conn.execute(
        "SELECT status, item_skus, fulfilment, store_id, kind FROM offers "
        "WHERE id = %s AND customer_id = %s AND status <> 'suppressed' FOR UPDATE",
        (offer_id, customer_id)).fetchone()
    if offer is None:
        raise NotFound(missing("offer", offer_id))
    status, skus, offered, offered_store, kind = offer
    if status == "accepted":
        existing = _request_of_offer(conn, offer_id)
        assert existing is not None
        return existing
    if status not in OPEN:
        raise Conflict(texts.closed(offer_id, status, "accepted"))
    if offered == "visit":
        if choice.fulfilment not in (None, "visit"):
            raise InvalidInput(texts.PROBLEMS("offer.visit_only"))
        fulfilment, lead = "visit", settings.offer_service_lead_days
        store_id = choice.store_id or offered_store or customers.home_store(conn, customer_id)
        if store_id is None:
            raise InvalidInput(texts.PROBLEMS("offer.which_technician_store"))
        _physical_store(conn, store_id)
    else:
        fulfilment = choice.fulfilment or offered
        if fulfilment == "visit":
            raise InvalidInput(texts.PROBLEMS("offer.visit_for_services"))
        if fulfilment == "pickup":
            store_id = choice.store_id or (offered_store if offered == "pickup" else None)
            if store_id is None:
                store_id = customers.home_store(conn, customer_id)
            if store_id is None:
                raise InvalidInput(texts.PROBLEMS("offer.which_pickup_store"))
        else:
            store_id = None
        store_id, lead = _source(conn, settings, customer_id, list(skus), fulfilment,
                                 store_id)
    items = [{"sku": sku, "quantity": 1} for sku in skus]
    order_id = orders.place_offer_order(conn, customer_id, fulfilment=fulfilment,
                                        store_id=store_id, skus=list(skus),
                                        by_points=kind == "points", now=now)
    with conn.cursor(row_factory=class_row(OrderRequest)) as cur:
        made = cur.execute(
            "INSERT INTO order_requests (offer_id, customer_id, fulfilment, "  # noqa: S608
            "store_id, items, ready_by, next_attempt_at, order_id) "
            f"VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s) RETURNING {_COLUMNS}",
            (offer_id, customer_id, fulfilment, store_id, json.dumps(items),
             now + timedelta(days=lead), now, order_id)).fetchone()
    assert made is not None
    conn.execute("UPDATE offers SET status = 'accepted', updated_at = %s WHERE id = %s",
                 (now, offer_id))
    return made


def requests_of(conn: Conn, customer_id: int) -> list[OrderRequest]:
    with conn.cursor(row_factory=class_row(OrderRequest)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM order_requests "  # noqa: S608
                           "WHERE customer_id = %s ORDER BY id DESC", (customer_id,)).fetchall()


@dataclass(frozen=True, slots=True)
class DeliverResult:
    sent: int
    retrying: int
    dead: int


def deliver(conn: Conn, settings: Settings, now: datetime,
            session: requests.Session | None = None) -> DeliverResult:
    """Post a batch of due order requests; the rows stay locked while they are posted."""
    if not settings.order_webhook_url:
        return DeliverResult(0, 0, 0)
    due = conn.execute(
        "SELECT r.id, r.offer_id, r.customer_id, r.fulfilment, r.store_id, r.items, "
        "r.ready_by, r.created_at, r.attempts, o.kind, r.order_id FROM order_requests r "
        "JOIN offers o ON o.id = r.offer_id "
        "WHERE r.status = 'queued' AND r.next_attempt_at <= %s "
        "ORDER BY r.next_attempt_at, r.id LIMIT %s FOR UPDATE OF r SKIP LOCKED",
        (now, settings.order_webhook_batch)).fetchall()
    counts = {"sent": 0, "retry": 0, "dead": 0}
    for (rid, offer_id, customer_id, fulfilment, store_id, items, ready_by, created_at,
         attempts, kind, order_id) in due:
        payload = {"request_id": rid, "offer_id": offer_id, "offer_kind": kind,
                   "order_id": order_id,
                   "customer_id": customer_id, "fulfilment": fulfilment, "store_id": store_id,
                   "items": items, "ready_by": ready_by.isoformat(),
                   "created_at": created_at.isoformat()}
        done = order_webhook.post(settings.order_webhook_url, settings.order_webhook_secret,
                                  rid, payload, timeout_s=settings.order_webhook_timeout_s,
                                  session=session)
        tries = attempts + 1
        if done.outcome == "sent":
            conn.execute("UPDATE order_requests SET status = 'sent', attempts = %s, "
                         "external_ref = %s, sent_at = %s, last_error = NULL WHERE id = %s",
                         (tries, done.reference, now, rid))
            counts["sent"] += 1
        elif done.outcome == "refused" or tries >= settings.order_webhook_max_attempts:
            conn.execute("UPDATE order_requests SET status = 'dead', attempts = %s, "
                         "last_error = %s WHERE id = %s", (tries, done.error, rid))
            counts["dead"] += 1
        else:
            backoff = timedelta(seconds=settings.order_webhook_backoff_s * 2 ** (tries - 1))
            conn.execute("UPDATE order_requests SET attempts = %s, last_error = %s, "
                         "next_attempt_at = %s WHERE id = %s",
                         (tries, done.error, now + backoff, rid))
            counts["retry"] += 1
    return DeliverResult(counts["sent"], counts["retry"], counts["dead"])


def mark_fitted(conn: Conn, who: Customers = EVERYONE) -> int:
    """Order requests (of these customers; by default everyone's) whose consumables were all
    replaced since their offer; how many."""
    return conn.execute(
        "UPDATE order_requests r SET fitted_at = fitted.at FROM ("
        "  SELECT l.offer_id, max(f.cycle_start) AS at, bool_and(f.cycle_start > l.cycle_start)"
        "         AS all_new"
        "  FROM order_requests q JOIN offer_lines l ON l.offer_id = q.offer_id"
        "  JOIN instance_forecasts f"
        "    ON f.instance_id = l.instance_id AND f.item_sku = l.item_sku"
        "  WHERE q.fitted_at IS NULL"
        "    AND q.customer_id > %(c_after)s AND q.customer_id <= %(c_upto)s"
        "    AND l.offer_kind IN ('replenish', 'upsell', 'crosssell', 'points', 'maintenance')"
        "  GROUP BY l.offer_id) fitted "
        "WHERE fitted.offer_id = r.offer_id AND fitted.all_new AND r.fitted_at IS NULL",
        who.params).rowcount
