"""The reader's language, the catalogues of texts, and amounts written for a locale (pure)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

import floorplans.texts  # noqa: F401
import homeloop.errors  # noqa: F401
from homeloop import i18n

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("header", "expected"), [
    ("en-US,en;q=0.9", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("en;q=0.5, zh;q=0.8", "zh-CN"),  # q-values, not the order, decide
    ("fr;q=1, en;q=0.8, zh;q=0.9", "zh-CN"),  # French is not written: the best we write
    ("fr, de;q=0.9, en;q=0.1", "en"),
    ("en-GB", "en"),
    ("zh-TW", "zh-CN"),  # any Chinese reads our Simplified Chinese
    ("en;q=0, fr", "zh-CN"),  # q=0 means "not this"
    ("en;q=abc, zh;q=0.2", "zh-CN"),  # an unreadable weight: that entry is not trusted
    ("fr", "zh-CN"), ("", "zh-CN"), (None, "zh-CN"), ("*", "zh-CN"), ("!!!, en", "en"),
])
def test_accept_language_is_negotiated_by_its_weights(header: str | None,
                                                      expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_the_customers_locale_beats_the_header_and_a_screens_choice_beats_both() -> None:
    assert i18n.choose("en", "zh-CN,zh;q=0.9") == "en"
    assert i18n.choose("zh-CN", "en-US") == "zh-CN"
    assert i18n.choose(None, "en-US") == "en"
    assert i18n.choose("tlh", "en-US") == "en"  # a locale we do not write: the header decides
    assert i18n.choose("zh-CN", "zh-CN", asked="en") == "en"
    assert i18n.choose(None, None, asked="klingon") == "zh-CN"


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    assert len(i18n.ALL) >= 4
    for catalogue in i18n.ALL:
        for id, (zh, en) in catalogue.texts.items():
            where = f"{catalogue.name}:{id}"
            assert zh and en, where
            assert CJK.search(zh) or not re.sub(r"\{\w+\}|\W", "", zh), where  # Chinese
            assert not CJK.search(en), where
            mine_zh, mine_en = catalogue.placeholders(id)
            assert mine_zh == mine_en, where


def test_amounts_units_and_dates_are_written_as_each_locale_writes_them() -> None:
    assert i18n.price(123450, "zh-CN") == "¥1,234.50"
    assert i18n.price(123450, "en") == "CN¥1,234.50"
    assert i18n.price(5, "zh-CN") == "¥0.05"
    assert (i18n.length(9, "zh-CN"), i18n.length(9, "en")) == ("9.0 米", "9.0 m")
    assert (i18n.area(12.345, "zh-CN"), i18n.area(12.345, "en")) == ("12.3 平方米", "12.3 m²")
    assert (i18n.volume(1.5, "zh-CN"), i18n.volume(1.5, "en")) == ("1.5 升", "1.5 L")
    assert i18n.number(12345.678, "en", 2) == "12,345.68"
    assert i18n.day(date(2026, 12, 7), "zh-CN") == "2026年12月7日"
    assert i18n.day(date(2026, 12, 7), "en") == "Dec 7, 2026"
    noon_utc = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
    assert i18n.when(noon_utc, "zh-CN") == "2026年12月7日 20:30"
    assert i18n.when(noon_utc, "en") == "Dec 7, 2026 20:30"


def test_a_text_renders_its_values_in_its_own_language() -> None:
    from floorplans.texts import CHECKS, NAMES
    text = CHECKS("door_swing", item=i18n.Pair("灰色沙发", "grey sofa"),
                  door=NAMES("entrance_door"))
    assert text.render("zh-CN") == "灰色沙发挡住了入户门的开启范围：门无法完全打开。"
    assert text.render("en") == ("The grey sofa blocks the swing of the entrance door: the door "
                                 "cannot open fully.")
    assert str(text) == text.render("en")  # logs read English
    with pytest.raises(KeyError):
        CHECKS("no such text")


def test_an_orders_news_writes_its_total_as_the_readers_locale_does() -> None:
    from orders.lifecycle import message
    assert message("placed", order_id=7, zh=True, total_cents=129900) == \
        "订单 7 已下单：¥1,299.00。"
    assert message("placed", order_id=7, zh=False, total_cents=129900) == \
        "Order 7 placed: CN¥1,299.00."
