"""``homeloop bench forecast``: our forecast against a naive one, on households with known truth.

Each synthetic household gets one consumable from four categories (a water filter by litres
and months, dishwasher tablets by uses, laundry detergent by tank level, coffee pods by uses)
and its own pace: the category's average times a factor drawn log-uniformly from 0.3 to 3,
so that the category average is realistically wrong for most homes. Its tag reports every
hour (what the ``readings_hourly`` rollup holds) in UTC+8: a morning/evening daily shape,
weekends x1.3, each day x lognormal (sigma 0.25), within the day lognormal noise (sigma 0.35) on
litres or Poisson-distributed whole uses (a wash takes 1.5-3 % of the tank). Up to eight weeks
of history come before the current consumable was fitted (earlier refills, a counter reset
in one trace in four), and one trace in three has a silent gap of 1-4 days; a flow reading
after a gap carries the litres of the gap, as the tag contract says. The truth is the moment
the simulated household really uses the last of it (or the months run out).

Figures:

mae_days
    At the moment half of the consumable is used, the predicted empty date against the true
    one, in days: ours (:func:`replenishment.forecast.forecast`, given the category average as
    its prior) and naive (fitted time + capacity / category average, capped by the months).
ratio
    naive / ours.
on_time
    Stepping day by day from the half-used moment and forecasting again each day, the offer
    goes out on the first day the predicted days left fall to the threshold; it is on time
    when the true days left are then between the lead time (2 days) and the lead time + 3.
    Checked once a day, an offer fires when the prediction is within the day before the
    threshold, so a threshold of the lead time itself sends a *perfect* forecast's offers
    between 1 and 2 days before empty, always late; the bench prints that rule's figures too
    (ours and a perfect forecast's). The figure in the last line uses the design's
    "lead time + safety margin" with a margin of 2 days, which centres a perfect forecast in
    the 3-day window (one day of slack either way).
true pace
    The same figures for a forecast that is told each household's real average pace: what is
    left to chance by the households' own day-to-day variation, which no forecast removes.
"""

from __future__ import annotations

import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from replenishment.forecast import DAY, MONTH_DAYS, Capacity, Event, MetricKind, forecast

HOUR = 3600.0
UTC_OFFSET_S = 8 * 3600.0  # the simulated fleet lives in UTC+8, like the device simulator's
LEAD_DAYS = 2.0
WINDOW_DAYS = 3.0  # on time: true days left within [lead, lead + 3] when the offer goes out
SAFETY_MARGIN_DAYS = 2.0
# Relative activity by local hour (morning and evening peaks), as in the device simulator.
HOUR_SHAPE = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 1.8, 1.2, 0.6, 0.5, 0.7, 1.3, 0.9, 0.5,
              0.5, 0.6, 0.9, 1.6, 1.9, 1.4, 1.0, 0.6, 0.3)
WEEKEND_FACTOR = 1.3
# Scale so that a week of hours at these weights averages exactly the household's daily rate.
_WEEK_NORM = sum(HOUR_SHAPE) * (5 + 2 * WEEKEND_FACTOR) / 7
EPOCH_2025 = 1_735_689_600.0


@dataclass(frozen=True, slots=True)
class Category:
    """A consumable as the catalog has it, and the average household's pace with it."""

    name: str
    kind: MetricKind
    capacity: Capacity
    mean_per_day: float  # category average in metric units per day: prior and naive baseline
    fit_event: str
    per_use: tuple[float, float] | None = None  # level used by one use (tank categories)
    uses_per_day: float = 0.0  # tank categories: average uses per day


CATEGORIES = (
    Category("water filter 2000 L / 6 months", MetricKind.FLOW, Capacity(2000.0, 6.0), 11.0,
             "replaced"),
    Category("dishwasher tablets 30 uses", MetricKind.COUNT, Capacity(30.0), 0.9, "nfc_tap"),
    Category("laundry detergent tank level", MetricKind.LEVEL, Capacity(1.0), 0.7 * 0.0225,
             "refill", per_use=(0.015, 0.03), uses_per_day=0.7),
    Category("coffee pods 50 uses", MetricKind.COUNT, Capacity(50.0), 3.0, "nfc_tap"),
)


@dataclass(frozen=True, slots=True)
class Trace:
    """One household's hourly timeline up to the true empty moment, with the truth."""

    category: Category
    samples: list[tuple[float, float]]
    times: list[float]
    events: list[Event]
    fitted_at: float
    half_at: float
    empty_at: float
    per_day: float  # the household's true average pace
    used: list[float]  # true use since fitting, at each hour after it


