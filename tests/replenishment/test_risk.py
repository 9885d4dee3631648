"""The offer rule on constructed forecasts: the risk of running out before a new one could be
there, against the threshold; and the household's learning from its answers and packs. Pure.
"""

from __future__ import annotations

import math
import random

import pytest

from replenishment import risk, timing
from replenishment.forecast import DAY, Capacity, MetricKind, forecast
from replenishment.risk import EmptyTime, due, z_of

FIVE_PERCENT = z_of(0.05)


def empty(days: float, day_cv: float, rate_cv: float = 0.1) -> EmptyTime:
    """A forecast of ``days`` left at one unit a day, a day's use spreading by ``day_cv``."""
    return EmptyTime.of(days, "usage", 1.0, day_cv, rate_cv)


# ---- the decision on constructed forecasts --------------------------------------------


def test_a_narrow_interval_waits_where_a_wide_one_offers() -> None:
    # Five days left either way; a new one reaches the customer in two days.
    sure, unsure = empty(5.0, day_cv=0.3), empty(5.0, day_cv=2.0)
    assert sure.p_within(2.0) < 0.001
    assert unsure.p_within(2.0) > 0.1
    assert not due(sure, 2.0, FIVE_PERCENT)
    assert due(unsure, 2.0, FIVE_PERCENT)


def test_a_long_lead_time_offers_where_a_short_one_waits() -> None:
    # The same forecast: four days left, give or take. Delivery in three days is at risk, a
    # pickup tomorrow is not.
    forecast_ = empty(4.0, day_cv=0.7)
    assert due(forecast_, 3.0, FIVE_PERCENT)
    assert not due(forecast_, 1.0, FIVE_PERCENT)


def test_a_higher_threshold_waits_longer() -> None:
    forecast_ = empty(2.5, day_cv=1.0)  # 7 % likely to be empty by tomorrow
    assert due(forecast_, 1.0, z_of(0.05))
    assert not due(forecast_, 1.0, z_of(0.3))


def test_a_time_limit_is_certain_offered_exactly_when_a_new_one_would_just_make_it() -> None:
    limit = EmptyTime.of(3.0, "time", 0.5, 1.0, 0.1)  # spreads of a time limit do not count
    assert limit.certain
    assert not due(limit, 2.99, z_of(0.005))
    assert due(limit, 3.0, z_of(0.5))
    assert limit.p_within(2.99) == 0.0 and limit.p_within(3.0) == 1.0


def test_the_probability_and_the_rule_say_the_same() -> None:
    rng = random.Random(4)
    for _ in range(500):
        e = empty(rng.uniform(0.2, 20.0), rng.uniform(0.05, 2.0), rng.uniform(0.0, 0.5))
        t, p = rng.uniform(0.5, 4.0), rng.uniform(0.005, 0.5)
        if abs(e.p_within(t) - p) > 1e-9:
            assert due(e, t, z_of(p)) == (e.p_within(t) >= p)
        # the quantile is where the probability reaches p
        assert e.p_within(e.quantile(p)) == pytest.approx(p, abs=1e-9)


def test_whole_uses_run_out_at_the_last_one() -> None:
    # Three tablets left at one a day, a pickup tomorrow: the normal curve of the use puts
    # three runs in a day at 2 %; Poisson says 8 %. Read half a use early, it says 6 %.
    litres = EmptyTime.of(3.0, "usage", 1.0, 1.0, 0.0, "flow_l")
    tablets = EmptyTime.of(3.0, "usage", 1.0, 1.0, 0.0, "count")
    poisson = 1.0 - math.exp(-1.0) * (1.0 + 1.0 + 0.5)
    assert litres.p_within(1.0) == pytest.approx(0.023, abs=0.001)
    assert tablets.p_within(1.0) == pytest.approx(0.067, abs=0.001)
    assert poisson == pytest.approx(0.080, abs=0.001)


