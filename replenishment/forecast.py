"""When a consumable runs out, or a service falls due, from one metric's timeline.

Pure functions, no I/O. The input is what the timelines hold for one product instance and one
metric: ``(epoch seconds, value)`` samples, the events that start a new consumable, the
consumable's capacity and the time it was fitted. The method, in the order the code runs:

1. **Intervals** (:func:`read_timeline`). Each pair of consecutive samples is an interval
   ``(t0, t1]`` with the amount used in it, by metric kind:

   - ``level`` (0-1 fill): the drop ``v0 - v1``. A rise of at least ``refill_jump`` is a refill:
     it starts a new cycle and counts as no use (not negative use). Small rises are sensor
     noise and are kept signed, so that noise cancels out instead of piling up as use.
     Intervals that begin at an empty tank say nothing about the household's pace (the
     household would have used more) and are left out of the rate.
   - ``count`` (cumulative uses): the increase ``v1 - v0``. A counter that goes backwards was
     reset or swapped: the uses in that one interval are unknown, so it counts as 0 and is left
     out of the rate. Never negative, never counted twice. A counter break is not a new
     consumable (a coffee machine reset does not refill the pod box); a new consumable comes
     with a ``replaced``/``nfc_tap``/``refill`` event or ``fitted_at``.
   - ``flow_l`` (litres in the interval since the previous report): the reported value
     (negative values are sensor errors and count as 0).

   Events (``refill``, ``replaced``, ``nfc_tap`` on this consumable) and ``fitted_at`` start a
   new cycle at their time; the interval they fall in is shared between the cycles by time.
   ``used`` is the sum over the current cycle.

2. **Rate** (:func:`estimate_rate`). Intervals no longer than ``max_gap_s`` are added to the
   local calendar day of their midpoint, with the time they cover; longer intervals (a tag
   that was off) still count in ``used`` but not in the rate, so a gap neither dilutes nor
   inflates it. The window is the last ``min_weeks`` whole weeks, longer (up to ``max_weeks``)
   when uses are so rare that eight weeks leave the rate uncertain by more than
   ``target_rel_se`` (a dishwasher run every third day). For each weekday the rate is the
   amount over the time covered; a weekday with less than ``min_weekday_cover`` days of data
   borrows the rate of its kind of day (Monday-Friday or the weekend), else the overall rate.
   The observed rate is the mean of the seven weekday rates, so a window holding three
   weekends and one Monday is not read as a weekend-heavy household's normal pace. Means, not
   medians: consumption adds up, and the median of a skewed day (a dishwasher run on one day
   in two) is not what drains the pack.

   With little data the rate leans on a category prior, as if the prior were ``prior_days``
   days of data: ``rate = (n * observed + k * prior) / (n + k)``, ``n`` = days of data.

   Households change. Days away (a run of whole days without use to speak of, so long that
   the household's own idle days would make it less likely than ``away_chance``) are left
   out, like a gap: a holiday is not the pace. And when the last ``recent_days`` days differ
   from the weeks before them by more than ``drift_z`` standard errors (a new baby, a lodger
   gone), the pace is those days' own, with the wider uncertainty of fewer days.

3. **Days left** (:func:`forecast`). The remaining amount (capacity minus ``used``; for a
   level, the current fill) is consumed forward from the last sample, day by day at each
   weekday's rate, so the weekend coming up is counted. Time since the last sample counts as
   use at that rate. The consumable's months since it was fitted cap the answer; whichever
   runs out first is the ``basis``.

4. **Interval and confidence.** Days are independent draws with the spread ``s`` of daily
   use seen in the window; the rate itself is uncertain by ``sd_rate`` (the standard error of
   the observed mean and the spread between households of the prior, mixed with the same
   weights as the rate). Over ``T`` days the use is ``r T`` give or take
   ``z sqrt(T s² + T² sd_rate²)``; the 80 % bounds are the days at which the upper and the lower
   edge of that band reach the remaining amount (a quadratic in ``T``). ``confidence`` is the
   early bound over the late one: 1 for a certain date (a time limit), 0.5 when the late
   bound is twice the early one, 0 when the pace could be zero. The forecast carries ``s``
   and ``sd_rate`` (``daily_sd``, ``rate_sd``), so that the offer rule
   (:mod:`replenishment.risk`) can ask the same distribution any question, not only the 80 %
   one; and the same band for a whole new pack (``pack_days_low``/``high``: "you usually
   finish a box in 9-12 days").

5. **This household's pack** (``pack_factor``). What the tag counts is not always what the
   household gets out of a pack: two tablets on a heavy run, a tank refilled at 15 %, half
   doses. ``pack_factor`` is the share of the rated amount this household gets through before
   the pack is empty to them (learnt from its own past packs, :mod:`replenishment.timing`);
   the amount left is counted against ``pack_factor x capacity`` (a level against
   ``1 - pack_factor``). 1 (the catalog's amount) unless its own packs said otherwise.

Services (:func:`service_due`) are the same computation with the service interval as the
capacity, counted from the last service, ignoring consumable events.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from operator import itemgetter
from typing import Literal

__all__ = ["CYCLE_EVENTS", "DAY", "MONTH_DAYS", "Capacity", "Event", "Forecast", "MetricKind",
           "Rate", "Tuning", "Usage", "days_to_use", "estimate_rate", "forecast", "read_timeline",
           "service_due", "spread_bounds"]

DAY = 86_400.0
MONTH_DAYS = 365.2425 / 12
Z80 = 1.2815515655446004  # standard normal quantile: 10 % in each tail of an 80 % interval
WEEKEND = (5, 6)  # Saturday, Sunday with Monday = 0
CYCLE_EVENTS = frozenset({"refill", "replaced", "nfc_tap"})

Basis = Literal["usage", "time", "none"]
_time = itemgetter(0)


class MetricKind(StrEnum):
    """How a metric's value relates to use; the values are the metric names in ``readings``."""

    LEVEL = "level"  # fill 0-1: falls with use, jumps up on refill
    COUNT = "count"  # cumulative uses: may reset or go backwards
    FLOW = "flow_l"  # litres since the previous report (incremental)


