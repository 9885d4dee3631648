"""The sentence an offer carries, in English and Chinese. Pure.

An offer says what runs out (or falls due) and when, in the forecast's own words
(:func:`replenishment.reasons.reason`: "about 6 days left at your usual pace", or "we are
still learning your pace" while the category's average weighs more), then how to get it:

    "PP cotton pre-filter: about 6 days left at your usual pace — pick it up at Shanghai
    Xuhui tomorrow, or have it delivered in 3 days."

A bundle names each line with its own days, so the customer sees why they are offered
together. Both languages are stored with the offer: the customer may switch language
before it is read, and the outbox must not need the forecast again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from replenishment.items import ItemKind
from replenishment.reasons import Language, duration, reason

__all__ = ["PUSH_TITLES", "Fulfilment", "ReasonLine", "marketing_reason", "offer_reason"]

Fulfilment = Literal["pickup", "delivery", "visit"]

# A push notification's title per language and offer kind; its body is the offer's reason.
PUSH_TITLES: dict[Language, dict[str, str]] = {
    "en": {"replenish": "Time to restock", "maintenance": "Service reminder",
           "upsell": "A better fit for your pace", "crosssell": "Goes well with yours",
           "points": "Your points cover this", "quality": "About your product"},
    "zh": {"replenish": "该补货了", "maintenance": "保养提醒", "upsell": "更适合您的用量",
           "crosssell": "搭配推荐", "points": "积分可兑换", "quality": "关于您的产品"},
}


@dataclass(frozen=True, slots=True)
class ReasonLine:
    """One item of an offer as its sentence needs it (days left as of the decision)."""

    item_kind: ItemKind
    item_name: str
    product_name: str
    basis: str
    days_left: float
    prior_weight: float


def offer_reason(lines: Sequence[ReasonLine], fulfilment: Fulfilment, store_name: str | None,
                 lead_days: int, delivery_days: int | None, lang: Language) -> str:
    """The whole sentence. ``delivery_days``: the online alternative to a pickup, if any."""
    locale = "zh-CN" if lang == "zh" else "en"
    parts = []
    for line in lines:
        what = reason(line.item_kind, line.basis, line.days_left, line.prior_weight, locale)
        if line.item_kind == "service":
            name = (f"{line.product_name}的{line.item_name}" if lang == "zh"
                    else f"{line.item_name} for your {line.product_name}")
        else:
            name = line.item_name
        parts.append(f"{name}：{what}" if lang == "zh" else f"{name}: {what}")
    several = len(lines) > 1
    if lang == "zh":
        return "；".join(parts) + "——" + _how_zh(fulfilment, store_name, lead_days,
                                                 delivery_days) + "。"
    return "; ".join(parts) + " — " + _how_en(fulfilment, store_name, lead_days,
                                               delivery_days, several) + "."


def _when_en(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {duration(days, 'en')}")


def _when_zh(days: int) -> str:
    return {0: "今天", 1: "明天"}.get(days, f"{duration(days, 'zh')}后")


def _how_en(fulfilment: Fulfilment, store: str | None, lead: int, delivery: int | None,
            several: bool) -> str:
    it = "them" if several else "it"
    if fulfilment == "visit":
        return f"book a visit through {store}" if store else "book a visit"
    if fulfilment == "delivery":
        return f"have {it} delivered in {duration(max(lead, 1), 'en')}"
    text = f"pick {it} up at {store} {_when_en(lead)}"
    if delivery is not None:
        text += f", or have {it} delivered in {duration(max(delivery, 1), 'en')}"
    return text


def _how_zh(fulfilment: Fulfilment, store: str | None, lead: int, delivery: int | None) -> str:
    if fulfilment == "visit":
        return f"可通过{store}预约上门服务" if store else "可预约上门服务"
    if fulfilment == "delivery":
        return f"可送货上门，约 {duration(max(lead, 1), 'zh')}送达"
    text = f"{_when_zh(lead)}可到{store}自提"
    if delivery is not None:
        text += f"，或送货上门，约 {duration(max(delivery, 1), 'zh')}送达"
    return text


def marketing_reason(kind: str, item: str, other: str | None, product: str,
                     saving_pct: int | None, points: int | None, points_cost: int | None,
                     fulfilment: Fulfilment, store: str | None, lead_days: int,
                     lang: Language) -> str:
    """The sentence of an up-sell, cross-sell or points offer."""
    if lang == "zh":
        how = _how_zh(fulfilment, store, lead_days, None)
        if kind == "upsell":
            cheaper = f"，每次使用便宜{saving_pct}%" if saving_pct and saving_pct > 0 else ""
            return f"您的{other}用得比较快：{item}更耐用{cheaper}——{how}。"
        if kind == "crosssell":
            return f"与您的{other}搭配：{item}——{how}。"
        return f"您的{points}积分可兑换{product}用的{item}（{points_cost}积分）——{how}。"
    how = _how_en(fulfilment, store, lead_days, None, several=False)
    if kind == "upsell":
        cheaper = (f" and costs {saving_pct}% less per use" if saving_pct and saving_pct > 0
                   else "")
        return f"You go through {other} quickly: {item} lasts longer{cheaper} — {how}."
    if kind == "crosssell":
        return f"Goes well with your {other}: {item} — {how}."
    return (f"Your {points:,} points cover {item} for your {product} ({points_cost:,} points)"
            f" — {how}.")
