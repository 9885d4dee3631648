"""Forecasting a batch of product instances from their timelines: one unit of work.

For each instance: its SKU's consumables and services (:mod:`replenishment.items`), the events
that say when each was fitted, the timeline of the metric that measures each (raw readings
of the last eight weeks, the forecast's rate window, plus what the hourly rollup says about
the part of a longer cycle before them), the category's prior pace and the owner's time
zone; then :mod:`replenishment.forecast` per item, and an upsert of the results.

Only what the product recorded while its current owner has owned it counts
(:mod:`identity.ownership`): for a product bought from someone else, events, readings and the
rollup before the change of hands are left out, and the cycle of each item starts no earlier
than that (as a claim starts one). The hourly rollup is read from the first whole hour of
their ownership, so the seller's part of the hour it changed hands never counts.

The data is loaded set-based for the whole batch (a fixed handful of queries whatever its
size); the maths stays a plain loop per instance and item, because it is pure per-instance
work. Callers own the transaction.

Each household's own packs count too (:mod:`replenishment.timing`): a consumable's forecast
uses the pack factor its owner's past packs taught (how much of the rated amount they get
out of one); and when a run finds that a consumable's cycle began anew since the stored
forecast (a new one fitted, bought from us or elsewhere), the pack that ended is counted for
its owner (:func:`replenishment.timing_store.packs_ended`) before its forecast is replaced.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homeloop.db import Conn
from identity import ownership
from replenishment import store, timing_store
from replenishment.forecast import Event, Forecast, MetricKind, Tuning, forecast, service_due
from replenishment.items import CycleEvent, Item, consumable_item, fitted_at, service_item
from replenishment.priors import prior_rate
from replenishment.risk import LOWEST, EmptyTime

__all__ = ["BATCH_SIZE", "forecast_instances", "raw_window_start"]

log = logging.getLogger(__name__)
BATCH_SIZE = 50  # eight weeks of 15-minute reports on two metrics: about 0.5 M rows a batch
MAX_DUE_DAYS = 36_525.0  # further than a century is "no date" (and past datetime's range)
RAW_WEEKS = Tuning().min_weeks  # the forecast's rate window


@dataclass(frozen=True, slots=True)
class _Job:
    """One item of one instance, with everything the forecast needs but the samples."""

    instance: store.Instance
    item: Item
    since: float  # when the current cycle began (fitting, last service or registration)
    events: list[Event]
    prior: float | None
    utc_offset_s: float
    owned_since: datetime | None  # when the owner got it (None: it was new to them)


def raw_window_start(now: datetime) -> datetime:
    """The start of the raw readings read: the rate window's weeks back, on the hour.

    On the hour, so that the hourly rollup before it and the raw readings after it meet
    without overlapping.
    """
    start = now - timedelta(weeks=RAW_WEEKS)
    return start.replace(minute=0, second=0, microsecond=0)


def forecast_instances(conn: Conn, instance_ids: Sequence[int], now: datetime) -> int:
    """Forecast every consumable and service of these instances as of ``now``; store them.

    Instances without a tag are skipped. Returns how many forecasts were stored.
    """
    instances = store.load_instances(conn, instance_ids)
    if not instances:
        return 0
    items = _items_by_sku(conn, [i.sku for i in instances])
    events = store.load_cycle_events(conn, [i.device_id for i in instances], now)
    owned = ownership.current_owner_periods(conn, [i.id for i in instances])
    since_owned = {i: p[-1].start if p else None for i, p in owned.items()}
    jobs = [_job(instance, item, events.get(instance.device_id, []), now,
                 since_owned.get(instance.id))
            for instance in instances for item in items.get(instance.sku, [])]

    keys: dict[int, timing_store.Key] = {}
    for j in jobs:
        if j.instance.owner_id is not None and j.item.kind == "consumable":
            keys[id(j)] = (j.instance.owner_id, j.instance.id, j.item.sku)
    factors = timing_store.pack_factors(conn, list(keys.values()))
    previous = store.previous_cycles(conn, [i.id for i in instances])

    window_start = raw_window_start(now)
    readings = store.load_readings(
        conn, [(j.instance.device_id, j.item.metric) for j in jobs if j.item.metric],
        window_start, now)
    requests = [_carry(j, window_start) for j in jobs]
    carries = store.load_carries(conn, [r for r in requests if r is not None], window_start)

    now_s = now.timestamp()
    done: list[tuple[_Job, timing_store.Key | None, list[tuple[float, float]],
                     store.StoredForecast, timing_store.PackEnd | None]] = []
    for job, request in zip(jobs, requests, strict=True):
        samples = [r for r in readings.get((job.instance.device_id, job.item.metric or ""), [])
                   if job.owned_since is None or r[0] >= job.owned_since.timestamp()]
        if request is not None and request in carries:
            samples.append(_carry_sample(job, carries[request], window_start))
        key = keys.get(id(job))
        factor = factors.get(key, 1.0) if key is not None else 1.0
        result = _stored(job, _forecast(job, samples, now_s, factor), now)
        done.append((job, key, samples, result,
                     _pack_end(job, previous.get((job.instance.id, job.item.sku)), result)))
    ended = [d for d in done if d[4] is not None]
    if timing_store.packs_ended(conn, [d[4] for d in ended if d[4] is not None], now):
        # What the packs that just ended taught counts for the new ones at once.
        learnt = timing_store.pack_factors(conn, [d[1] for d in ended if d[1] is not None])
        done = [(job, key, samples, _stored(job, _forecast(job, samples, now_s, learnt[key]),
                                            now), end)
                if end is not None and key in learnt else (job, key, samples, result, end)
                for job, key, samples, result, end in done]
    results = [d[3] for d in done]
    store.replace_forecasts(conn, [i.id for i in instances], results)
    return len(results)


def _pack_end(job: _Job, before: store.PreviousCycle | None,
              now: store.StoredForecast) -> timing_store.PackEnd | None:
    """The pack that ended, if this consumable's cycle began anew since its stored forecast:
    what the tag saw it give by then (the stored use, and its pace up to the new start)."""
    owner = job.instance.owner_id
    if (before is None or owner is None or job.item.kind != "consumable"
            or now.cycle_start <= before.cycle_start):
        return None
    amount = job.item.capacity.amount
    share = None
    if amount and before.basis == "usage":
        gap = max(0.0, (now.cycle_start - before.computed_at).total_seconds() / 86_400)
        share = (before.used + before.rate_per_day * gap) / amount
    return timing_store.PackEnd(owner, job.instance.id, job.item.sku, before.cycle_start,
                                now.cycle_start, share, before.risk_from)


def _items_by_sku(conn: Conn, device_skus: Sequence[str]) -> dict[str, list[Item]]:
    consumables, services = store.load_catalog(conn, device_skus)
    found: dict[str, list[Item]] = {}
    for c in consumables:
        found.setdefault(c.device_sku, []).append(consumable_item(
            c.consumable_sku, c.capacity_litres, c.capacity_uses, c.capacity_months,
            c.level_based))
    for s in services:
        try:
            item = service_item(s.service_sku, s.interval_months, s.interval_usage,
                                s.usage_metric)
        except ValueError as exc:  # a catalog mistake must not stop every other forecast
            log.warning("skipping %s of %s: %s", s.service_sku, s.device_sku, exc)
            continue
        found.setdefault(s.device_sku, []).append(item)
    return found


def _job(instance: store.Instance, item: Item, events: list[store.DeviceEvent],
         now: datetime, owned_since: datetime | None) -> _Job:
    floor = owned_since.timestamp() if owned_since is not None else None
    since, mine = fitted_at(
        item, [CycleEvent(e.time, e.kind, e.part, e.by_customer) for e in events
               if floor is None or e.time >= floor],
        instance.claimed_at.timestamp() if instance.claimed_at else None,
        instance.created_at.timestamp())
    if floor is not None:
        since = max(since, floor)
    amount, months = item.capacity.amount, item.capacity.months
    prior = prior_rate(instance.category, item.metric, amount=amount, months=months)
    return _Job(instance, item, since, mine, prior, _utc_offset_s(instance.timezone, now),
                owned_since)


def _utc_offset_s(timezone: str | None, at: datetime) -> float:
    """The household's offset from UTC now, for its weekdays; UTC when the zone is unknown."""
    if not timezone:
        return 0.0
    try:
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; reading weekdays in UTC", timezone)
        return 0.0
    return offset.total_seconds() if offset is not None else 0.0


