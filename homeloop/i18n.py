"""Which language a person reads, the texts in it, and numbers, prices and dates written for it.

Simplified Chinese first, English second. The rule, in one place:

0. a language a screen asks for by name (``?lang=`` on the request: the page's own language
   switch, a choice made for this screen) is written in;
1. else a signed-in customer reads their own locale (``customers.locale``), whatever their
   browser's ``Accept-Language`` says;
2. else the best match of the ``Accept-Language`` (q-values honoured), among the two we write;
3. otherwise (no header, or only languages we do not write) ``zh-CN``.

Texts are :class:`Catalogue` entries: an id, the Chinese and the English side by side, with
``{name}`` placeholders. The ids are what clients and tests key on (a problem's ``code``); the
words may change. Every package keeps its own catalogue next to the code that says it
(``floorplans/texts.py``, ``api/problem_texts.py``); tests/test_i18n.py checks all of them: both
languages present, the same placeholders, Chinese written in Chinese.

Numbers, prices (CNY, two decimals), lengths, areas, volumes and dates go through Babel
(CLDR), so "1,234.50" and "¥1,234.50" and "2026年12月7日" are the locale's own.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from babel import Locale as BabelLocale
from babel import dates, numbers
from babel.core import UnknownLocaleError

__all__ = ["DEFAULT", "Catalogue", "Lang", "Pair", "Text", "area", "choose", "day", "length",
           "negotiate", "normalise", "number", "price", "volume", "when"]

Lang = Literal["zh-CN", "en"]
DEFAULT: Lang = "zh-CN"
_BABEL = {"zh-CN": "zh_Hans_CN", "en": "en"}
_Q = re.compile(r"^q=([01](?:\.\d{0,3})?)$")


def _ranges(header: str) -> list[str]:
    """The language ranges of an ``Accept-Language`` (RFC 9110 §12.5.4), best first; q=0 and
    malformed entries are dropped, ties keep the header's order."""
    found: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        if not tag or not re.fullmatch(r"\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", tag):
            continue
        q = 1.0
        for param in params:
            if match := _Q.match(param.replace(" ", "").lower()):
                q = float(match.group(1))
            elif param:
                q = -1.0  # a parameter we cannot read: the entry says nothing we trust
        if q > 0:
            found.append((-q, index, tag))
    return [tag for _, _, tag in sorted(found)]


def normalise(tag: str | None) -> Lang | None:
    """Our language for one tag: any Chinese reads our Simplified Chinese, any English English;
    None for anything else."""
    if not tag:
        return None
    try:
        language = BabelLocale.parse(tag, sep="-" if "-" in tag else "_").language
    except (ValueError, UnknownLocaleError):  # a tag CLDR does not know: its primary subtag
        language = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    return {"zh": "zh-CN", "en": "en"}.get(language)  # type: ignore[return-value]


def negotiate(accept_language: str | None) -> Lang:
    """The language an ``Accept-Language`` header asks for, or :data:`DEFAULT`."""
    for tag in _ranges(accept_language or ""):
        if tag == "*":
            return DEFAULT
        if (lang := normalise(tag)) is not None:
            return lang
    return DEFAULT


def choose(customer_locale: str | None, accept_language: str | None,
           asked: str | None = None) -> Lang:
    """The rule above: a screen's explicit choice, else the customer's own locale, else the
    request's header, else zh-CN."""
    return normalise(asked) or normalise(customer_locale) or negotiate(accept_language)


@dataclass(frozen=True, slots=True)
class Text:
    """A text not yet written in a language: its catalogue's id and its values."""

    catalogue: Catalogue
    id: str
    params: dict[str, object] = field(default_factory=dict)

    def render(self, lang: Lang) -> str:
        return self.catalogue.say(self.id, lang, **self.params)

    def __str__(self) -> str:  # logs and exceptions read English
        return self.render("en")


@dataclass(frozen=True, slots=True)
class Pair:
    """Words made by code rather than kept in a catalogue (a room's own names, a product's)."""

    zh: str
    en: str

    def render(self, lang: Lang) -> str:
        return self.zh if lang == "zh-CN" else self.en

    def __str__(self) -> str:
        return self.en


class Catalogue:
    """Texts by id, each as (Simplified Chinese, English) with the same ``{placeholders}``.
    A value that is itself a :class:`Text` is written in the same language."""

    def __init__(self, name: str, texts: dict[str, tuple[str, str]]) -> None:
        self.name = name
        self.texts = texts
        ALL.append(self)

    def __call__(self, id: str, /, **params: object) -> Text:
        if id not in self.texts:
            raise KeyError(f"{self.name}: no text {id!r}")
        return Text(self, id, params)

    def say(self, id: str, lang: Lang, /, **params: object) -> str:
        zh, en = self.texts[id]
        values = {k: v.render(lang) if isinstance(v, Text | Pair) else v
                  for k, v in params.items()}
        return (zh if lang == "zh-CN" else en).format(**values)

    def placeholders(self, id: str) -> tuple[set[str], set[str]]:
        return tuple({f for _, f, _, _ in string.Formatter().parse(side) if f}  # type: ignore[return-value]
                     for side in self.texts[id])


ALL: list[Catalogue] = []


# --- numbers, prices, units and dates, as the locale writes them ---

def number(value: float | Decimal, lang: Lang, digits: int = 1) -> str:
    """``value`` with exactly ``digits`` decimals and the locale's grouping."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=_BABEL[lang])


def price(cents: int, lang: Lang, currency: str = "CNY") -> str:
    """An amount in cents: "¥1,234.50" (zh-CN), "CN¥1,234.50" (en)."""
    return numbers.format_currency(Decimal(cents) / 100, currency, locale=_BABEL[lang])


def length(metres: float, lang: Lang, digits: int = 1) -> str:
    return f"{number(metres, lang, digits)} 米" if lang == "zh-CN" \
        else f"{number(metres, lang, digits)} m"


def area(square_metres: float, lang: Lang, digits: int = 1) -> str:
    return f"{number(square_metres, lang, digits)} 平方米" if lang == "zh-CN" \
        else f"{number(square_metres, lang, digits)} m²"


def volume(litres: float, lang: Lang, digits: int = 1) -> str:
    return f"{number(litres, lang, digits)} 升" if lang == "zh-CN" \
        else f"{number(litres, lang, digits)} L"


def day(value: date, lang: Lang) -> str:
    """A date: "2026年12月7日" / "7 Dec 2026"."""
    return dates.format_date(value, format="medium", locale=_BABEL[lang])


def when(value: datetime, lang: Lang, tz: str = "Asia/Shanghai") -> str:
    """A moment in the reader's time zone: "2026年12月7日 20:30" / "7 Dec 2026, 20:30"."""
    zone = dates.get_timezone(tz)
    return (f"{dates.format_date(value.astimezone(zone), 'medium', locale=_BABEL[lang])} "
            f"{dates.format_time(value, 'HH:mm', tzinfo=zone, locale=_BABEL[lang])}")
