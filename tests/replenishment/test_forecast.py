"""The forecast on synthetic timelines whose truth is known.

Each trace is generated here with a seeded ``random.Random``: a tag reporting every 15 minutes
in UTC+8, a daily shape with morning and evening peaks, weekends x1.3, a day-to-day factor and
lognormal noise within the day (litres) or Poisson-distributed whole uses (cups, washes). The
generator runs past ``now``, so the moment the household really runs out is known; the
forecast only sees the samples up to ``now``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from replenishment.forecast import (
    DAY,
    MONTH_DAYS,
    Capacity,
    Event,
    Forecast,
    MetricKind,
    forecast,
    read_timeline,
    service_due,
)

SLOT = 900.0
UTC8 = 8 * 3600.0
START = datetime(2025, 3, 3, tzinfo=timezone(timedelta(hours=8))).timestamp()  # a Monday, 00:00
SHAPE = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 1.8, 1.2, 0.6, 0.5, 0.7, 1.3, 0.9, 0.5, 0.5, 0.6,
         0.9, 1.6, 1.9, 1.4, 1.0, 0.6, 0.3)


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def uses(rng: random.Random, days: float, per_day: float, *, weekend: float = 1.3,
         whole: bool = False, day_sd: float = 0.1, slot_sd: float = 0.35,
         start: float = START) -> list[tuple[float, float]]:
    """Use in each 15-minute slot, as (slot end, amount); the weekly average is ``per_day``."""
    weekday_factor = 7 / (5 + 2 * weekend)
    out: list[tuple[float, float]] = []
    day_factor = 1.0
    for i in range(int(days * 96)):
        t = start + (i + 1) * SLOT
        local = t - SLOT / 2 + UTC8
        if i % 96 == 0:
            day_factor = rng.lognormvariate(-day_sd ** 2 / 2, day_sd)
        is_weekend = (int(local // DAY) + 3) % 7 >= 5
        expected = (per_day * SHAPE[int(local % DAY // 3600)] / sum(SHAPE) / 4
                    * (weekend if is_weekend else 1.0) * weekday_factor * day_factor)
        if whole:
            out.append((t, float(poisson(rng, expected))))
        else:
            out.append((t, expected * rng.lognormvariate(-slot_sd ** 2 / 2, slot_sd)))
    return out


def running_total(trace: list[tuple[float, float]], start: float = 0.0,
                  ) -> list[tuple[float, float]]:
    out, total = [], start
    for t, n in trace:
        total += n
        out.append((t, total))
    return out


def used_between(trace: list[tuple[float, float]], begin: float, end: float) -> float:
    """True use in (begin, end], slots cut by time."""
    total = 0.0
    for t, u in trace:
        share = (min(t, end) - max(t - SLOT, begin)) / SLOT
        total += u * min(1.0, max(0.0, share))
    return total


def runs_out(trace: list[tuple[float, float]], since: float, amount: float) -> float:
    """When the use since ``since`` reaches ``amount`` (within the slot, by proportion)."""
    total = 0.0
    for t, u in trace:
        if t <= since:
            continue
        if total + u >= amount:
            return t - SLOT + SLOT * (amount - total) / u
        total += u
    raise AssertionError("the trace ends before the consumable runs out: make it longer")


def day(d: float) -> float:
    return START + d * DAY


def days_error(result: Forecast, now: float, truth: float) -> float:
    assert result.days_left is not None
    return result.days_left - (truth - now) / DAY


def contains(result: Forecast, now: float, truth: float) -> bool:
    assert result.days_left_low is not None and result.days_left_high is not None
    return result.days_left_low <= (truth - now) / DAY <= result.days_left_high


# ---- a water purifier's filter: litres, a replacement, gaps --------------------------------


@dataclass
class Purifier:
    now: float
    replaced: float
    truth: float
    true_used: float
    samples: list[tuple[float, float]]
    capacity: Capacity


def purifier(rng: random.Random, per_day: float = 10.0) -> Purifier:
    """70 days at 10 L/day with a filter replaced on day 42 between two reports.

    Days 28-32: the tag was silent and its litres were lost. Days 50-53: silent, then it sent
    the litres of the whole gap in one report (as the contract says).
    """
    trace = uses(rng, 140, per_day)
    now, replaced = day(70) + 9.6 * 3600, day(42) + 7.3 * 3600
    samples: list[tuple[float, float]] = []
    carried = 0.0
    for t, u in trace:
        if t > now:
            break
        if day(28) <= t < day(32):
            continue  # lost
        carried += u
        if day(50) <= t < day(53):
            continue  # carried into the next report
        samples.append((t, round(carried, 3)))
        carried = 0.0
    capacity = Capacity(600.0, 6.0)
    assert capacity.amount is not None
    return Purifier(now, replaced, runs_out(trace, replaced, capacity.amount),
                    used_between(trace, replaced, now), samples, capacity)


def test_purifier_with_replacement_and_gaps_hits_the_empty_date() -> None:
    p = purifier(random.Random(1))
    result = forecast(p.samples, MetricKind.FLOW, p.capacity, p.now,
                      events=[Event(p.replaced, "replaced"), Event(day(20), "fault")],
                      utc_offset_s=UTC8)
    # Used counts only the new filter, the litres carried over the second gap included.
    assert result.cycle_start == p.replaced
    assert result.used == pytest.approx(p.true_used, rel=0.005)
    # Neither gap bends the rate: lost litres would dilute it by 4/56 (7 %).
    assert result.rate_per_day == pytest.approx(10.0, rel=0.03)
    assert result.basis == "usage"
    # Tolerance: 1 day in about 30 (3 %); ignoring the lost gap alone would err by 2 days.
    assert abs(days_error(result, p.now, p.truth)) <= 1.0
    assert contains(result, p.now, p.truth)
    assert result.days_left_low is not None and result.days_left_high is not None
    assert result.days_left_high - result.days_left_low <= 0.3 * (p.truth - p.now) / DAY
    assert 0.7 < result.confidence < 1.0


def test_fitted_at_without_an_event_starts_the_cycle_too() -> None:
    p = purifier(random.Random(2))
    by_event = forecast(p.samples, MetricKind.FLOW, p.capacity, p.now,
                        events=[Event(p.replaced, "nfc_tap")], utc_offset_s=UTC8)
    by_fit = forecast(p.samples, MetricKind.FLOW, p.capacity, p.now, fitted_at=p.replaced,
                      utc_offset_s=UTC8)
    assert by_event == by_fit
    assert by_fit.used == pytest.approx(p.true_used, rel=0.005)


def test_order_future_samples_and_negative_flow_do_not_matter() -> None:
    p = purifier(random.Random(3))
    clean = forecast(p.samples, MetricKind.FLOW, p.capacity, p.now, fitted_at=p.replaced,
                     utc_offset_s=UTC8)
    shuffled = list(p.samples)
    random.Random(4).shuffle(shuffled)
    noisy = [*shuffled, (p.now + 3600, 500.0)]  # a report from after "now"
    assert forecast(noisy, MetricKind.FLOW, p.capacity, p.now, fitted_at=p.replaced,
                    utc_offset_s=UTC8) == clean
    # A sensor error reporting negative litres is no use at all (not negative use).
    bad = [(t, -5.0) if i % 50 == 7 and t > p.replaced + SLOT else (t, v)
           for i, (t, v) in enumerate(p.samples)]
    dropped = sum(v for i, (t, v) in enumerate(p.samples)
                  if i % 50 == 7 and t > p.replaced + SLOT)
    def used(samples: list[tuple[float, float]]) -> float:
        return read_timeline(samples, MetricKind.FLOW, p.now, fitted_at=p.replaced).used

    assert used(bad) == pytest.approx(used(p.samples) - dropped, abs=1e-6)


# ---- a detergent tank: level with refills --------------------------------------------------


def test_detergent_level_with_refills_never_counts_a_refill_as_use() -> None:
    rng = random.Random(5)
    washes = uses(rng, 160, 1.2, whole=True)
    level, last_refill = 0.35, START
    samples: list[tuple[float, float]] = []
    events: list[Event] = []
    refills = 0
    now = day(104) + 13 * 3600
    drops: list[tuple[float, float]] = []  # (time, level drop) of each slot, for the truth
    for t, n in washes:
        drop = sum(rng.uniform(0.02, 0.03) for _ in range(int(n)))
        level = max(0.0, level - drop)
        drops.append((t, drop))
        if t <= now and level < 0.1:
            level, last_refill, refills = 1.0, t, refills + 1
            if refills != 2:  # the second refill comes without an event: seen in the level only
                events.append(Event(t, "refill"))
        if t <= now:
            samples.append((t, round(level + rng.gauss(0.0, 0.003), 4)))
    assert refills >= 3
    true_level = 1.0 - used_between(drops, last_refill, now)
    truth = runs_out(drops, now, true_level)

    result = forecast(samples, MetricKind.LEVEL, Capacity(1.0), now, events=events,
                      prior_rate_per_day=0.03, utc_offset_s=UTC8)
    assert result.cycle_start == last_refill
    assert result.used >= 0.0
    assert result.used == pytest.approx(1.0 - true_level, abs=0.02)
    assert result.remaining == pytest.approx(true_level, abs=0.02)
    # 1.2 washes a day of 2.5 % each: a refill read as use (or as negative use) would move
    # the rate by a whole tank over the window, several times this tolerance.
    assert result.rate_per_day == pytest.approx(0.03, rel=0.15)
    # Tolerance: 6 days in about 20; some 27 washes to go at 1.2 a day leave a standard
    # deviation of 4.3 days to chance (Poisson), whatever the forecast.
    assert abs(days_error(result, now, truth)) <= 6.0
    assert contains(result, now, truth)


def test_an_empty_tank_is_not_the_pace_and_a_refill_without_event_starts_a_cycle() -> None:
    hour = 3600.0
    # Falls 0.01 an hour, sits empty for two days and more (the household could not use any),
    # is refilled without an event, then falls 0.01 an hour again.
    samples = [(day(0) + i * hour, round(max(0.0, 0.9 - 0.01 * i), 4)) for i in range(148)]
    samples += [(day(0) + (148 + i) * hour, round(1.0 - 0.01 * i, 4)) for i in range(30)]
    now = samples[-1][0]
    result = forecast(samples, MetricKind.LEVEL, Capacity(1.0), now)
    assert result.cycle_start == day(0) + 148 * hour
    assert result.used == pytest.approx(0.29, abs=1e-6)
    assert result.rate_per_day == pytest.approx(0.24, rel=0.01)  # not diluted by the empty days
    assert result.days_left == pytest.approx(0.71 / 0.24, rel=0.01)


# ---- a coffee machine's counter with a reset ----------------------------------------------


def test_coffee_counter_reset_is_neither_negative_nor_double_use() -> None:
    rng = random.Random(6)
    cups = uses(rng, 60, 4.0, whole=True)
    tapped, reset, now = day(27) + 17 * 3600, day(30) + 5.2 * 3600, day(33) + 10 * 3600
    counter = 1234.0
    samples: list[tuple[float, float]] = []
    for t, n in cups:
        if t > now:
            break
        counter = n if t - SLOT < reset <= t else counter + n  # restarts from 0 in that slot
        samples.append((t, counter))
    true_used = used_between(cups, tapped, now)
    in_reset_slot = next(n for t, n in cups if t - SLOT < reset <= t)
    truth = runs_out(cups, tapped, 50)

    result = forecast(samples, MetricKind.COUNT, Capacity.from_catalog(None, 50, None, False),
                      now, events=[Event(tapped, "nfc_tap")], prior_rate_per_day=3.0,
                      utc_offset_s=UTC8)
    # The reset does not start a new pod box: use since the tap runs across it, short only by
    # the cups of the one interval in which the counter restarted (unknown, so not counted).
    assert result.cycle_start == tapped
    assert true_used - in_reset_slot - 1 <= result.used <= true_used
    assert result.rate_per_day == pytest.approx(4.0, rel=0.15)
    # Tolerance: 2.5 days; about 28 cups left at 4 a day leave +-1.3 days to chance.
    assert abs(days_error(result, now, truth)) <= 2.5
    assert contains(result, now, truth)


def test_a_swapped_counter_going_backwards_adds_nothing() -> None:
    t = [day(0) + i * 3600 for i in range(6)]
    samples = [(t[0], 5000.0), (t[1], 5002.0), (t[2], 5004.0), (t[3], 37.0), (t[4], 39.0),
               (t[5], 41.0)]
    usage = read_timeline(samples, MetricKind.COUNT, t[5], fitted_at=t[0])
    assert usage.used == 8.0  # 2 + 2 + (unknown: 0) + 2 + 2
    assert sum(a for _, a, _ in usage.days) == 8.0
    assert sum(c for _, _, c in usage.days) == pytest.approx(4 / 24)  # the break is no data


# ---- households change: days away, a new pace ---------------------------------------------


def test_a_holiday_away_is_not_the_households_pace() -> None:
    rng = random.Random(21)
    trace = uses(rng, 56, 12.0)
    home = [(t, 0.0 if day(30) <= t < day(40) else u) for t, u in trace]  # ten days away
    now = day(56)
    result = forecast(home, MetricKind.FLOW, Capacity(2000.0), now, fitted_at=day(0),
                      utc_offset_s=UTC8)
    # Counting the ten idle days would make it 12 x 46/56 = 9.9 a day.
    assert result.rate_per_day == pytest.approx(12.0, rel=0.05)


def test_a_household_whose_pace_doubled_is_read_at_its_new_pace() -> None:
    rng = random.Random(22)
    before, after = uses(rng, 42, 8.0), uses(rng, 14, 16.0, start=day(42))
    now = day(56)
    result = forecast(before + after, MetricKind.FLOW, Capacity(2000.0), now,
                      fitted_at=day(0), utc_offset_s=UTC8)
    # The eight weeks' mean would be 10 a day; the last two weeks say 16, and do not yet
    # know it as well as eight weeks would.
    assert result.rate_per_day == pytest.approx(16.0, rel=0.07)
    steady = forecast(uses(random.Random(22), 56, 16.0), MetricKind.FLOW, Capacity(2000.0),
                      now, fitted_at=day(0), utc_offset_s=UTC8)
    assert result.days_left_low is not None and result.days_left_high is not None
    assert steady.days_left_low is not None and steady.days_left_high is not None
    assert (result.days_left_high - result.days_left_low
            > steady.days_left_high - steady.days_left_low)


# ---- a new instance: the category prior ----------------------------------------------------


def test_one_day_of_data_leans_on_the_prior_and_eight_weeks_do_not() -> None:
    rng = random.Random(7)
    trace = uses(rng, 60, 20.0)  # this household drinks twice the category's 10 L a day
    capacity = Capacity(1000.0)
    fitted = START

    def at(now: float) -> Forecast:
        samples = [(t, u) for t, u in trace if t <= now]
        return forecast(samples, MetricKind.FLOW, capacity, now, fitted_at=fitted,
                        prior_rate_per_day=10.0, utc_offset_s=UTC8)

    young, old = at(day(1)), at(day(56))
    observed = young.used  # one day's litres (a Monday): the household's own rate so far
    assert observed > 15.0
    assert young.prior_weight > 0.7
    assert abs(young.rate_per_day - 10.0) < abs(young.rate_per_day - observed)
    assert old.prior_weight < 0.06
    assert old.rate_per_day == pytest.approx(20.0, rel=0.05)
    assert young.confidence < 0.5 < old.confidence
    assert young.days_left_high is not None and young.days_left_low is not None
    assert young.days_left_high / young.days_left_low > 2  # it knows it barely knows


def test_a_new_dishwasher_not_used_yet_still_gets_the_prior() -> None:
    samples = [(day(0) + i * SLOT, 412.0) for i in range(int(0.9 * 96))]
    now = samples[-1][0]
    result = forecast(samples, MetricKind.COUNT, Capacity(30.0), now, fitted_at=day(0),
                      prior_rate_per_day=0.9, utc_offset_s=UTC8)
    assert result.used == 0.0
    assert result.rate_per_day == pytest.approx(0.9 * 3 / 3.9, rel=0.05)
    assert result.days_left is not None and 30 < result.days_left < 60


def test_no_data_and_no_prior_is_no_forecast() -> None:
    result = forecast([], MetricKind.COUNT, Capacity(30.0), day(3))
    assert (result.days_left, result.days_left_high, result.confidence, result.basis) == (
        None, None, 0.0, "none")


# ---- a filter whose months run out first ---------------------------------------------------


def test_barely_used_filter_is_due_by_its_months() -> None:
    rng = random.Random(8)
    trace = uses(rng, 150, 2.0)
    now = day(150)
    result = forecast(trace, MetricKind.FLOW, Capacity.from_catalog(2000.0, None, 6, False),
                      now, events=[Event(START, "replaced")], prior_rate_per_day=11.0,
                      utc_offset_s=UTC8)
    assert result.basis == "time"
    assert result.used == pytest.approx(300.0, rel=0.03)
    assert result.days_left == pytest.approx(6 * MONTH_DAYS - 150, abs=1e-6)
    assert result.days_left_low == result.days_left_high == result.days_left
    assert result.confidence == 1.0


# ---- weekly patterns ----------------------------------------------------------------------


def test_a_weekend_heavy_household_seen_mostly_at_weekends_is_not_overestimated() -> None:
    rng = random.Random(9)
    trace = uses(rng, 21, 6.0, weekend=3.0, day_sd=0.0)  # weekends three times a weekday
    # The tag was off on the weekdays of the second and third week: 5 weekdays and 6 weekend
    # days were seen, where a week has 5 and 2.
    samples = [(t, u) for t, u in trace
               if t <= day(7) or (int((t - SLOT / 2 + UTC8) // DAY) + 3) % 7 >= 5]
    now = day(21)
    result = forecast(samples, MetricKind.FLOW, Capacity(1000.0), now, fitted_at=START,
                      utc_offset_s=UTC8)
    seen = [(t, u) for t, u in samples if t > START + SLOT]
    pooled = sum(u for _, u in seen) / (len(seen) / 96)  # use / time seen: the naive rate
    assert pooled > 6.0 * 1.25  # a plain average would be far too high ...
    assert result.rate_per_day == pytest.approx(6.0, rel=0.05)  # ... weekday weights are not


def test_days_left_counts_the_weekend_ahead() -> None:
    rng = random.Random(10)
    trace = uses(rng, 35, 10.0, weekend=3.0, day_sd=0.0, slot_sd=0.1)
    friday = day(32)  # 32 days of data, then Friday 00:00 with 20 L left in the filter
    used = used_between(trace, START, friday)
    result = forecast([s for s in trace if s[0] <= friday], MetricKind.FLOW,
                      Capacity(used + 20.0), friday, fitted_at=START, utc_offset_s=UTC8)
    truth = runs_out(trace, START, used + 20.0)
    # Friday ~6.4 L, Saturday ~19 L: empty on Saturday evening, not at midnight after it as
    # 20 L at the average 10 L a day would say.
    assert abs(days_error(result, friday, truth)) <= 0.15
    assert abs(20.0 / result.rate_per_day - (truth - friday) / DAY) > 0.15


# ---- services -------------------------------------------------------------------------------


def test_descaling_by_cups_or_months_whichever_first() -> None:
    rng = random.Random(11)
    cups = uses(rng, 120, 8.0, whole=True)
    counter, samples = 40.0, []
    for t, n in cups:
        counter += n
        samples.append((t, counter))
    serviced, now = day(20), day(120)
    due = service_due(samples, MetricKind.COUNT, Capacity(2000.0, 12.0), serviced, now,
                      utc_offset_s=UTC8)
    used = used_between(cups, serviced, now)
    assert due.used == pytest.approx(used, abs=1.0)
    assert due.basis == "usage"
    assert due.days_left == pytest.approx((2000.0 - used) / 8.0, rel=0.1)
    heavy = service_due(samples, MetricKind.COUNT, Capacity(2000.0, 3.5), serviced, now,
                        utc_offset_s=UTC8)
    assert heavy.basis == "time"
    assert heavy.days_left == pytest.approx(3.5 * MONTH_DAYS - 100, abs=1e-6)


def test_wood_floor_care_every_two_years_needs_no_samples() -> None:
    installed = day(0)
    due = service_due([], MetricKind.COUNT, Capacity(months=24), installed, day(700))
    assert due.basis == "time"
    assert due.days_left == pytest.approx(24 * MONTH_DAYS - 700, abs=1e-6)
    assert due.confidence == 1.0
    overdue = service_due([], MetricKind.COUNT, Capacity(months=24), installed, day(800))
    assert overdue.days_left == 0.0


def test_a_service_by_use_cannot_count_a_level() -> None:
    with pytest.raises(ValueError, match="count or flow"):
        service_due([], MetricKind.LEVEL, Capacity(1.0), day(0), day(1))


# ---- calibration: the 80 % interval over many households --------------------------------


@pytest.mark.parametrize("whole", [False, True], ids=["litres", "cups"])
def test_the_80_percent_interval_holds_the_truth_about_80_percent_of_the_time(
        whole: bool) -> None:
    rng = random.Random(12)
    hits, errors, floor = 0, [], []
    households = 40
    for _ in range(households):
        per_day = rng.uniform(2.0, 8.0) if whole else rng.uniform(5.0, 30.0)
        trace = uses(rng, 100, per_day, whole=whole, day_sd=0.2)
        fitted = day(rng.uniform(20, 40))
        amount = per_day * rng.uniform(12, 25)
        now = fitted + rng.uniform(0.3, 0.7) * amount / per_day * DAY
        truth = runs_out(trace, fitted, amount)
        samples = [s for s in trace if s[0] <= now]
        if whole:  # the counter reports the running total
            samples = running_total(samples)
        result = forecast(samples, MetricKind.COUNT if whole else MetricKind.FLOW,
                          Capacity(amount), now, fitted_at=fitted, utc_offset_s=UTC8)
        hits += contains(result, now, truth)
        errors.append(abs(days_error(result, now, truth)))
        # A forecast told the household's true pace errs only by the household's own chance.
        floor.append(abs((amount - used_between(trace, fitted, now)) / per_day
                         - (truth - now) / DAY))
    # 80 % +- two binomial standard deviations (6 % each at 40 households).
    assert 0.66 <= hits / households <= 0.94
    # Within half again of that floor (it was 0.94-1.34 times it over a dozen other seeds).
    assert sum(errors) <= 1.5 * sum(floor)