def _carry(job: _Job, window_start: datetime) -> store.CarryRequest | None:
    """The rollup question for a cycle that began before the raw window, if it needs one.

    Flows and counters add up since the fitting, so the part before the window matters; a
    level is read from its latest samples and needs none.
    """
    metric = job.item.metric
    if metric is None or job.item.metric_kind is MetricKind.LEVEL:
        return None
    if job.since >= window_start.timestamp() - 1.0:
        return None
    since = datetime.fromtimestamp(job.since, UTC).replace(minute=0, second=0, microsecond=0)
    not_before = None
    if job.owned_since is not None:  # whole hours of the owner's own only
        not_before = _next_hour(job.owned_since)
        since = max(since, not_before)
        if since >= window_start:
            return None
    return store.CarryRequest(job.instance.device_id, metric, since, not_before)


def _next_hour(t: datetime) -> datetime:
    """``t`` if it is on the hour, else the next hour (UTC)."""
    hour = t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return hour if hour == t else hour + timedelta(hours=1)


def _carry_sample(job: _Job, value: float, window_start: datetime) -> tuple[float, float]:
    """The rollup's answer as one sample the forecast reads the way it reads a tag's.

    A flow sample carries the litres since the previous report, so the litres before the
    window become one report just before it: counted as used since the fitting, not in the
    rate (the forecast knows no interval for a first report). A counter's value at the
    fitting becomes a sample at the fitting: the weeks between it and the window are one long
    gap, whose uses count as used and stay out of the rate.
    """
    if job.item.metric_kind is MetricKind.FLOW:
        return window_start.timestamp() - 1.0, value
    return job.since, value