@dataclass(frozen=True, slots=True)
class Outcome:
    category: str
    err_ours: float
    err_naive: float
    on_time: bool  # with the safety margin
    on_time_literal: bool  # threshold = lead time
    oracle_literal: bool  # a perfect forecast, threshold = lead time
    err_paced: float  # a forecast that knows the household's true average pace
    on_time_paced: bool
    forecasts: int


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small hourly means here."""
    if mean <= 0.0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def make_trace(category: Category, rng: random.Random) -> Trace:
    """Simulate one household hour by hour until its current consumable is used up."""
    pace = math.exp(rng.uniform(math.log(0.3), math.log(3.0)))
    per_day = category.mean_per_day * pace
    uses_per_day = category.uses_per_day * pace
    fitted_at = EPOCH_2025 + rng.randrange(0, 365 * 24) * HOUR
    t = fitted_at - rng.randint(0, 56) * DAY - HOUR  # the first step lands on the hour
    capacity = category.capacity
    amount = capacity.amount if capacity.amount is not None else math.inf
    ends = fitted_at + (capacity.months * MONTH_DAYS * DAY if capacity.months else math.inf)
    expected_life = min(amount / per_day * DAY, ends - fitted_at)
    gap = (0.0, 0.0)
    if rng.random() < 1 / 3:
        gap_start = rng.uniform(t, fitted_at + expected_life)
        gap = (gap_start, gap_start + rng.uniform(1.0, 4.0) * DAY)
    reset_at = (rng.uniform(t, fitted_at + expected_life)
                if category.kind is MetricKind.COUNT and rng.random() < 0.25 else math.inf)

    samples: list[tuple[float, float]] = []
    events: list[Event] = []
    level, counter, carried, used = rng.uniform(0.3, 1.0), float(rng.randint(0, 3000)), 0.0, 0.0
    day_factor, factor_day = 1.0, -1
    half_at = empty_at = math.nan
    used_hourly: list[float] = []
    while True:
        t += HOUR
        local = t + UTC_OFFSET_S
        day = int(local // DAY)
        if day != factor_day:
            day_factor, factor_day = rng.lognormvariate(-0.25 ** 2 / 2, 0.25), day
        weekend = (day + 3) % 7 >= 5
        activity = (HOUR_SHAPE[int(local % DAY // HOUR)] * (WEEKEND_FACTOR if weekend else 1.0)
                    / _WEEK_NORM * day_factor)
        if category.kind is MetricKind.FLOW:
            use = per_day * activity * rng.lognormvariate(-0.35 ** 2 / 2, 0.35)
        elif category.kind is MetricKind.COUNT:
            use = float(_poisson(rng, per_day * activity))
            counter += use
            if t >= reset_at:
                counter, reset_at = use, math.inf
        else:
            low, high = category.per_use or (0.0, 0.0)
            use = sum(rng.uniform(low, high) for _ in range(_poisson(rng, uses_per_day * activity)))
            level = max(0.0, level - use)
            if t < fitted_at and level < 0.08 and rng.random() < 0.2:
                level = 1.0
                events.append(Event(t, "refill"))
        if t == fitted_at:
            events.append(Event(t, category.fit_event))
            level, used = 1.0, 0.0
        elif t > fitted_at:
            before, used = used, used + use
            used_hourly.append(used)
            if used >= amount or t >= ends:
                share = (amount - before) / use if used >= amount and use > 0 else 1.0
                empty_at = min(t - HOUR + share * HOUR, ends)
                break
            share_used = max(used / amount, (t - fitted_at) / (ends - fitted_at))
            if math.isnan(half_at) and share_used >= 0.5:
                half_at = t
        carried += use
        if gap[0] <= t < gap[1]:
            continue
        if category.kind is MetricKind.FLOW:
            samples.append((t, round(carried, 3)))
        elif category.kind is MetricKind.COUNT:
            samples.append((t, counter))
        else:
            samples.append((t, round(level + rng.gauss(0.0, 0.002), 4)))
        carried = 0.0
    if math.isnan(half_at):  # used up within the first hour after fitting
        half_at = fitted_at
    return Trace(category, samples, [s[0] for s in samples], events, fitted_at, half_at,
                 empty_at, per_day, used_hourly)


def _predict_empty(trace: Trace, now: float) -> float:
    samples = trace.samples[:bisect_right(trace.times, now)]
    result = forecast(samples, trace.category.kind, trace.category.capacity, now,
                      events=[e for e in trace.events if e.time <= now],
                      fitted_at=trace.fitted_at, prior_rate_per_day=trace.category.mean_per_day,
                      utc_offset_s=UTC_OFFSET_S)
    return math.inf if result.days_left is None else now + result.days_left * DAY


def _naive_empty(trace: Trace) -> float:
    capacity = trace.category.capacity
    days = (capacity.amount or math.inf) / trace.category.mean_per_day
    if capacity.months is not None:
        days = min(days, capacity.months * MONTH_DAYS)
    return trace.fitted_at + days * DAY


def _offer_on_time(trace: Trace, predict: Callable[[float], float], threshold: float) -> bool:
    """Step daily from half-used; on time if the first offer finds [lead, lead + 3] days left."""
    now = trace.half_at
    while now < trace.empty_at:
        if (predict(now) - now) / DAY <= threshold:
            true_left = (trace.empty_at - now) / DAY
            return LEAD_DAYS <= true_left <= LEAD_DAYS + WINDOW_DAYS
        now += DAY
    return False  # never offered before it ran out


def evaluate(trace: Trace) -> Outcome:
    """Both errors at the half-used moment and the offers under each rule for one trace."""
    predictions: dict[float, float] = {}

    def ours(now: float) -> float:
        if now not in predictions:
            predictions[now] = _predict_empty(trace, now)
        return predictions[now]

    def oracle(_now: float) -> float:
        return trace.empty_at

    capacity = trace.category.capacity
    ends = trace.fitted_at + (capacity.months * MONTH_DAYS * DAY if capacity.months else math.inf)

    def paced(now: float) -> float:
        hours = round((now - trace.fitted_at) / HOUR)
        used = trace.used[min(hours, len(trace.used)) - 1] if hours > 0 else 0.0
        left = (capacity.amount or math.inf) - used
        return min(ends, now + left / trace.per_day * DAY)

    on_time = _offer_on_time(trace, ours, LEAD_DAYS + SAFETY_MARGIN_DAYS)
    literal = _offer_on_time(trace, ours, LEAD_DAYS)
    perfect = _offer_on_time(trace, oracle, LEAD_DAYS)
    paced_on_time = _offer_on_time(trace, paced, LEAD_DAYS + SAFETY_MARGIN_DAYS)
    return Outcome(trace.category.name, abs(ours(trace.half_at) - trace.empty_at) / DAY,
                   abs(_naive_empty(trace) - trace.empty_at) / DAY, on_time, literal, perfect,
                   abs(paced(trace.half_at) - trace.empty_at) / DAY, paced_on_time,
                   len(predictions))


def run_forecast_bench(traces: int = 500, seed: int = 11) -> str:
    """Run the bench, print its figures and return the last line."""
    began = time.perf_counter()
    rng = random.Random(seed)
    outcomes = [evaluate(make_trace(CATEGORIES[i % len(CATEGORIES)], rng))
                for i in range(traces)]
    print(f"forecast bench: {traces} synthetic households (seed {seed}), hourly reports, "
          f"category pace x0.3..x3, lead time {LEAD_DAYS:g} days")
    print(f"  {'category':32} {'n':>4} {'mae ours':>9} {'naive':>7} {'ratio':>6} {'on_time':>8}"
          f"  | true pace: {'mae':>5} {'on_time':>8}")
    for category in CATEGORIES:
        rows = [o for o in outcomes if o.category == category.name]
        if rows:
            paced_mae = sum(o.err_paced for o in rows) / len(rows)
            paced_share = 100 * sum(o.on_time_paced for o in rows) / len(rows)
            print(f"  {category.name:32} {len(rows):4d} {_mae(rows, ours=True):9.2f} "
                  f"{_mae(rows, ours=False):7.2f} {_ratio(rows):6.1f} {_share(rows):7.0f}%"
                  f"  |            {paced_mae:5.2f} {paced_share:7.0f}%")
    print("  (true pace: a forecast told each household's real average pace, the best any pace "
          "can do against the households' own day-to-day chance)")
    literal = 100 * sum(o.on_time_literal for o in outcomes) / max(1, len(outcomes))
    perfect = 100 * sum(o.oracle_literal for o in outcomes) / max(1, len(outcomes))
    print(f"  offers when days_left <= lead time: on time ours {literal:.0f}%, "
          f"a perfect forecast {perfect:.0f}% (checked daily, they land after the lead time)")
    print(f"  offers when days_left <= lead time + {SAFETY_MARGIN_DAYS:g} days (the figure below); "
          f"{sum(o.forecasts for o in outcomes)} forecasts in "
          f"{time.perf_counter() - began:.1f} s")
    line = (f"forecast: mae_days {_mae(outcomes, ours=True):.2f} naive "
            f"{_mae(outcomes, ours=False):.2f} ratio {_ratio(outcomes):.1f} "
            f"on_time {_share(outcomes):.0f}%")
    print(line)
    return line


def _mae(rows: list[Outcome], *, ours: bool) -> float:
    return sum(o.err_ours if ours else o.err_naive for o in rows) / max(1, len(rows))


def _ratio(rows: list[Outcome]) -> float:
    ours = _mae(rows, ours=True)
    return _mae(rows, ours=False) / ours if ours > 0 else math.inf


def _share(rows: list[Outcome]) -> float:
    return 100 * sum(o.on_time for o in rows) / max(1, len(rows))
