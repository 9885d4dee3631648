"""The sentence an offer carries, in English and Chinese. Pure.

An offer says what runs out (or falls due) and when, in the forecast's own words
(:func:`replenishment.reasons.reason`: "about 6 days left at your usual pace", or "we are
still learning your pace" while the category's average weighs more); then why now: how long
a whole pack usually lasts this household (the forecast's 80 % interval for a new one, when
its own pace is what the date rests on) and how long a new one takes to reach them; then how
to get it:

    "Dishwasher tablets, 30 pack: about 3 days left at your usual pace; you usually finish a
    box in 9–12 days, and a new one takes 2 days to reach you — pick it up at Shanghai
    Pudong in 2 days, or have it delivered in 3 days."
    "洗碗机洗涤块 30粒：按您平时的用量，大约还能用 3 天；您通常 9–12 天用完一盒，新的需要
    2 天才能到您手上——2 天后可到上海浦东店自提，或送货上门，约 3 天送达。"

A bundle names each line with its own days, so the customer sees why they are offered
together. Both languages are stored with the offer: the customer may switch language
before it is read, and the outbox must not need the forecast again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from replenishment.forecast import MONTH_DAYS
from replenishment.items import ItemKind
from replenishment.reasons import MOSTLY_PRIOR, Language, duration, reason

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


# What a pack of a category is called ("you usually finish a box"), English and the
# Chinese measure word; a level-based consumable is a bottle, anything else a pack.
UNITS: dict[str, tuple[str, str]] = {
    "dishwasher_detergent": ("box", "盒"), "coffee_pods": ("box", "盒"),
    "water_filter": ("filter", "支"), "toilet_filter": ("filter", "支"),
}
BOTTLE = ("bottle", "瓶")
PACK = ("pack", "份")


@dataclass(frozen=True, slots=True)
class ReasonLine:
    """One item of an offer as its sentence needs it (days left as of the decision;
    ``pack_days_low``/``high``: how long a whole new one lasts at this pace, 80 %)."""

    item_kind: ItemKind
    item_name: str
    product_name: str
    basis: str
    days_left: float
    prior_weight: float
    item_category: str = ""
    metric: str | None = None
    pack_days_low: float | None = None
    pack_days_high: float | None = None


def span(low: float, high: float, lang: Language) -> str:
    """A range of days as people say it: '9–12 days', '5–6 months', 'about 10 days'."""
    if high < 45:
        a, b, unit, zh = round(low), round(high), "day", "天"
    elif high < 2 * 365:
        a, b, unit, zh = round(low / MONTH_DAYS), round(high / MONTH_DAYS), "month", "个月"
    else:
        a, b, unit, zh = round(low / 365.2425), round(high / 365.2425), "year", "年"
    a, b = max(1, a), max(1, b)
    if lang == "zh":
        return f"{a} {zh}" if a == b else f"{a}–{b} {zh}"
    if a == b:
        return f"about {a} {unit}{'' if a == 1 else 's'}"
    return f"{a}–{b} {unit}s"


def _unit(line: ReasonLine) -> tuple[str, str]:
    if line.metric == "level":
        return BOTTLE
    return UNITS.get(line.item_category, PACK)


def _usually(line: ReasonLine, lang: Language) -> str | None:
    """'you usually finish a box in 9–12 days', when the household's own pace says so."""
    if (line.item_kind != "consumable" or line.basis != "usage"
            or line.prior_weight > MOSTLY_PRIOR or line.pack_days_low is None
            or line.pack_days_high is None):
        return None
    en, zh = _unit(line)
    days = span(line.pack_days_low, line.pack_days_high, lang)
    if en == "filter":  # a filter is not finished, it wears out
        return f"一{zh}滤芯您通常能用 {days}" if lang == "zh" else (
            f"a filter usually lasts you {days}")
    if lang == "zh":
        return f"您通常 {days}用完一{zh}"
    return f"you usually finish a {en} in {days}"


def _lead(lead_days: int, several: bool, lang: Language) -> str:
    """'a new one takes 2 days to reach you'."""
    if lang == "zh":
        return f"新的需要 {duration(max(lead_days, 1), 'zh')}才能到您手上"
    ones = "new ones take" if several else "a new one takes"
    return f"{ones} {duration(max(lead_days, 1), 'en')} to reach you"


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
        usually = _usually(line, lang)
        if usually is not None:
            what += f"；{usually}" if lang == "zh" else f"; {usually}"
        parts.append(f"{name}：{what}" if lang == "zh" else f"{name}: {what}")
    several = len(lines) > 1
    text = ("；" if lang == "zh" else "; ").join(parts)
    if fulfilment != "visit":  # why now: a new one is not there at once
        lead = _lead(lead_days, several, lang)
        text += f"，{lead}" if lang == "zh" else f", and {lead}"
    if lang == "zh":
        return text + "——" + _how_zh(fulfilment, store_name, lead_days, delivery_days) + "。"
    return text + " — " + _how_en(fulfilment, store_name, lead_days, delivery_days,
                                  several) + "."


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