@dataclass(frozen=True, slots=True)
class Event:
    """An event on the consumable: ``refill``, ``replaced`` or ``nfc_tap`` start a new cycle."""

    time: float
    kind: str


@dataclass(frozen=True, slots=True)
class Capacity:
    """How much a consumable holds, in the metric's unit, and/or how long it may stay fitted.

    ``amount`` is litres for ``flow_l``, uses for ``count`` and 1.0 (a full tank) for ``level``;
    ``months`` is a time limit from fitting. Whichever runs out first decides.
    """

    amount: float | None = None
    months: float | None = None

    @classmethod
    def from_catalog(cls, litres: float | None, uses: int | None, months: int | None,
                     level_based: bool) -> Capacity:
        """The capacity of a ``catalog.seed.CONSUMABLES`` row (litres, uses, months, level)."""
        amount = 1.0 if level_based else litres if litres is not None else uses
        return cls(None if amount is None else float(amount),
                   None if months is None else float(months))


@dataclass(frozen=True, slots=True)
class Tuning:
    """The knobs of the method, with the reason for each default."""

    min_weeks: int = 8  # the rate window: eight whole weeks, every weekday seen eight times,
    max_weeks: int = 26  # longer (up to half a year) when uses are rare and days noisy,
    target_rel_se: float = 0.1  # until the rate's standard error is about 10 % of it
    max_gap_s: float = 6 * 3600.0  # a longer silence is a gap, left out of the rate
    refill_jump: float = 0.1  # a level rising this much in one interval was refilled
    empty_level: float = 0.01  # at or below this the tank is empty: no use can be seen
    prior_days: float = 3.0  # the category prior weighs as much as this many days of data
    prior_spread: float = 0.6  # households differ from the category mean by about 60 %
    fallback_cv: float = 0.5  # day-to-day spread assumed before 3 full days were seen
    min_weekday_cover: float = 0.75  # days of data a weekday needs to have its own rate
    full_day: float = 0.9  # a day this covered counts in the day-to-day spread
    recent_days: int = 14  # a change of pace is looked for in the last two weeks,
    drift_z: float = 3.0  # which must differ from the weeks before by this many errors;
    unsettled: float = 1.0  # a smaller move beyond one error widens the pace's uncertainty
    idle_share: float = 0.25  # a whole day using less than this of a mean day is idle,
    away_chance: float = 0.01  # and a run of idle days this unlikely is the household away


