"""SQL of ``household_timing``: what each household's answers and packs taught
(:mod:`replenishment.timing`, the rules). Callers own the transaction.

Three writers: an answer on an offer (:func:`answered`, from the app's "I still have some" and
"Already bought"), the end of a pack the forecast run saw (:func:`packs_ended`: a new
consumable fitted, bought from us or not), and nothing else. Two readers: the forecast run
(the pack factor, :func:`pack_factors`) and the offer decision (the threshold shift, joined
in its statement).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from homeloop.db import Conn
from replenishment import timing

__all__ = ["Key", "PackEnd", "answered", "load", "pack_factors", "packs_ended"]

Key = tuple[int, int, str]  # customer, product instance, item


@dataclass(frozen=True, slots=True)
class PackEnd:
    """A pack of ``item_sku`` on ``instance_id`` that began at ``cycle_start`` ended at
    ``ended_at`` (the next one was fitted), as the forecast run saw it."""

    customer_id: int
    instance_id: int
    item_sku: str
    cycle_start: datetime
    ended_at: datetime
    used_share: float | None  # what the tag saw it give over the rated amount (None: not
    # measured, or its time limit ended it)
    risk_from: datetime | None  # its last forecast's earliest moment for an offer


def load(conn: Conn, keys: Sequence[Key]) -> dict[Key, tuple[timing.Timing, datetime | None]]:
    """The learnt timing of each key that has one, with the last pack end counted."""
    if not keys:
        return {}
    rows = conn.execute(
        "SELECT t.customer_id, t.instance_id, t.item_sku, t.threshold_shift, t.log_pack_sum, "
        "t.packs, t.cycle_start FROM household_timing t "
        "JOIN unnest(%s::bigint[], %s::bigint[], %s::text[]) AS k(customer_id, instance_id, sku) "
        "ON k.customer_id = t.customer_id AND k.instance_id = t.instance_id "
        "AND k.sku = t.item_sku",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])).fetchall()
    return {(int(c), int(i), str(s)): (timing.Timing(float(shift), float(log_sum), int(n)), at)
            for c, i, s, shift, log_sum, n, at in rows}


def pack_factors(conn: Conn, keys: Sequence[Key]) -> dict[Key, float]:
    """The pack factor of each key that has learnt one (the rest: the catalog's, 1)."""
    return {k: t.pack_factor for k, (t, _) in load(conn, keys).items() if t.packs}


def _save(conn: Conn, key: Key, learnt: timing.Timing, cycle_start: datetime | None,
          answers: int, now: datetime) -> None:
    conn.execute(
        "INSERT INTO household_timing (customer_id, instance_id, item_sku, threshold_shift, "
        "log_pack_sum, packs, answers, cycle_start, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (customer_id, instance_id, item_sku) DO UPDATE SET "
        "threshold_shift = excluded.threshold_shift, log_pack_sum = excluded.log_pack_sum, "
        "packs = excluded.packs, answers = household_timing.answers + excluded.answers, "
        "cycle_start = coalesce(excluded.cycle_start, household_timing.cycle_start), "
        "updated_at = excluded.updated_at",
        (*key, learnt.shift, learnt.log_pack_sum, learnt.packs, answers, cycle_start, now))


def answered(conn: Conn, offer_id: int, answer: timing.Answer, now: datetime) -> int:
    """The customer's answer on an offer moves the threshold of each consumable it covers
    (services are booked visits: no answer moves them). Returns how many moved."""
    lines = conn.execute(
        "SELECT o.customer_id, l.instance_id, l.item_sku FROM offers o "
        "JOIN offer_lines l ON l.offer_id = o.id WHERE o.id = %s AND o.kind = 'replenish' "
        "ORDER BY l.instance_id, l.item_sku", (offer_id,)).fetchall()
    keys: list[Key] = [(int(c), int(i), str(s)) for c, i, s in lines]
    known = load(conn, keys)
    for key in keys:
        learnt, _ = known.get(key, (timing.Timing(), None))
        _save(conn, key, timing.answered(learnt, answer), None, 1, now)
    return len(keys)


# For each ended pack: its replenishment offer, if one reached the customer (not
# suppressed), how it was answered, and the order it placed.
_OFFERS = """
SELECT e.i, o.status, o.deliver_after, o.lead_days, r.ready_by
FROM unnest(%(instances)s::bigint[], %(skus)s::text[], %(starts)s::timestamptz[])
     WITH ORDINALITY AS e(instance_id, item_sku, cycle_start, i)
JOIN offer_lines l ON l.instance_id = e.instance_id AND l.item_sku = e.item_sku
                  AND l.cycle_start = e.cycle_start AND l.offer_kind = 'replenish'
JOIN offers o ON o.id = l.offer_id AND o.status <> 'suppressed'
LEFT JOIN order_requests r ON r.offer_id = o.id
"""


def packs_ended(conn: Conn, ends: Sequence[PackEnd], now: datetime) -> int:
    """Count each pack's end once (:func:`replenishment.timing.pack_ended`); how many.

    Late: the new one could not have been there before the pack ran out: our order was
    ready only after it; or the offer reached them less than its lead time before it; or no
    offer came although the forecast had reached the time for one (``risk_from``). A pack
    refilled before the forecast saw any risk was a swap, not judged; an answered offer was
    judged when it was answered.
    """
    if not ends:
        return 0
    found = {int(i): (status, arrived, lead, ready)
             for i, status, arrived, lead, ready in conn.execute(_OFFERS, {
                 "instances": [e.instance_id for e in ends],
                 "skus": [e.item_sku for e in ends],
                 "starts": [e.cycle_start for e in ends]}).fetchall()}
    keys: list[Key] = [(e.customer_id, e.instance_id, e.item_sku) for e in ends]
    known = load(conn, keys)
    counted = 0
    for n, (end, key) in enumerate(zip(ends, keys, strict=True), start=1):
        learnt, last = known.get(key, (timing.Timing(), None))
        if last is not None and last >= end.cycle_start:
            continue  # this pack's end was counted already
        late: bool | None
        prompted = False
        offer = found.get(n)
        if offer is None:
            late = True if end.risk_from is not None and end.risk_from <= end.ended_at else None
        else:
            status, arrived, lead, ready = offer
            if status in ("snoozed", "already_bought"):
                late = None
            elif ready is not None:
                late, prompted = ready > end.ended_at, ready <= end.ended_at
            else:
                late = (arrived - end.ended_at).total_seconds() + lead * 86_400.0 > 0
        learnt = timing.pack_ended(learnt, late=late, used_share=end.used_share,
                                   prompted=prompted)
        _save(conn, key, learnt, end.cycle_start, 0, now)
        known[key] = (learnt, end.cycle_start)
        counted += 1
    return counted
