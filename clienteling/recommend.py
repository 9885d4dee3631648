"""Recommendations ranked by what can be had. Pure.

Candidates come from three sources, each with its reason: bought together (co-purchase
counts), catalog complements (a device's consumables and services, and category pairs such
as toilet → seat and cleaning kit) and similar items (same category, shared attributes, a
near price). A candidate nobody can supply (no stock here, nearby or online) is dropped.
The rest are scored by relevance weighted by how soon they can be had, the best ``limit``
kept, and shown here-now first, then a nearby store, then online.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from clienteling.catalog import Availability

__all__ = ["CATEGORY_COMPLEMENTS", "Candidate", "Recommendation", "merge", "rank"]

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


def rank(candidates: Iterable[Candidate], stock: Mapping[str, Availability], today: date,
         store_id: str | None, limit: int = 10) -> list[Recommendation]:
    scored = []
    for c in merge(candidates):
        a = stock.get(c.sku)
        if a is None or a.tier is None:
            continue  # never offer what cannot be had
        tier = a.tier
        scored.append((c.score * TIER_WEIGHT[tier], c, a, tier))
    scored.sort(key=lambda x: (-x[0], x[1].sku))
    kept = scored[:limit]
    kept.sort(key=lambda x: (x[3], -x[0], x[1].sku))
    return [Recommendation(sku=c.sku, score=round(s, 4), reason=c.reason,
                           availability=a.describe(today), tier=tier, days=a.days() or 0,
                           store_id=(store_id if tier == 0 else a.nearby_store if tier == 1
                                     else None))
            for s, c, a, tier in kept]
