"""The reasons customers read, in both languages."""

from __future__ import annotations

import pytest

from replenishment.reasons import duration, reason


@pytest.mark.parametrize(("days", "en", "zh"), [
    (0.7, "1 day", "1 天"), (6.4, "6 days", "6 天"), (44.0, "44 days", "44 天"),
    (46.0, "2 months", "2 个月"), (164.0, "5 months", "5 个月"), (730.5, "2 years", "2 年"),
])
def test_durations_read_as_people_say_them(days: float, en: str, zh: str) -> None:
    assert (duration(days, "en"), duration(days, "zh")) == (en, zh)


def test_each_basis_says_what_the_date_rests_on() -> None:
    assert reason("consumable", "usage", 6.2, 0.1, "en") == "about 6 days left at your usual pace"
    assert reason("consumable", "usage", 6.2, 0.1, "zh-CN") == "按您平时的用量，大约还能用 6 天"  # noqa: RUF001
    assert reason("consumable", "usage", 6.2, 0.8, "en") == (
        "about 6 days left; we are still learning your pace")
    assert reason("consumable", "time", 40.0, 0.8, "en") == (
        "about 40 days left until it should be replaced")
    assert reason("consumable", "usage", 0.2, 0.1, "zh") == "按您平时的用量，现在可能已经用完了"  # noqa: RUF001
    assert reason("service", "time", 730.5, 0.0, "zh-CN") == "大约 2 年后需要保养"
    assert reason("service", "usage", 0.0, 0.0, "en") == "service due now"
    assert reason("consumable", "none", None, 0.0, "fr") == "no use seen yet, so no date to run out"
