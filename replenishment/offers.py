"""Offer evaluation as one unit of work, and the offers as the home app reads them.

:func:`evaluate` runs every 15 minutes (Celery beat) over the stored forecasts of one chunk
of customers (a range of their ids, :class:`offers_store.Customers`; the whole fleet is
split into such chunks across workers, :mod:`replenishment.tasks`):

1. lock the chunk's customers, so two workers evaluating the same customers take turns (the
   unique keys alone already keep them from storing an offer twice; the lock makes the
   weekly cap count the other's offers too), and workers on other chunks do not wait;
2. lapse expired offers, and open ones whose consumables were all replaced since (bought
   elsewhere: nothing left to offer), and release deferred ones whose quiet hours ended;
3. decide, set-based in SQL: which forecasts call for an offer now — the risk of running
   out before a new one could reach the customer has reached the threshold
   (:mod:`replenishment.risk`) — from which source, and which consumables of a customer
   share one (:func:`offers_store.candidates`);
4. word each new offer in English and Chinese (:mod:`offer_reasons`) and store it, ``ON
   CONFLICT DO NOTHING`` on its cycle key, so a retry adds nothing;
5. apply the no-spam rules to what was stored: opt-out, consent, weekly cap, quiet hours.

The customer's answers on an offer ("I still have some": :func:`snooze`; "Already bought":
:func:`already_bought`) move that household's threshold for what it covers
(:mod:`replenishment.timing`).

``now`` is a parameter so that tests decide at a chosen customer-local time. Callers own
the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from homeloop.db import Conn
from homeloop.settings import Settings
from replenishment import marketing_store, offers_store, timing_store
from replenishment.offer_reasons import Fulfilment, ReasonLine, marketing_reason, offer_reason
from replenishment.reasons import language

__all__ = ["EVALUATE_EVERY_MINUTES", "EvaluateResult", "OfferRules", "OfferView",
           "already_bought", "dismiss", "evaluate", "my_offers", "open_offer", "snooze"]

EVALUATE_EVERY_MINUTES = 15  # beat's schedule of replenishment.evaluate_offers


@dataclass(frozen=True, slots=True)
class OfferRules:
    bundle_days: int = 7
    expiry_days: int = 3
    weekly_cap: int = 3
    nearby_store_km: float = 50.0
    service_lead_days: int = 3
    heavy_days: float = 30.0
    # An offer is decided when waiting for the next evaluation would be too late.
    every_minutes: int = EVALUATE_EVERY_MINUTES

    @classmethod
    def from_settings(cls, settings: Settings) -> OfferRules:
        return cls(bundle_days=settings.offer_bundle_days,
                   expiry_days=settings.offer_expiry_days,
                   weekly_cap=settings.offer_weekly_cap,
                   nearby_store_km=settings.nearby_store_km,
                   service_lead_days=settings.offer_service_lead_days,
                   heavy_days=settings.offer_heavy_days)


@dataclass(frozen=True, slots=True)
class EvaluateResult:
    created: int
    pending: int
    deferred: int
    suppressed: int
    expired: int
    released: int
    withdrawn: int = 0  # open offers whose consumables were all replaced since


@dataclass(frozen=True, slots=True)
class OfferView:
    """An offer with its reason in the reader's language."""

    offer: offers_store.OfferRow
    reason: str


def evaluate(conn: Conn, now: datetime, rules: OfferRules = OfferRules(),
             customers: offers_store.Customers = offers_store.EVERYONE) -> EvaluateResult:
    """Decide and store every offer the forecasts call for as of ``now``, for ``customers``
    (everyone by default)."""
    offers_store.lock_evaluation(conn, customers)
    expired, released = offers_store.expire_and_release(conn, now, customers)
    withdrawn = offers_store.withdraw_refilled(conn, now, customers)
    found = offers_store.candidates(
        conn, now, bundle_days=rules.bundle_days, nearby_km=rules.nearby_store_km,
        service_lead_days=rules.service_lead_days,
        next_evaluation_days=rules.every_minutes / (24 * 60), customers=customers)
    ids = offers_store.insert_offers(conn, [_worded(c) for c in found], now, rules.expiry_days)
    statuses = offers_store.apply_no_spam(conn, ids, now, rules.weekly_cap)
    # Marketing after the replenishments it rides on, so that those come first in the cap.
    extra = marketing_store.candidates(conn, now, heavy_days=rules.heavy_days,
                                       nearby_km=rules.nearby_store_km, customers=customers)
    more = offers_store.insert_offers(conn, [_worded_marketing(c, now) for c in extra], now,
                                      rules.expiry_days)
    for status, n in offers_store.apply_no_spam(conn, more, now, rules.weekly_cap).items():
        statuses[status] = statuses.get(status, 0) + n
    ids += more
    return EvaluateResult(created=len(ids), pending=statuses.get("pending", 0),
                          deferred=statuses.get("deferred", 0),
                          suppressed=statuses.get("suppressed", 0),
                          expired=expired, released=released, withdrawn=withdrawn)