def test_the_forecasts_80_percent_interval_is_where_the_risk_is_10_and_90_percent() -> None:
    # 0.4 litres an hour give or take 0.3: 288 of 400 litres used in 30 days
    samples = [(i * 3600.0, 0.4 + 0.3 * math.sin(i)) for i in range(1, 24 * 30 + 1)]
    f = forecast(samples, MetricKind.FLOW, Capacity(400.0), 24 * 30 * 3600.0, fitted_at=0.0)
    assert f.days_left is not None and f.days_left_low is not None
    assert f.days_left_high is not None
    e = EmptyTime.of(f.days_left, f.basis, f.rate_per_day, f.daily_sd, f.rate_sd, "flow_l")
    # (the forecast shifts its band to the weekday-aware point; the risk solves around it)
    assert e.quantile(0.1) == pytest.approx(f.days_left_low, rel=1e-4)
    assert e.quantile(0.9) == pytest.approx(f.days_left_high, rel=1e-4)
    # ... and a whole new pack: 400 litres at about 9.6 a day
    assert f.pack_days_low is not None and f.pack_days_high is not None
    assert f.pack_days_low < 400 / f.rate_per_day < f.pack_days_high


def test_a_households_threshold_stays_within_its_limits() -> None:
    category = risk.threshold_of("coffee_pods")
    assert risk.threshold_of("coffee_pods", 0.5) > category > risk.threshold_of(
        "coffee_pods", -0.5)
    assert risk.threshold_of("coffee_pods", 99.0) == risk.threshold_of(
        "coffee_pods", risk.SHIFT_LIMIT)
    assert risk.threshold_of("coffee_pods", -99.0) >= risk.LOWEST
    assert risk.threshold_of("no such category") == pytest.approx(risk.DEFAULT_THRESHOLD)


# ---- what the answers and the packs teach -------------------------------------------------


def test_still_have_some_moves_later_and_already_bought_earlier() -> None:
    start = timing.Timing()
    assert timing.answered(start, "still_have_some").shift == timing.STEP
    assert timing.answered(start, "already_bought").shift == -timing.STEP
    many = start
    for _ in range(10):
        many = timing.answered(many, "still_have_some")
    assert many.shift == risk.SHIFT_LIMIT


def test_a_late_pack_moves_earlier_and_on_time_ones_creep_later_one_in_twenty() -> None:
    late = timing.pack_ended(timing.Timing(), late=True)
    assert late.shift == -timing.STEP
    on_time = timing.Timing()
    for _ in range(19):
        on_time = timing.pack_ended(on_time, late=False)
    assert timing.pack_ended(on_time, late=True).shift == pytest.approx(0.0, abs=1e-9)
    assert timing.pack_ended(timing.Timing(), late=None).shift == 0.0  # answered already


def test_the_pack_factor_is_learnt_from_what_the_tag_saw_each_pack_give() -> None:
    learnt = timing.Timing()
    assert learnt.pack_factor == 1.0
    learnt = timing.pack_ended(learnt, late=False, used_share=1.21)
    assert learnt.pack_factor == pytest.approx(1.1)  # one pack: half way, geometrically
    learnt = timing.pack_ended(learnt, late=False, used_share=1.21)
    learnt = timing.pack_ended(learnt, late=False, used_share=1.21)
    assert learnt.pack_factor == pytest.approx(1.21 ** 0.75)
    # a pack swapped when our order arrived says only "at least this much"
    assert timing.pack_ended(timing.Timing(), late=False, used_share=0.8,
                             prompted=True).packs == 0
    assert timing.pack_ended(timing.Timing(), late=False, used_share=1.1,
                             prompted=True).packs == 1
    # a pack that gave a third of the rated amount was not used up
    assert timing.pack_ended(timing.Timing(), late=False, used_share=0.3).packs == 0


def test_a_box_that_goes_further_moves_the_forecast_later() -> None:
    # 30 tablets, 24 counted at one a day: 6 days left; a household that gets 36 uses out
    # of a box has 12.
    samples = [(i * DAY / 4, float(i // 4)) for i in range(4 * 24 + 1)]
    now = 24 * DAY
    plain = forecast(samples, MetricKind.COUNT, Capacity(30.0), now, fitted_at=0.0)
    further = forecast(samples, MetricKind.COUNT, Capacity(30.0), now, fitted_at=0.0,
                       pack_factor=1.2)
    assert plain.days_left == pytest.approx(6.0, abs=0.3)
    assert further.days_left == pytest.approx(12.0, abs=0.5)
    assert further.pack_days_low is not None and plain.pack_days_low is not None
    assert further.pack_days_low > plain.pack_days_low
