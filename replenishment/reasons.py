"""The human reason a forecast gives, in the customer's language ('zh-CN' or 'en'). Pure.

"about 6 days left at your usual pace" / "按您平时的用量，大约还能用 6 天": what the home app
shows next to the product, and what an offer will quote. The wording says what the date rests
on: the household's own pace; that pace while still being learnt (the category's average
weighs more in it than the household's own days of data); or the item's time limit.
"""

from __future__ import annotations

from typing import Literal

from replenishment.forecast import MONTH_DAYS
from replenishment.items import ItemKind

__all__ = ["Language", "duration", "language", "reason"]

Language = Literal["en", "zh"]
NOW_DAYS = 0.5  # less than half a day left reads as "now"
MOSTLY_PRIOR = 0.5  # the average home's pace weighs more than the household's own days

_TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "consumable/usage": "about {d} left at your usual pace",
        "consumable/prior": "about {d} left; we are still learning your pace",
        "consumable/time": "about {d} left until it should be replaced",
        "consumable/usage/now": "probably used up by now at your usual pace",
        "consumable/time/now": "due to be replaced now",
        "consumable/none": "no use seen yet, so no date to run out",
        "service/usage": "service due in about {d} at your usual pace",
        "service/prior": "service due in about {d}; we are still learning your pace",
        "service/time": "service due in about {d}",
        "service/usage/now": "service due now",
        "service/time/now": "service due now",
        "service/none": "no use seen yet, so no service date",
    },
    "zh": {
        "consumable/usage": "按您平时的用量，大约还能用 {d}",
        "consumable/prior": "大约还能用 {d}（我们还在了解您的用量）",
        "consumable/time": "大约 {d}后到建议更换时间",
        "consumable/usage/now": "按您平时的用量，现在可能已经用完了",
        "consumable/time/now": "已到建议更换时间",
        "consumable/none": "还没有使用记录，暂时无法预测何时用完",
        "service/usage": "按您平时的用量，大约 {d}后需要保养",
        "service/prior": "大约 {d}后需要保养（我们还在了解您的用量）",
        "service/time": "大约 {d}后需要保养",
        "service/usage/now": "现在需要保养了",
        "service/time/now": "现在需要保养了",
        "service/none": "还没有使用记录，暂时无法预测保养时间",
    },
}


def language(locale: str | None) -> Language:
    """'zh-CN', 'zh-Hans', 'zh' read Chinese; anything else English."""
    return "zh" if locale and locale.lower().startswith("zh") else "en"


def duration(days: float, lang: Language) -> str:
    """Days as people say them: days up to six weeks, then months, then years (rounded)."""
    if days < 45:
        n, unit = max(1, round(days)), "day"
    elif days < 2 * 365:
        n, unit = round(days / MONTH_DAYS), "month"
    else:
        n, unit = round(days / 365.2425), "year"
    if lang == "zh":
        return f"{n} " + {"day": "天", "month": "个月", "year": "年"}[unit]
    return f"{n} {unit}{'' if n == 1 else 's'}"


def reason(kind: ItemKind, basis: str, days_left: float | None, prior_weight: float,
           locale: str | None) -> str:
    """The sentence for a stored forecast (``basis`` is ``usage``, ``time`` or ``none``)."""
    lang = language(locale)
    text = _TEXT[lang]
    if days_left is None or basis == "none":
        return text[f"{kind}/none"]
    if days_left < NOW_DAYS:
        return text[f"{kind}/{basis}/now"]
    key = "prior" if basis == "usage" and prior_weight > MOSTLY_PRIOR else basis
    return text[f"{kind}/{key}"].format(d=duration(days_left, lang))