DEFAULT_TUNING = Tuning()


@dataclass(frozen=True, slots=True)
class Usage:
    """What the timeline says, before any projection.

    ``days`` holds the local days of the longest rate window as ``(day number, amount, days
    covered)``; day numbers count from 1970-01-01 (a Thursday) in the household's local time,
    ``today`` is the one of ``now``. ``as_of`` is the last sample's time (``used`` is as of
    then). ``level`` is the current fill as ``(time, value)``: the median of the cycle's last
    three readings, so that one wild reading does not decide, with that reading's own time.
    """

    kind: MetricKind
    today: int
    cycle_start: float
    as_of: float
    used: float
    level: tuple[float, float] | None
    days: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True, slots=True)
class Rate:
    """The household's pace in metric units per day, and how sure we are of it.

    ``weekday_factors`` (Monday first) multiply ``per_day`` for each weekday; they average 1.
    ``daily_sd`` is the day-to-day spread of use, ``sd`` the uncertainty of ``per_day`` itself.
    """

    per_day: float
    sd: float
    daily_sd: float
    weekday_factors: tuple[float, ...]
    data_days: float
    prior_weight: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """How long the current consumable (or the time to a service) lasts.

    ``days_left`` is from ``now``; ``None`` means no end in sight (no use and no time limit).
    ``days_left_low``/``days_left_high`` bound an 80 % interval (``high`` is ``None`` when the
    pace could be zero). ``basis`` says what runs out first: ``usage``, ``time`` or ``none``.
    ``used`` and ``remaining`` are in the metric's unit (``remaining`` is ``None`` without an
    amount capacity), ``cycle_start`` is when the current consumable started. ``data_days``
    is how many days of this household's data the rate rests on and ``prior_weight`` the share
    of the category prior in it. ``daily_sd`` (the spread ``s`` of a day's use) and
    ``rate_sd`` (the uncertainty of the pace) are in metric units per day: with the rate they
    are the predictive distribution :mod:`replenishment.risk` reads. ``pack_days_low`` and
    ``pack_days_high`` are the 80 % interval of how long a whole new pack lasts at this pace
    (``None`` without an amount capacity or a pace).
    """

    rate_per_day: float
    used: float
    remaining: float | None
    days_left: float | None
    days_left_low: float | None
    days_left_high: float | None
    confidence: float
    basis: Basis
    data_days: float
    prior_weight: float
    cycle_start: float
    daily_sd: float = 0.0
    rate_sd: float = 0.0
    pack_days_low: float | None = None
    pack_days_high: float | None = None