def _forecast(job: _Job, samples: list[tuple[float, float]], now_s: float,
              pack_factor: float) -> Forecast:
    item = job.item
    if item.kind == "service":
        return service_due(samples, item.metric_kind, item.capacity, job.since, now_s,
                           prior_rate_per_day=job.prior, utc_offset_s=job.utc_offset_s)
    return forecast(samples, item.metric_kind, item.capacity, now_s, events=job.events,
                    fitted_at=job.since, prior_rate_per_day=job.prior,
                    utc_offset_s=job.utc_offset_s, pack_factor=pack_factor)


def _at(now: datetime, days: float | None) -> datetime | None:
    if days is None or not math.isfinite(days) or days >= MAX_DUE_DAYS:
        return None
    return now + timedelta(days=days)


def _stored(job: _Job, f: Forecast, now: datetime) -> store.StoredForecast:
    due_at = _at(now, f.days_left)
    risk_from = None
    if f.days_left is not None and due_at is not None:
        empty = EmptyTime.of(f.days_left, f.basis, f.rate_per_day, f.daily_sd, f.rate_sd,
                             job.item.metric)
        risk_from = _at(now, empty.quantile(LOWEST))
    return store.StoredForecast(
        instance_id=job.instance.id, item_sku=job.item.sku, kind=job.item.kind,
        metric=job.item.metric, rate_per_day=f.rate_per_day, used=f.used,
        remaining=f.remaining, days_left=f.days_left, days_left_low=f.days_left_low,
        days_left_high=f.days_left_high, confidence=f.confidence, basis=f.basis,
        data_days=f.data_days, prior_weight=f.prior_weight,
        cycle_start=datetime.fromtimestamp(f.cycle_start, UTC), computed_at=now,
        due_at=due_at, daily_sd=f.daily_sd, rate_sd=f.rate_sd, pack_days_low=f.pack_days_low,
        pack_days_high=f.pack_days_high, risk_from=risk_from)
