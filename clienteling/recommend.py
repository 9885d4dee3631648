"""Recommendations ranked by what can be had. Pure.

Candidates come from three sources, each with its reason: bought together (co-purchase
counts), catalog complements (a device's consumables and services, and category pairs such
as toilet → seat and cleaning kit) and similar items (same category, shared attributes, a
near price). Where each can be had is the catalog's answer
(:func:`catalog.availability.availability`, for a customer in the store): a candidate
nobody can supply (no stock here, nearby or online) is dropped. The rest are scored by
relevance weighted by where they can be had, the best ``limit`` kept, and shown here-now
first, then a nearby store, then online.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from catalog.availability import IN_STORE, LineAvailability, Source

__all__ = ["CATEGORY_COMPLEMENTS", "Candidate", "Recommendation", "describe", "merge", "rank"]

# What goes with what, by category (beyond the catalog's consumables and services).
CATEGORY_COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "toilet": ("toilet_seat", "cleaning_kit", "toilet_filter"),
    "sofa": ("lamp", "rug", "cushion"),
    "bed": ("lamp", "mattress", "wardrobe"),
    "wardrobe": ("lamp",),
    "washing_machine": ("laundry_detergent", "detergent_dispenser"),
    "dishwasher": ("dishwasher_detergent",),
    "coffee_machine": ("coffee_pods", "descaler"),
    "water_purifier": ("water_filter",),
    "floor": ("service",),
}

TIER_WEIGHT = {0: 1.0, 1: 0.75, 2: 0.55}


@dataclass(frozen=True, slots=True)
class Candidate:
    sku: str
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    sku: str
    score: float
    reason: str
    availability: str
    tier: int  # 0 here now, 1 a nearby store, 2 online
    days: int  # until the customer can have it
    store_id: str | None  # where it comes from (None: online)


def merge(candidates: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per SKU: scores add up, the strongest source's reason is kept."""
    best: dict[str, Candidate] = {}
    total: dict[str, float] = {}
    for c in candidates:
        total[c.sku] = total.get(c.sku, 0.0) + c.score
        if c.sku not in best or c.score > best[c.sku].score:
            best[c.sku] = c
    return [Candidate(s, round(total[s], 4), best[s].reason) for s in best]


def describe(line: LineAvailability, source: Source | None, today: date) -> str:
    """Where and when, as the assistant reads it to the customer."""
    if source is None:
        return "out of stock everywhere"
    if source.kind == "here":
        return f"in stock here ({line.on_hand_at(source.store_id)})"
    if source.kind == "nearby":
        when = "tomorrow" if source.days == 1 else f"in {source.days} days"
        return f"at {source.store_name}, {source.km or 0:.0f} km away: here {when}"
    return f"online: delivered by {(today + timedelta(days=source.days)).isoformat()}"


def rank(candidates: Iterable[Candidate], stock: Mapping[str, LineAvailability], today: date,
         limit: int = 10) -> list[Recommendation]:
    scored = []
    for c in merge(candidates):
        line = stock.get(c.sku)
        source = line.best(IN_STORE) if line is not None else None
        if line is None or source is None:
            continue  # never offer what cannot be had
        tier = IN_STORE.index(source.kind)
        scored.append((c.score * TIER_WEIGHT[tier], c, line, source, tier))
    scored.sort(key=lambda x: (-x[0], x[1].sku))
    kept = scored[:limit]
    kept.sort(key=lambda x: (x[4], -x[0], x[1].sku))
    return [Recommendation(sku=c.sku, score=round(s, 4), reason=c.reason,
                           availability=describe(line, source, today), tier=tier,
                           days=source.days,
                           store_id=None if source.kind == "online" else source.store_id)
            for s, c, line, source, tier in kept]