def local_day(t: float, utc_offset_s: float) -> int:
    """The day number (days since 1970-01-01) of epoch second ``t`` in local time."""
    return int((t + utc_offset_s) // DAY)


def weekday(day: int) -> int:
    """Monday = 0 ... Sunday = 6 of a local day number (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def read_timeline(samples: Iterable[tuple[float, float]], kind: MetricKind, now: float, *,
                  events: Iterable[Event] = (), fitted_at: float | None = None,
                  utc_offset_s: float = 0.0, tuning: Tuning = DEFAULT_TUNING) -> Usage:
    """Turn raw samples into the current cycle's use and the rate window's days (step 1).

    Samples after ``now`` are ignored; the order of ``samples`` does not matter.
    """
    ordered = sorted(samples, key=_time)
    times = list(map(_time, ordered))
    end = bisect_right(times, now)
    starts = sorted({e.time for e in events if e.kind in CYCLE_EVENTS and e.time <= now}
                    | ({fitted_at} if fitted_at is not None and fitted_at <= now else set()))
    today = local_day(now, utc_offset_s)
    window_start = (today + 1 - 7 * tuning.max_weeks) * DAY - utc_offset_s
    # Read from the earlier of the window and the last known start: a level's refill without
    # an event can only move the cycle start later, found on the way. With no known start the
    # whole timeline is read.
    scan_from = min(window_start, starts[-1]) if starts else -math.inf
    first = max(0, bisect_left(times, scan_from) - 1)
    if first >= end:
        at = starts[-1] if starts else now
        return Usage(kind, today, at, at, 0.0, None, ())

    t0, v0 = ordered[first]
    si = bisect_right(starts, t0)  # the next cycle start after the first sample
    cycle_start = starts[si - 1] if si else t0
    next_start = starts[si] if si < len(starts) else math.inf
    used = 0.0
    if kind is MetricKind.FLOW and first == 0 and si and t0 > cycle_start:
        # The litres of the very first report flowed since an unknown earlier report: after
        # the fitting if the report is (not in the rate: their interval is unknown).
        used = max(0.0, v0)
    flow, count, level_kind = (kind is MetricKind.FLOW, kind is MetricKind.COUNT,
                               kind is MetricKind.LEVEL)
    max_gap, jump, empty = tuning.max_gap_s, tuning.refill_jump, tuning.empty_level
    shift, two_days = 2 * utc_offset_s, 2 * DAY  # for the local day of an interval's midpoint
    days: list[tuple[int, float, float]] = []
    day, day_amount, day_cover = 0, 0.0, 0.0  # the day being added up (midpoints only grow)
    for t1, v1 in ordered[first + 1:end]:
        dt = t1 - t0
        valid = dt <= max_gap
        refilled = False
        if flow:
            amount = v1 if v1 > 0.0 else 0.0
        elif count:
            amount = v1 - v0
            if amount < 0.0:  # reset or swapped counter: the uses in this interval are unknown
                amount, valid = 0.0, False
        else:
            amount = v0 - v1
            if -amount >= jump:
                amount, valid, refilled = 0.0, False, True
            elif v0 <= empty:
                valid = False  # an empty tank hides the household's pace
        if next_start <= t1:
            while si < len(starts) and starts[si] <= t1:
                cycle_start = starts[si]
                si += 1
            next_start = starts[si] if si < len(starts) else math.inf
            if level_kind:
                amount, valid = 0.0, False  # refilled at some point inside: not use
            used = amount * (t1 - cycle_start) / dt if dt > 0 else 0.0
        elif refilled:
            cycle_start, used = t1, 0.0
        else:
            used += amount
        if valid and t1 > window_start:
            mid_day = int((t0 + t1 + shift) // two_days)
            if mid_day != day:
                if day_cover > 0:
                    days.append((day, day_amount, day_cover / DAY))
                day, day_amount, day_cover = mid_day, 0.0, 0.0
            day_amount += amount
            day_cover += dt
        t0, v0 = t1, v1
    if day_cover > 0:
        days.append((day, day_amount, day_cover / DAY))

    if si < len(starts):  # fitted after the last sample: nothing seen of it yet
        return Usage(kind, today, starts[-1], starts[-1], 0.0, None, tuple(days))
    level = None
    if kind is MetricKind.LEVEL:
        recent = [(v, t) for t, v in ordered[max(first, end - 3):end] if t >= cycle_start]
        value, at = sorted(recent)[len(recent) // 2] if recent else ordered[end - 1][::-1]
        level = (at, value)
    return Usage(kind, today, cycle_start, t0, max(0.0, used), level, tuple(days))


def estimate_rate(usage: Usage, *, prior_rate_per_day: float | None = None,
                  tuning: Tuning = DEFAULT_TUNING) -> Rate:
    """The household's pace: weekday-balanced mean of the window, blended with a prior (step 2).

    The window is the last ``min_weeks`` weeks; when the days are so noisy for their mean (rare
    uses: a dishwasher run every other day) that the rate's standard error exceeds
    ``target_rel_se`` of it, the window grows to as many whole weeks as would bring it there,
    up to ``max_weeks``. With no data and no prior the rate is 0 (nothing to go on).
    """
    fallback = prior_rate_per_day or 0.0
    away = _away_days(usage, tuning)
    weeks = tuning.min_weeks
    seen = _observe(usage, usage.today + 1 - 7 * weeks, fallback, tuning, away)
    if seen.per_day > 0 and seen.data_days > 0:
        relative_se = seen.daily_sd / (seen.per_day * math.sqrt(seen.data_days))
        if relative_se > tuning.target_rel_se:
            needed = (seen.daily_sd / (seen.per_day * tuning.target_rel_se)) ** 2
            longer = min(tuning.max_weeks, math.ceil(needed / 7))
            if longer > weeks:
                weeks = longer
                seen = _observe(usage, usage.today + 1 - 7 * weeks, fallback, tuning, away)
    seen, unsettled = _lately(usage, seen, usage.today + 1 - 7 * weeks, fallback, tuning, away)

    if prior_rate_per_day is None:
        prior_weight, prior, prior_sd = 0.0, 0.0, 0.0
    else:
        prior_weight = tuning.prior_days / (tuning.prior_days + seen.data_days)
        prior, prior_sd = prior_rate_per_day, tuning.prior_spread * prior_rate_per_day
    own_weight = 1.0 - prior_weight
    per_day = own_weight * seen.per_day + prior_weight * prior
    observed_se = seen.daily_sd / math.sqrt(seen.data_days) if seen.data_days > 0 else 0.0
    sd = math.hypot(own_weight * observed_se, prior_weight * prior_sd, own_weight * unsettled)
    return Rate(per_day, sd, seen.daily_sd, seen.weekday_factors, seen.data_days, prior_weight)


def _away_days(usage: Usage, tuning: Tuning) -> frozenset[int]:
    """Days the household was away: runs of idle whole days longer than its own idle days
    make likely (their share to the power of the run's length under ``away_chance``)."""
    full = [(day, a) for day, a, c in usage.days if c >= tuning.full_day]
    if len(full) < 7:
        return frozenset()
    mean = sum(a for _, a in full) / len(full)
    if mean <= 0.0:
        return frozenset()
    idle = [(day, a < tuning.idle_share * mean) for day, a in full]
    share = sum(i for _, i in idle) / len(idle)
    if share >= 1.0:
        return frozenset()
    need = 1 if share <= 0.0 else max(1, math.ceil(math.log(tuning.away_chance)
                                                   / math.log(share)))
    away: set[int] = set()
    run: list[int] = []
    for day, is_idle in [*idle, (math.inf, False)]:
        if is_idle and run and day == run[-1] + 1:
            run.append(int(day))
            continue
        if len(run) >= need:
            away.update(run)
        run = [int(day)] if is_idle else []
    return frozenset(away)


def _lately(usage: Usage, seen: Rate, first_day: int, fallback_rate: float, tuning: Tuning,
            away: frozenset[int]) -> tuple[Rate, float]:
    """The last ``recent_days`` days' own rate if it differs from the days before them by
    more than ``drift_z`` standard errors (of the window's day-to-day spread); else ``seen``,
    with how much more than one standard error they differ by (a move not yet sure)."""
    split = usage.today + 1 - tuning.recent_days
    recent = _observe(usage, split, fallback_rate, tuning, away)
    before = _observe(usage, first_day, fallback_rate, tuning, away, until=split)
    if recent.data_days < 7 or before.data_days < 14 or seen.daily_sd <= 0.0:
        return seen, 0.0
    error = seen.daily_sd * math.sqrt(1 / recent.data_days + 1 / before.data_days)
    moved = abs(recent.per_day - before.per_day)
    if moved > tuning.drift_z * error:  # the new pace, in the window's weekly shape
        return replace(recent, weekday_factors=seen.weekday_factors), 0.0
    return seen, tuning.unsettled * max(0.0, moved - error)


def _observe(usage: Usage, first_day: int, fallback_rate: float, tuning: Tuning,
             away: frozenset[int] = frozenset(), until: int | None = None) -> Rate:
    """The household's own weekday-balanced rate from local day ``first_day`` (to ``until``,
    not included), without the days it was away (no prior)."""
    days = [d for d in usage.days if d[0] >= first_day and d[0] not in away
            and (until is None or d[0] < until)]
    amount = [0.0] * 7
    cover = [0.0] * 7
    for day, a, c in days:
        amount[weekday(day)] += a
        cover[weekday(day)] += c
    data_days = sum(cover)

    def pooled(weekdays: Sequence[int]) -> float | None:
        c = sum(cover[w] for w in weekdays)
        return sum(amount[w] for w in weekdays) / c if c >= tuning.min_weekday_cover else None

    overall = sum(amount) / data_days if data_days > 0 else 0.0
    by_kind = {False: pooled(range(5)), True: pooled(WEEKEND)}
    weekday_rates = []
    for w in range(7):
        own = amount[w] / cover[w] if cover[w] >= tuning.min_weekday_cover else None
        kind_rate = by_kind[w in WEEKEND]
        weekday_rates.append(own if own is not None
                             else kind_rate if kind_rate is not None else overall)
    observed = max(0.0, sum(weekday_rates) / 7)
    factors = (tuple(max(0.0, r) / observed for r in weekday_rates) if observed > 0
               else (1.0,) * 7)

    full = [a / c for _, a, c in days if c >= tuning.full_day]
    if len(full) >= 3:
        mean = sum(full) / len(full)
        daily_sd = math.sqrt(sum((x - mean) ** 2 for x in full) / (len(full) - 1))
    else:
        daily_sd = tuning.fallback_cv * (observed or fallback_rate)
        if usage.kind is MetricKind.COUNT:  # whole uses: at least Poisson spread
            daily_sd = max(daily_sd, math.sqrt(observed or fallback_rate))
    return Rate(observed, 0.0, daily_sd, factors, data_days, 0.0)


def days_to_use(amount: float, rate: Rate, start: float, utc_offset_s: float = 0.0) -> float | None:
    """Days from ``start`` until ``amount`` is used at ``rate``, weekday by weekday.

    The rest of the start day goes at that weekday's rate in proportion to the time left;
    whole weeks are skipped at once. ``None`` when the rate is zero.
    """
    if amount <= 0.0:
        return 0.0
    if rate.per_day <= 0.0:
        return None
    day = local_day(start, utc_offset_s)
    rest = 1.0 - ((start + utc_offset_s) / DAY - day)
    today = rate.per_day * rate.weekday_factors[weekday(day)]
    if today * rest >= amount:
        return amount / today
    amount -= today * rest
    elapsed = rest
    weeks = math.floor(amount / (7 * rate.per_day))
    amount -= weeks * 7 * rate.per_day
    elapsed += 7 * weeks
    for step in range(1, 8):
        per_day = rate.per_day * rate.weekday_factors[weekday(day + step)]
        if per_day >= amount:
            return elapsed + (amount / per_day if per_day > 0.0 else 0.0)
        amount -= per_day
        elapsed += 1.0
    return elapsed + amount / rate.per_day  # rounding left a crumb


def spread_bounds(amount: float, rate: Rate, z: float = Z80) -> tuple[float, float | None]:
    """The days at which the upper and the lower edge of the use band reach ``amount``.

    Use over ``T`` days is ``r T ± z sqrt(T s² + T² v)`` (``s`` daily spread, ``v`` the rate's
    variance). Squaring ``r T - amount = ∓ z sqrt(...)`` gives
    ``(r² - z² v) T² - (2 r amount + z² s²) T + amount² = 0``; its smaller root is the early
    bound, its larger root the late one (none when the rate could be zero: ``r <= z sqrt(v)``).
    """
    if amount <= 0.0:
        return 0.0, 0.0
    r, s2, v = rate.per_day, rate.daily_sd ** 2, rate.sd ** 2
    a = r * r - z * z * v
    b = 2 * r * amount + z * z * s2
    root = math.sqrt(max(0.0, b * b - 4 * a * amount * amount))
    low = 2 * amount * amount / (b + root) if b + root > 0 else math.inf
    high = (b + root) / (2 * a) if a > 0 else None
    return low, high


def forecast(samples: Iterable[tuple[float, float]], kind: MetricKind, capacity: Capacity,
             now: float, *, events: Iterable[Event] = (), fitted_at: float | None = None,
             prior_rate_per_day: float | None = None, utc_offset_s: float = 0.0,
             pack_factor: float = 1.0, tuning: Tuning = DEFAULT_TUNING) -> Forecast:
    """Days until the current consumable runs out, with an 80 % interval (steps 1-5).

    ``samples`` are one metric's ``(epoch seconds, value)`` for one product instance;
    ``events`` the events on this consumable (``refill``, ``replaced``, ``nfc_tap``);
    ``fitted_at`` when the current one was fitted, if known (otherwise the cycle starts at the
    last event, refill or first sample); ``prior_rate_per_day`` the category's average pace in
    metric units per day; ``utc_offset_s`` the household's offset from UTC, for its weekdays;
    ``pack_factor`` the share of the rated amount this household gets out of a pack (step 5).
    """
    usage = read_timeline(samples, kind, now, events=events, fitted_at=fitted_at,
                          utc_offset_s=utc_offset_s, tuning=tuning)
    rate = estimate_rate(usage, prior_rate_per_day=prior_rate_per_day, tuning=tuning)

    remaining: float | None = None
    usage_days: tuple[float | None, float, float | None] = (None, math.inf, None)
    pack: tuple[float | None, float | None] = (None, None)
    if capacity.amount is not None:
        seen = usage.as_of
        if kind is MetricKind.LEVEL:
            seen, left = usage.level if usage.level is not None else (seen, capacity.amount)
            left = max(0.0, left - capacity.amount * (1.0 - pack_factor))
        else:
            left = max(0.0, capacity.amount * pack_factor - usage.used)
        stale = max(0.0, (now - seen) / DAY)  # days unseen since then: used at the same pace
        point = days_to_use(left, rate, seen, utc_offset_s)
        low, high = spread_bounds(left, rate)
        if point is not None:  # centre the band on the weekday-aware point
            centre = left / rate.per_day
            low, high = point - (centre - low), None if high is None else point + high - centre
        usage_days = (_ahead(point, stale), max(0.0, low - stale), _ahead(high, stale))
        remaining = max(0.0, left - rate.per_day * stale)
        if rate.per_day > 0.0:
            pack = spread_bounds(capacity.amount * pack_factor, rate)

    time_days: float | None = None
    if capacity.months is not None:
        ends = usage.cycle_start + capacity.months * MONTH_DAYS * DAY
        time_days = max(0.0, (ends - now) / DAY)
        if pack[0] is not None:  # a whole pack lasts no longer than its months either
            pack_months = capacity.months * MONTH_DAYS
            pack = (min(pack[0], pack_months),
                    pack_months if pack[1] is None else min(pack[1], pack_months))

    days, low, high = usage_days
    basis: Basis = "usage" if days is not None else "none"
    if time_days is not None:
        if days is None or time_days < days:
            days, basis = time_days, "time"
        low = min(low, time_days)
        high = time_days if high is None else min(high, time_days)
    if math.isinf(low):
        low = days if days is not None else 0.0

    confidence = 0.0
    if days is not None and high is not None:
        confidence = 1.0 if high <= low else low / high
    used = usage.used + rate.per_day * max(0.0, (now - usage.as_of) / DAY)
    return Forecast(rate.per_day, used, remaining, days, None if days is None else low, high,
                    confidence, basis, rate.data_days, rate.prior_weight, usage.cycle_start,
                    rate.daily_sd, rate.sd, *pack)


def service_due(samples: Iterable[tuple[float, float]], kind: MetricKind, interval: Capacity,
                since: float, now: float, *, prior_rate_per_day: float | None = None,
                utc_offset_s: float = 0.0, tuning: Tuning = DEFAULT_TUNING) -> Forecast:
    """Days until a service is due: ``interval`` of use and/or months since ``since``.

    ``since`` is the last service, or the install for the first one. ``days_left`` of the
    result is the days until due (0 when overdue). Consumable events do not matter here: a
    new pod box does not reset the descaling count. Use-based services need a ``count`` or
    ``flow_l`` metric; a floor's care by time needs no samples at all.
    """
    if kind is MetricKind.LEVEL and interval.amount is not None:
        raise ValueError("a service by use needs a count or flow metric, not a level")
    return forecast(samples, kind, interval, now, fitted_at=since,
                    prior_rate_per_day=prior_rate_per_day, utc_offset_s=utc_offset_s,
                    tuning=tuning)


def _ahead(days: float | None, stale: float) -> float | None:
    return None if days is None else max(0.0, days - stale)