def _worded(c: offers_store.Candidate) -> offers_store.NewOffer:
    fulfilment = cast(Fulfilment, c.fulfilment)

    def say(zh: bool) -> str:
        lines = [ReasonLine("service" if ln.item_kind == "service" else "consumable",
                            ln.item_name_zh if zh else _in_sentence(ln.item_name),
                            ln.product_name_zh if zh else ln.product_name,
                            ln.basis, ln.days_left, ln.prior_weight, ln.item_category,
                            ln.metric, ln.pack_days_low, ln.pack_days_high)
                 for ln in c.lines]
        store = (c.store_name_zh or c.store_name) if zh else c.store_name
        return offer_reason(lines, fulfilment, store, c.lead_days, c.delivery_days,
                            "zh" if zh else "en")

    return offers_store.NewOffer(
        customer_id=c.customer_id, instance_id=c.instance_id, kind=c.kind,
        item_skus=[ln.item_sku for ln in c.lines], cycle_key=c.cycle_key,
        reason_en=_capitalised(say(zh=False)), reason_zh=say(zh=True), fulfilment=c.fulfilment,
        store_id=c.store_id, lead_days=c.lead_days, due_at=c.due_at.isoformat(),
        lines=[{"instance_id": ln.instance_id, "item_sku": ln.item_sku,
                "cycle_start": ln.cycle_start} for ln in c.lines])


def _worded_marketing(c: marketing_store.MarketingCandidate,
                      now: datetime) -> offers_store.NewOffer:
    fulfilment = cast(Fulfilment, c.fulfilment)

    def say(zh: bool) -> str:
        other = c.other_name_zh if zh else (_in_sentence(c.other_name)
                                             if c.other_name else None)
        return marketing_reason(
            c.kind, c.item_name_zh if zh else _in_sentence(c.item_name), other,
            c.product_name_zh if zh else c.product_name, c.saving_pct, c.points,
            c.points_cost, fulfilment,
            (c.store_name_zh or c.store_name) if zh else c.store_name, c.lead_days,
            "zh" if zh else "en")

    return offers_store.NewOffer(
        customer_id=c.customer_id, instance_id=c.instance_id, kind=c.kind,
        item_skus=[c.item_sku], cycle_key=c.cycle_key, reason_en=say(zh=False),
        reason_zh=say(zh=True), fulfilment=c.fulfilment, store_id=c.store_id,
        lead_days=c.lead_days, due_at=now.isoformat(),
        lines=[{"instance_id": c.instance_id, "item_sku": c.item_sku,
                "cycle_start": c.cycle_start}])


def _in_sentence(name: str) -> str:
    """'Dishwasher tablets, 30 pack' reads 'dishwasher tablets, 30 pack' after a semicolon;
    names that start with an acronym ('PP cotton pre-filter', 'RO membrane') keep it."""
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def my_offers(conn: Conn, customer_id: int, locale: str) -> list[OfferView]:
    """The customer's offers they can see, newest first, in their language."""
    zh = language(locale) == "zh"
    return [OfferView(o, o.reason_zh if zh else o.reason_en)
            for o in offers_store.list_for_customer(conn, customer_id)]


def dismiss(conn: Conn, customer_id: int, offer_id: int, now: datetime,
            locale: str) -> OfferView:
    found = offers_store.dismiss(conn, customer_id, offer_id, now)
    return OfferView(found, found.reason_zh if language(locale) == "zh" else found.reason_en)


def open_offer(conn: Conn, customer_id: int, offer_id: int, now: datetime,
               locale: str) -> OfferView:
    found = offers_store.mark_opened(conn, customer_id, offer_id, now)
    return OfferView(found, found.reason_zh if language(locale) == "zh" else found.reason_en)


def snooze(conn: Conn, customer_id: int, offer_id: int, now: datetime,
           locale: str) -> OfferView:
    """"I still have some": the offer stays (and can be accepted), is not pushed again, and
    the household's next offers for what it covers come later. Again: no change."""
    found, moved = offers_store.snooze(conn, customer_id, offer_id, now)
    if moved:
        timing_store.answered(conn, offer_id, "still_have_some", now)
    return OfferView(found, found.reason_zh if language(locale) == "zh" else found.reason_en)


def already_bought(conn: Conn, customer_id: int, offer_id: int, now: datetime,
                   locale: str) -> OfferView:
    """"Already bought": the offer closes, and the household's next offers for what it covers
    come earlier. Again: no change."""
    found, moved = offers_store.already_bought(conn, customer_id, offer_id, now)
    if moved:
        timing_store.answered(conn, offer_id, "already_bought", now)
    return OfferView(found, found.reason_zh if language(locale) == "zh" else found.reason_en)
