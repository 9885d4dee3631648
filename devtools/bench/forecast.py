"""``homeloop bench forecast``: the forecast, and when its offers reach the customer, on
households whose truth is known.

**Households.** Each gets one consumable from four categories (a water filter by litres and
months, dishwasher tablets by uses, laundry detergent by tank level, coffee pods by uses) and
its own pace: the category's average times a factor drawn log-uniformly from 0.3 to 3, so
that the category average is realistically wrong for most homes. Its tag reports every hour
in UTC+8: a morning/evening daily shape, weekends x1.3, each day x lognormal (sigma 0.25),
within the day lognormal noise (sigma 0.35) on litres or Poisson-distributed whole uses (a
wash takes 1.5-3 % of the tank). Up to eight weeks of history come before its first pack
(earlier refills, a counter reset in one trace in four), and one trace in three has a silent
gap of 1-4 days; a flow reading after a gap carries the litres of the gap, as the tag contract
says. Each household goes through :data:`PACKS` packs in a row, fitting the next one the
moment the last runs out. Four kinds, in turn:

- *regular*: the above;
- *new baby*: from a moment between two weeks before its first pack and the middle of its
  second, it uses x1.5-2.2 as much;
- *away on holiday*: for 5-14 days somewhere in its packs it uses nothing;
- *"still have some"*: answers "I still have some" to an offer that reaches it more than
  :data:`SNOOZE_EARLY_DAYS` days before it had to; and a box goes further for them than
  its count (tablets and pods: x1.1-1.3 of the uses the tag counts; the tank and the
  filter: as rated).

Where a new one comes from is the catalog's rule (:mod:`catalog.reach`, the seed's stores,
the offers' ``AT_HOME`` order, a customer not in the store): the home store if it has it
(in a day), else online (3 days), else a store nearby (11 km from Pudong to Xuhui: 2 days);
each store has it with a chance of 3 in 4, the online store 9 in 10.

**What is measured** (per pack; all packs of all households):

mae_days, naive, ratio
    When half of a pack is used, the predicted empty date against the true one: ours
    (:func:`replenishment.forecast.forecast`, the category average as its prior, the pack
    factor learnt so far) and naive (fitted time + capacity / category average, capped by the
    months). ``ratio`` = naive / ours.
late, early_days, offers_per_pack
    Each rule is checked as the offer evaluation would check it, from the moment a pack is
    fitted: our forecast of the moment (what the forecast service reads then: eight weeks of
    hourly readings and the rollup's carry), every day, and to the hour between the last two
    checks once it fires. The offer reaches the customer then, or at the end of their quiet
    hours (22:00-08:00 local) as the product holds it back; it is *late* when that is after
    the empty moment minus the lead time (the customer runs out before a new one can be
    there), or when no offer came at all. ``early_days`` is the median, over the offers in
    time, of the days between the offer reaching them and the latest moment that would still
    have been in time. ``offers_per_pack`` counts an offer per cycle the forecast sees in a
    pack (one cycle key per offer, as the offers table has).
the rules
    *ours*: :func:`replenishment.risk.due` with the category's threshold, the household's
    own shift and pack factor, learnt pack by pack as :mod:`replenishment.timing` does from
    the answers and the packs' ends, for a new one that would reach them were the offer left
    for the next hour's check (the end of their quiet hours, if that falls in them); *old*:
    the forecast's days left <= lead time + 2 days (the design's safety margin), no learning;
    *oracle*: a forecast told each household's true pace now (with the drift so far, not a
    holiday to come), its true pack and its true day-to-day spread, the same risk rule at a
    threshold chosen from a fine grid to be late as often as ours: what is left to the
    households' own chance.

``--tune`` sweeps the category thresholds of our rule (without the households' learning) and
prints each category's late and early days per threshold: how :data:`risk.THRESHOLDS` were
set (on another seed than the one reported).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from statistics import NormalDist

from catalog.reach import AT_HOME, Store, rank_key, reach
from catalog.seed import STORES
from replenishment import risk, timing
from replenishment.forecast import (
    DAY,
    MONTH_DAYS,
    Capacity,
    Event,
    Forecast,
    MetricKind,
    forecast,
)

HOUR = 3600.0
UTC_OFFSET_S = 8 * 3600.0  # the simulated fleet lives in UTC+8, like the device simulator's
PACKS = 3
OLD_MARGIN_DAYS = 2.0  # the old rule: days left <= lead time + this
SNOOZE_EARLY_DAYS = 2.0
RAW_WEEKS = 8  # the forecast service reads eight weeks of raw readings, as here
# The rule is checked every day from the fitting, and to the hour between two checks (the
# product evaluates every 15 minutes): an offer is decided when waiting for the next hour's
# check would be too late, counting the customers' quiet hours, which hold an offer back.
QUIET = (22, 8)  # the customers' default quiet hours, local
# Relative activity by local hour (morning and evening peaks), as in the device simulator.
HOUR_SHAPE = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 1.8, 1.2, 0.6, 0.5, 0.7, 1.3, 0.9, 0.5,
              0.5, 0.6, 0.9, 1.6, 1.9, 1.4, 1.0, 0.6, 0.3)
WEEKEND_FACTOR = 1.3
# Scale so that a week of hours at these weights averages exactly the household's daily rate.
_WEEK_NORM = sum(HOUR_SHAPE) * (5 + 2 * WEEKEND_FACTOR) / 7
DAY_SIGMA = 0.25
HOUR_SIGMA = 0.35
EPOCH_2025 = 1_735_689_600.0
KINDS = ("regular", "new baby", "away on holiday", "still have some")
TUNE_GRID = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1)
ORACLE_GRID = tuple(0.002 * 1.08 ** k for k in range(76))  # 0.2 % to about 60 %
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Category:
    """A consumable as the catalog has it, and the average household's pace with it."""

    name: str
    catalog: str  # its catalog category: the key of its threshold
    kind: MetricKind
    capacity: Capacity
    mean_per_day: float  # category average in metric units per day: prior and naive baseline
    fit_event: str
    per_use: tuple[float, float] | None = None  # level used by one use (tank categories)
    uses_per_day: float = 0.0  # tank categories: average uses per day


