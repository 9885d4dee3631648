"""Derived tags: rules over a customer's data, each tag with the reason it holds. Pure.

Tags from what the customer bought and owns serve them as a customer and are always
computed. Tags from behaviour (what they looked at) are profiling: they are computed only
while the customer consents to ``usage_analytics``, and dropped when they withdraw.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

__all__ = ["BEHAVIOUR_TAGS", "Facts", "OrderFact", "derive"]

BIG_ORDER_CENTS = 500_000  # ¥5,000 average order value
NEW_HOME_DAYS = 180
LAPSED_DAYS = 365
BROWSE_VIEWS = 3  # views of one category in 30 days
DUE_SOON_DAYS = 14


@dataclass(frozen=True, slots=True)
class OrderFact:
    at: datetime
    total_cents: int
    lines: int
    discounted_lines: int


@dataclass(frozen=True, slots=True)
class Facts:
    today: date
    orders: list[OrderFact] = field(default_factory=list)
    tagged_products: int = 0
    due_soon: list[str] = field(default_factory=list)  # items due within DUE_SOON_DAYS
    move_in_date: date | None = None
    birthday: date | None = None
    viewed_categories: list[str] = field(default_factory=list)  # one per view, last 30 days
    usage_analytics: bool = False


BEHAVIOUR_TAGS = ("browsing:",)


def derive(f: Facts) -> dict[str, str]:
    """Every tag that holds for ``f``, with its reason."""
    tags: dict[str, str] = {}
    if f.move_in_date and 0 <= (f.today - f.move_in_date).days <= NEW_HOME_DAYS:
        tags["new_home"] = f"moved in {(f.today - f.move_in_date).days} days ago"
    if f.orders:
        aov = sum(o.total_cents for o in f.orders) / len(f.orders)
        if aov >= BIG_ORDER_CENTS:
            tags["big_spender"] = f"average order ¥{aov / 100:,.0f}"
        lines = sum(o.lines for o in f.orders)
        discounted = sum(o.discounted_lines for o in f.orders)
        if lines >= 2 and discounted * 2 >= lines:
            tags["discount_sensitive"] = f"{discounted} of {lines} lines bought on discount"
        last = max(o.at for o in f.orders).date()
        if (f.today - last).days > LAPSED_DAYS:
            tags["lapsed"] = f"last order {(f.today - last).days} days ago"
        recent = [o for o in f.orders if f.today - o.at.date() <= timedelta(days=365)]
        if len(recent) >= 3:
            tags["repeat_buyer"] = f"{len(recent)} orders in the last year"
    if f.tagged_products >= 2:
        tags["smart_home"] = f"{f.tagged_products} connected products"
    if f.due_soon:
        tags["maintenance_due"] = f"due within {DUE_SOON_DAYS} days: {', '.join(f.due_soon)}"
    if f.birthday and f.birthday.month == f.today.month:
        tags["birthday_month"] = f"birthday on {f.birthday.strftime('%d %B')}"
    if f.usage_analytics:
        for category, n in Counter(f.viewed_categories).items():
            if n >= BROWSE_VIEWS:
                tags[f"browsing:{category}"] = f"looked at {n} {category} products in 30 days"
    return tags