CATEGORIES = (
    Category("water filter 2000 L / 6 months", "water_filter", MetricKind.FLOW,
             Capacity(2000.0, 6.0), 11.0, "replaced"),
    Category("dishwasher tablets 30 uses", "dishwasher_detergent", MetricKind.COUNT,
             Capacity(30.0), 0.9, "nfc_tap"),
    Category("laundry detergent tank level", "laundry_detergent", MetricKind.LEVEL,
             Capacity(1.0), 0.7 * 0.0225, "refill", per_use=(0.015, 0.03), uses_per_day=0.7),
    Category("coffee pods 50 uses", "coffee_pods", MetricKind.COUNT, Capacity(50.0), 3.0,
             "nfc_tap"),
)


@dataclass(frozen=True, slots=True)
class Household:
    category: Category
    kind: str
    pace: float  # x the category's average
    lead_days: int
    source: str
    pack_factor: float  # the truth: what a pack gives them, over what the tag counts
    baby_at: float = math.inf
    baby_factor: float = 1.0
    away: tuple[float, float] = (math.inf, math.inf)

    @property
    def per_day(self) -> float:
        return self.category.mean_per_day * self.pace

    def pace_at(self, t: float) -> float:
        """The true expected use per day at ``t``: the drift so far, nothing while away."""
        if self.away[0] <= t < self.away[1]:
            return 0.0
        return self.per_day * (self.baby_factor if t >= self.baby_at else 1.0)


@dataclass(slots=True)
class Pack:
    """One pack from fitting to the moment it is empty to the household (the truth)."""

    fitted_at: float
    empty_at: float
    half_at: float
    by_time: bool  # its months ran out first
    tag_used: float  # what the tag counted of it by then
    hours: list[float] = field(default_factory=list)  # the hours it was in use
    used: list[float] = field(default_factory=list)  # true use since fitting at each


@dataclass(slots=True)
class Timeline:
    household: Household
    samples: list[tuple[float, float]]
    times: list[float]
    flow_sums: list[float]  # running total of flow samples (for the rollup's carry)
    events: list[Event]
    packs: list[Pack]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small hourly means here."""
    if mean <= 0.0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _activity(t: float) -> float:
    """Expected share of a day's use in the hour ending at ``t`` (a week averages 1/24)."""
    local = t + UTC_OFFSET_S
    weekend = (int(local // DAY) + 3) % 7 >= 5
    return (HOUR_SHAPE[int(local % DAY // HOUR)] * (WEEKEND_FACTOR if weekend else 1.0)
            / _WEEK_NORM)


# The expected activity of each hour of the week (Monday 00:00-01:00 local first), and its
# running total, for the oracle's expected use over the next hours.
_WEEK = [_activity(h * HOUR - UTC_OFFSET_S + 4 * DAY + HOUR) for h in range(168)]
_WEEK_SUM = [sum(_WEEK[:k]) for k in range(169)]


def _activity_sum(t: float, hours: int) -> float:
    """Expected share of a day's use in the ``hours`` whole hours after ``t`` (on the hour)."""
    first = round((t + UTC_OFFSET_S - 4 * DAY) / HOUR) % 168  # 1970-01-05 was a Monday
    weeks, rest = divmod(hours, 168)
    end = first + rest
    part = (_WEEK_SUM[end] - _WEEK_SUM[first] if end <= 168
            else _WEEK_SUM[168] - _WEEK_SUM[first] + _WEEK_SUM[end - 168])
    return weeks * _WEEK_SUM[168] + part


_STORES = [Store(s[0], s[1], None, s[3], s[4], s[5], s[6], "Asia/Shanghai") for s in STORES]


def _source(rng: random.Random) -> tuple[str, int]:
    """Where a new one comes from, and in how many days: the catalog's rule."""
    home = rng.choice([s.id for s in _STORES if not s.online])
    reached = reach(_STORES, home, 50.0, at_store=False)
    stocked = [s for s in reached if s.kind in AT_HOME
               and rng.random() < (0.9 if s.kind == "online" else 0.75)]
    if not stocked:
        stocked = [s for s in reached if s.kind == "online"]
    best = min(stocked, key=lambda s: rank_key(s, AT_HOME))
    return best.kind, best.days


def make_household(category: Category, kind: str, rng: random.Random) -> Household:
    pace = math.exp(rng.uniform(math.log(0.3), math.log(3.0)))
    source, lead = _source(rng)
    factor = 1.0
    if kind == "still have some" and category.kind is MetricKind.COUNT:
        factor = rng.uniform(1.1, 1.3)
    return Household(category, kind, pace, lead, source, factor)


def _life_days(h: Household) -> float:
    capacity = h.category.capacity
    days = (capacity.amount or math.inf) * h.pack_factor / h.per_day
    return min(days, capacity.months * MONTH_DAYS if capacity.months else math.inf)


def simulate(h: Household, rng: random.Random) -> Timeline:
    """Hour by hour from its history to the end of its last pack."""
    category, capacity = h.category, h.category.capacity
    first_fit = EPOCH_2025 + rng.randrange(0, 365 * 24) * HOUR
    t = first_fit - rng.randint(0, 56) * DAY - HOUR  # the first step lands on the hour
    life = _life_days(h) * DAY
    if h.kind == "new baby":
        h = _with(h, baby_at=rng.uniform(first_fit - 14 * DAY, first_fit + 1.5 * life),
                  baby_factor=rng.uniform(1.5, 2.2))
    elif h.kind == "away on holiday":
        start = rng.uniform(first_fit, first_fit + (PACKS - 0.5) * life)
        h = _with(h, away=(start, start + rng.uniform(5.0, 14.0) * DAY))
    end_guess = first_fit + PACKS * life
    gap = (0.0, 0.0)
    if rng.random() < 1 / 3:
        gap_start = rng.uniform(t, end_guess)
        gap = (gap_start, gap_start + rng.uniform(1.0, 4.0) * DAY)
    reset_at = (rng.uniform(t, end_guess)
                if category.kind is MetricKind.COUNT and rng.random() < 0.25 else math.inf)
    amount = (capacity.amount if capacity.amount is not None else math.inf) * h.pack_factor
    months_s = capacity.months * MONTH_DAYS * DAY if capacity.months else math.inf

    samples: list[tuple[float, float]] = []
    events: list[Event] = []
    packs: list[Pack] = []
    level, counter, carried = rng.uniform(0.3, 1.0), float(rng.randint(0, 3000)), 0.0
    day_factor, factor_day = 1.0, -1
    pack: Pack | None = None
    used = 0.0
    while True:
        t += HOUR
        day = int((t + UTC_OFFSET_S) // DAY)
        if day != factor_day:
            day_factor, factor_day = rng.lognormvariate(-DAY_SIGMA ** 2 / 2, DAY_SIGMA), day
        pace = h.pace_at(t - HOUR / 2)
        expected = pace * _activity(t) * day_factor
        if category.kind is MetricKind.FLOW:
            use = expected * rng.lognormvariate(-HOUR_SIGMA ** 2 / 2, HOUR_SIGMA) if pace else 0.0
        elif category.kind is MetricKind.COUNT:
            use = float(_poisson(rng, expected))
            counter += use
            if t >= reset_at:
                counter, reset_at = use, math.inf
        else:
            low, high = category.per_use or (0.0, 0.0)
            uses = _poisson(rng, expected / category.mean_per_day * category.uses_per_day)
            use = sum(rng.uniform(low, high) for _ in range(uses))
            level = max(0.0, level - use)
            if pack is None and level < 0.08 and rng.random() < 0.2:
                level = 1.0
                events.append(Event(t, "refill"))
        carried += use
        if pack is None and t == first_fit:
            events.append(Event(t, category.fit_event))
            level, used = 1.0, 0.0
            pack = Pack(t, math.nan, math.nan, False, 0.0)
        elif pack is not None:
            before, used = used, used + use
            ends = pack.fitted_at + months_s
            if used >= amount or t >= ends:
                share = (amount - before) / use if used >= amount and use > 0 else 1.0
                empty_at = min(t - HOUR + share * HOUR, ends)
                pack.empty_at, pack.by_time = empty_at, empty_at == ends
                pack.tag_used = min(used, amount) if not pack.by_time else before + use * (
                    (empty_at - (t - HOUR)) / HOUR)
                if math.isnan(pack.half_at):
                    pack.half_at = pack.fitted_at
                packs.append(pack)
                if len(packs) == PACKS:
                    break
                overflow = (used - amount if used >= amount
                            else use * (t - empty_at) / HOUR)
                events.append(Event(empty_at, category.fit_event))
                pack, used = Pack(empty_at, math.nan, math.nan, False, 0.0), overflow
                if category.kind is MetricKind.LEVEL:
                    level = 1.0 - overflow
            else:
                share_used = max(used / amount, (t - pack.fitted_at) / months_s)
                if math.isnan(pack.half_at) and share_used >= 0.5:
                    pack.half_at = t
            pack.hours.append(t)
            pack.used.append(used)
        if gap[0] <= t < gap[1]:
            continue
        if category.kind is MetricKind.FLOW:
            samples.append((t, round(carried, 3)))
        elif category.kind is MetricKind.COUNT:
            samples.append((t, counter))
        else:
            samples.append((t, round(level + rng.gauss(0.0, 0.002), 4)))
        carried = 0.0
    sums, total = [], 0.0
    for _, v in samples:
        total += max(0.0, v)
        sums.append(total)
    return Timeline(h, samples, [s[0] for s in samples], sums, events, packs)


def _with(h: Household, **changes: object) -> Household:
    return replace(h, **changes)  # type: ignore[arg-type]


# ---- our forecast, as the forecast service would compute it at any hour -------------------


class Forecaster:
    """Our forecast of one household at a moment, from what the service would read then:
    eight weeks of raw readings before it (on the hour) and, for a cycle that began before
    them, the rollup's carry (litres since the fitting; the counter at the fitting)."""

    def __init__(self, timeline: Timeline) -> None:
        self.tl = timeline
        self.cache: dict[tuple[float, float], Forecast] = {}
        self.calls = 0

    def at(self, now: float, pack: Pack, pack_factor: float = 1.0) -> Forecast:
        key = (now, round(pack_factor, 6))
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._forecast(now, pack, pack_factor)
        return found

    def _forecast(self, now: float, pack: Pack, pack_factor: float) -> Forecast:
        self.calls += 1
        tl, category = self.tl, self.tl.household.category
        window = now - RAW_WEEKS * 7 * DAY
        window -= window % HOUR
        first, end = bisect_left(tl.times, window), bisect_right(tl.times, now)
        samples = tl.samples[first:end]
        fitted = pack.fitted_at
        if fitted < window and category.kind is MetricKind.FLOW:
            since = bisect_left(tl.times, fitted - fitted % HOUR)
            carry = (tl.flow_sums[first - 1] - (tl.flow_sums[since - 1] if since else 0.0)
                     if first > since else 0.0)
            samples = [(window - 1.0, carry), *samples]
        elif fitted < window and category.kind is MetricKind.COUNT:
            before = bisect_left(tl.times, fitted - fitted % HOUR) - 1
            if before >= 0:
                samples = [(fitted, tl.samples[before][1]), *samples]
        events = [e for e in tl.events if window - 60 * DAY <= e.time <= now]
        return forecast(samples, category.kind, category.capacity, now, events=events,
                        fitted_at=fitted, prior_rate_per_day=category.mean_per_day,
                        utc_offset_s=UTC_OFFSET_S, pack_factor=pack_factor)


def _empty(f: Forecast, metric: str) -> risk.EmptyTime | None:
    if f.days_left is None:
        return None
    return risk.EmptyTime.of(f.days_left, f.basis, f.rate_per_day, f.daily_sd, f.rate_sd,
                             metric)


# ---- the rules ------------------------------------------------------------------------------

Fires = Callable[[float], bool]


@dataclass(slots=True)
class Offer:
    at: float | None  # when it reached the customer (None: never, before the pack ran out)
    offers: int = 1


def first_offer(pack: Pack, fires: Fires) -> float | None:
    """The first hour from the fitting at which ``fires``: checked daily, then the hour
    between the last two checks."""
    start = math.ceil(pack.fitted_at / HOUR) * HOUR
    t, previous = start, None
    while t < pack.empty_at:
        if fires(t):
            if previous is None:
                return t
            low, high = previous, t  # fires at high, not at low
            while high - low > HOUR:
                mid = low + math.floor((high - low) / 2 / HOUR) * HOUR
                if fires(mid):
                    high = mid
                else:
                    low = mid
            return high
        previous = t
        t += DAY
    return None


@dataclass(slots=True)
class PackResult:
    """What happened in one pack under each rule."""

    household: Household
    category: str
    pack_no: int
    lead: float
    fitted_at: float
    empty_at: float
    err_ours: float
    err_naive: float
    ours: float | None
    ours_offers: int
    ours_plain: float | None  # our rule without the household's learning
    old: float | None
    oracle_hours: list[float]  # the hours the oracle's risk was above 0 ...
    oracle_top: list[float]  # ... and its running maximum by then
    shift: float  # the household's threshold shift when the pack began
    pack_factor: float  # the household's learnt pack factor when the pack began
    snoozed_before: bool  # an earlier pack of this household was answered "still have some"
    tuned: dict[float, float | None] = field(default_factory=dict)  # threshold -> offer

    @property
    def latest(self) -> float:
        return self.empty_at - self.lead * DAY

    def late(self, at: float | None) -> bool:
        """Whether an offer decided ``at`` reached them too late (quiet hours held it back)."""
        return at is None or arrival(at) > self.latest

    def early(self, at: float | None) -> float | None:
        return None if at is None or self.late(at) else (self.latest - arrival(at)) / DAY


def _oracle_risk(tl: Timeline, pack: Pack, lead: float) -> tuple[list[float], list[float]]:
    """The oracle's risk of running out before a new one reaches them if the offer waited
    for the next hour, hourly over the pack, as a running maximum (so a threshold's first
    offer is a bisection)."""
    h, category = tl.household, tl.household.category
    amount = (category.capacity.amount or math.inf) * h.pack_factor
    ends = pack.fitted_at + (category.capacity.months * MONTH_DAYS * DAY
                             if category.capacity.months else math.inf)
    hours: list[float] = []
    tops: list[float] = []
    top = 0.0
    for t, used in zip(pack.hours, pack.used, strict=True):
        there = reached_if_waiting(t) + lead * DAY
        if there >= ends:
            p = 1.0
        else:
            pace = h.pace_at(t)
            left = amount - used
            if pace <= 0.0 or left / pace > lead + 20.0:  # nothing used, or far off
                p = 0.0
            else:
                horizon = round((there - t) / HOUR)
                mean = pace * _activity_sum(t, horizon)
                sd = math.sqrt(horizon / 24 * _day_variance(category, pace))
                p = 1.0 - _NORMAL.cdf((left - mean) / sd) if sd > 0 else float(mean >= left)
        top = max(top, p)
        if top > 0.0:
            hours.append(t)
            tops.append(top)
    return hours, tops


def _day_variance(category: Category, pace: float) -> float:
    """The variance of a day's use at ``pace``: the day's lognormal factor, plus whole uses."""
    between_days = pace * pace * (math.exp(DAY_SIGMA ** 2) - 1.0)
    if category.kind is MetricKind.COUNT:
        return between_days + pace
    if category.kind is MetricKind.LEVEL and category.per_use:
        low, high = category.per_use
        uses = pace / category.mean_per_day * category.uses_per_day
        return between_days + uses * (low * low + low * high + high * high) / 3
    return between_days * (1.0 + (math.exp(HOUR_SIGMA ** 2) - 1.0) / 24)


def oracle_offer(result: PackResult, threshold: float) -> float | None:
    i = bisect_left(result.oracle_top, threshold)
    if i == len(result.oracle_top):
        return None
    return max(result.oracle_hours[i], math.ceil(result.fitted_at / HOUR) * HOUR)


def run_household(h: Household, rng: random.Random, tune: bool) -> tuple[list[PackResult], int]:
    tl = simulate(h, rng)
    h = tl.household
    category = h.category
    forecasts = Forecaster(tl)
    learnt = timing.Timing()
    snoozed = False
    z_cat = risk.category_z(category.catalog)
    lead = float(h.lead_days)
    results = []
    for n, pack in enumerate(tl.packs, start=1):
        factor, shift = learnt.pack_factor, learnt.shift
        z = max(risk.Z_RANGE[0], min(risk.Z_RANGE[1], z_cat + shift))

        def plain(t: float, p: Pack = pack) -> Forecast:
            return forecasts.at(t, p)

        def learned(t: float, p: Pack = pack, f: float = factor) -> Forecast:
            return forecasts.at(t, p, f)

        def risk_rule(get: Callable[[float], Forecast], zz: float) -> Fires:
            def fires(t: float) -> bool:
                e = _empty(get(t), category.kind.value)
                return e is not None and risk.due(e, (reached_if_waiting(t) - t) / DAY + lead, zz)
            return fires

        ours = first_offer(pack, risk_rule(learned, z))
        ours_plain = first_offer(pack, risk_rule(plain, z_cat))

        def old_fires(t: float) -> bool:
            d = plain(t).days_left
            return d is not None and d <= lead + OLD_MARGIN_DAYS

        old = first_offer(pack, old_fires)
        offers = _offers_in_pack(pack, ours, learned)
        half = learned(math.floor(pack.half_at / HOUR) * HOUR)
        predicted = math.inf if half.days_left is None else (
            math.floor(pack.half_at / HOUR) * HOUR + half.days_left * DAY)
        result = PackResult(
            h, category.name, n, lead, pack.fitted_at, pack.empty_at,
            abs(predicted - pack.empty_at) / DAY, abs(_naive_empty(h, pack) - pack.empty_at) / DAY,
            ours, offers, ours_plain, old, *_oracle_risk(tl, pack, lead), shift, factor, snoozed)
        if tune:
            for p in TUNE_GRID:
                result.tuned[p] = first_offer(pack, risk_rule(plain, risk.z_of(p)))
        results.append(result)
        # What the household says, and what its pack's end says, as the product learns it.
        answer: timing.Answer | None = None
        if ours is not None and h.kind == "still have some" and (
                result.early(ours) or 0.0) > SNOOZE_EARLY_DAYS:
            answer = "still_have_some"
        elif ours is not None and arrival(ours) >= pack.empty_at:
            answer = "already_bought"  # it reached them after they had run out
        if answer is not None:
            learnt = timing.answered(learnt, answer)
            snoozed = snoozed or answer == "still_have_some"
        share = None if pack.by_time else pack.tag_used / (category.capacity.amount or 1.0)
        prompted = ours is not None and arrival(ours) + lead * DAY <= pack.empty_at
        learnt = timing.pack_ended(learnt, late=None if answer else result.late(ours),
                                   used_share=share, prompted=prompted)
    return results, forecasts.calls


def _offers_in_pack(pack: Pack, first: float | None, get: Callable[[float], Forecast]) -> int:
    """Offers our rule makes in one pack: one per cycle the forecast sees in it (the cycle
    key), found by checking daily after the first until the pack runs out."""
    if first is None:
        return 0
    cycles = {get(first).cycle_start}
    t = first + DAY
    while t < pack.empty_at:
        cycles.add(get(t).cycle_start)
        t += DAY
    return len({round(c) for c in cycles})


def _naive_empty(h: Household, pack: Pack) -> float:
    capacity = h.category.capacity
    days = (capacity.amount or math.inf) / h.category.mean_per_day
    if capacity.months is not None:
        days = min(days, capacity.months * MONTH_DAYS)
    return pack.fitted_at + days * DAY


# ---- figures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    packs: int
    late: float  # share, 0-1
    early_days: float

    def text(self) -> str:
        return f"late {100 * self.late:4.1f}%  early_days {self.early_days:4.1f}"


def figures(rows: list[PackResult], offer: Callable[[PackResult], float | None]) -> Figures:
    late = sum(r.late(offer(r)) for r in rows)
    early = [e for r in rows if (e := r.early(offer(r))) is not None]
    return Figures(len(rows), late / max(1, len(rows)),
                   statistics.median(early) if early else math.nan)


def _oracle_at(threshold: float) -> Callable[[PackResult], float | None]:
    return lambda r: oracle_offer(r, threshold)


def _tuned_at(threshold: float) -> Callable[[PackResult], float | None]:
    return lambda r: r.tuned[threshold]


def matched_oracle(rows: list[PackResult], late: float) -> tuple[float, Figures]:
    """The oracle's threshold on the grid whose late share is closest to ``late``."""
    best: tuple[float, float, Figures] | None = None
    for p in ORACLE_GRID:
        f = figures(rows, _oracle_at(p))
        gap = abs(f.late - late)
        if best is None or gap < best[0]:
            best = (gap, p, f)
    assert best is not None
    return best[1], best[2]


def arrival(at: float) -> float:
    """When an offer decided ``at`` reaches the customer: then, or at the end of their quiet
    hours (22:00-08:00 local), as the product holds it back."""
    hour = (at + UTC_OFFSET_S) % DAY / HOUR
    start, end = QUIET
    if hour >= start:
        return at + (24 - hour + end) * HOUR
    if hour < end:
        return at + (end - hour) * HOUR
    return at


def reached_if_waiting(t: float) -> float:
    """When an offer left for the next check (an hour on) would reach the customer."""
    return arrival(t + HOUR)


def run_forecast_bench(households: int = 400, seed: int = 11, tune: bool = False) -> str:
    """Run the bench, print its figures and return the last line."""
    began = time.perf_counter()
    rng = random.Random(seed)
    rows: list[PackResult] = []
    calls = 0
    for i in range(households):
        category = CATEGORIES[i % len(CATEGORIES)]
        kind = KINDS[(i // len(CATEGORIES)) % len(KINDS)]
        found, n = run_household(make_household(category, kind, rng), rng, tune)
        rows += found
        calls += n
    say = print
    say(f"forecast bench: {households} households (seed {seed}), {PACKS} packs each, hourly "
        f"reports, pace x0.3..x3 of the category's; {' / '.join(KINDS)} in turn")
    leads = sorted({r.lead for r in rows})
    say("  lead times from catalog.reach (the seed's stores, AT_HOME): "
        + ", ".join(f"{lead:g} d {100 * sum(r.lead == lead for r in rows) / len(rows):.0f}%"
                    for lead in leads)
        + f"; {sum(r.empty_at - r.fitted_at < r.lead * DAY for r in rows)} packs last less "
          "than their lead time (late whatever the rule)")
    if tune:
        _print_tuning(rows, say)
    ours = figures(rows, lambda r: r.ours)
    threshold, oracle = matched_oracle(rows, ours.late)
    say(f"  {'category':32} {'packs':>5} {'mae ours':>8} {'naive':>6} {'ratio':>5}  "
        f"{'threshold':>9}  ours / old / oracle at our late")
    for category in CATEGORIES:
        mine = [r for r in rows if r.category == category.name]
        say(f"  {category.name:32} {len(mine):5d} {_mae(mine, True):8.2f} {_mae(mine, False):6.2f} "
            f"{_ratio(mine):5.1f}  {risk.THRESHOLDS[category.catalog]:9.3f}  "
            f"{_cell(mine, lambda r: r.ours)} / {_cell(mine, lambda r: r.old)} / "
            f"{_cell(mine, _oracle_at(threshold))}")
    say(f"  {'households':32} {'packs':>5}  ours / old / oracle at our late   (late %, early days)")
    for kind in KINDS:
        mine = [r for r in rows if r.household.kind == kind]
        say(f"  {kind:32} {len(mine):5d}  {_cell(mine, lambda r: r.ours)} / "
            f"{_cell(mine, lambda r: r.old)} / {_cell(mine, _oracle_at(threshold))}")
    after = [r for r in rows if r.snoozed_before]
    say(f"  packs after a \"still have some\" ({len(after)}): with the household's learning "
        f"{_cell(after, lambda r: r.ours)}, without {_cell(after, lambda r: r.ours_plain)}")
    plain = figures(rows, lambda r: r.ours_plain)
    say(f"  our rule without any household's learning: {plain.text()}")
    old = figures(rows, lambda r: r.old)
    offers = sum(r.ours_offers for r in rows) / len(rows)
    say(f"  {calls} forecasts in {time.perf_counter() - began:.1f} s")
    say(f"rule ours:   {ours.text()}  offers_per_pack {offers:.2f}")
    say(f"rule old:    {old.text()}  offers_per_pack "
        f"{sum(r.old is not None for r in rows) / len(rows):.2f}  (days left <= lead + "
        f"{OLD_MARGIN_DAYS:g})")
    say(f"rule oracle: {oracle.text()}  offers_per_pack "
        f"{sum(oracle_offer(r, threshold) is not None for r in rows) / len(rows):.2f}  "
        f"(true pace, threshold {threshold:.3f}: late as often as ours)")
    line = (f"forecast: mae_days {_mae(rows, True):.2f} naive {_mae(rows, False):.2f} "
            f"ratio {_ratio(rows):.1f} late {100 * ours.late:.1f}% early_days "
            f"{ours.early_days:.1f} oracle_late {100 * oracle.late:.1f}% oracle_early_days "
            f"{oracle.early_days:.1f}")
    say(line)
    return line


def _print_tuning(rows: list[PackResult], say: Callable[[str], None]) -> None:
    say("  tuning (our rule without the households' learning): late % / early days by threshold")
    say("  " + " " * 32 + "".join(f"{p:>11.3f}" for p in TUNE_GRID))
    groups = [(c.name, [r for r in rows if r.category == c.name]) for c in CATEGORIES]
    groups += [(kind, [r for r in rows if r.household.kind == kind]) for kind in KINDS]
    for name, mine in groups:
        cells = []
        for p in TUNE_GRID:
            f = figures(mine, _tuned_at(p))
            cells.append(f"{100 * f.late:5.1f}/{f.early_days:4.1f}")
        say(f"  {name:32}" + "".join(f"{c:>11}" for c in cells))


def _cell(rows: list[PackResult], offer: Callable[[PackResult], float | None]) -> str:
    f = figures(rows, offer)
    return f"{100 * f.late:4.1f}% {f.early_days:4.1f}"


def _mae(rows: Iterable[PackResult], ours: bool) -> float:
    values = [r.err_ours if ours else r.err_naive for r in rows]
    return sum(values) / max(1, len(values))


def _ratio(rows: list[PackResult]) -> float:
    ours = _mae(rows, True)
    return _mae(rows, False) / ours if ours > 0 else math.inf
