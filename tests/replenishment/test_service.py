"""Forecasts from real timelines: readings and events in through the gateway's writer, the
service over a batch, the rows it stores. The truth of each household is known by design.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from customers import store as customers
from device_gateway.provisioning import Credentials
from homeloop import clock
from replenishment import service, store
from replenishment.forecast import MONTH_DAYS
from replenishment.priors import PRIORS
from tests.conftest import write_through_gateway

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]
Provision = Callable[[str, int], list[Credentials]]
SLOT = timedelta(minutes=15)
# Relative activity by hour of the day (UTC+8: morning and evening peaks), averaging 1.
SHAPE = [0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 1.8, 1.2, 0.6, 0.5, 0.7, 1.3, 0.9, 0.5, 0.5,
         0.6, 0.9, 1.6, 1.9, 1.4, 1.0, 0.6, 0.3]
SHAPE = [s * 24 / sum(SHAPE) for s in SHAPE]


def claimed(db: Conn, provisioned: Provision, sku: str, locale: str = "zh-CN",
            ) -> tuple[Credentials, int]:
    tag = provisioned(sku, 1)[0]
    owner = customers.create_customer(db, "Li", locale=locale)
    customers.claim(db, owner, device_id=tag.device_id, via="nfc_tap")
    return tag, owner


def run(db: Conn, *ids: int, now: datetime | None = None) -> dict[str, store.StoredForecast]:
    with db.transaction():
        service.forecast_instances(db, list(ids), now or clock.now())
    return {f"{f.kind}:{f.item_sku}": f for i in ids for f, _, _ in store.list_forecasts(db, i)}


def near(a: datetime | None, b: datetime, within: timedelta = timedelta(seconds=1)) -> bool:
    return a is not None and abs(a - b) <= within


def steps(start: datetime, end: datetime, step: timedelta = SLOT) -> list[datetime]:
    out, t = [], start
    while t <= end:
        out.append(t)
        t += step
    return out


def test_purifier_days_left_from_its_flow_since_the_filter_was_replaced(
        db: Conn, provisioned: Provision) -> None:
    tag, _ = claimed(db, provisioned, "WP-500")
    now = clock.now()
    rng = random.Random(3)
    per_day = 12.0
    times = steps(now - timedelta(days=25), now - timedelta(minutes=5))
    flows = [per_day / 96 * SHAPE[(t.hour + 8) % 24] * rng.uniform(0.7, 1.3) for t in times]
    replaced = now - timedelta(days=14, hours=3)
    readings = [(t, {"flow_l": f}) for t, f in zip(times, flows, strict=True)]
    write_through_gateway(db, tag.device_id, readings,
                          [(replaced, "replaced", {"part": "FLT-PP-1"})])

    found = run(db, tag.instance_id, now=now)

    assert set(found) == {"consumable:FLT-PP-1", "consumable:FLT-RO-1", "consumable:FLT-RO-XL"}
    pp = found["consumable:FLT-PP-1"]
    true_rate = sum(flows) / ((times[-1] - times[0]).total_seconds() / 86_400)
    used = sum(f for t, f in zip(times, flows, strict=True) if t > replaced)
    truth = (2000.0 - used) / true_rate
    assert pp.days_left is not None and pp.days_left == pytest.approx(truth, rel=0.03)
    assert pp.used == pytest.approx(used, rel=0.01)
    assert (pp.basis, pp.metric, pp.kind) == ("usage", "flow_l", "consumable")
    assert near(pp.cycle_start, replaced)
    assert near(pp.due_at, pp.computed_at + timedelta(days=truth), timedelta(days=0.03 * truth))
    assert pp.data_days > 20 and pp.prior_weight < 0.15
    assert pp.days_left_low is not None and pp.days_left_high is not None
    assert pp.days_left_low < pp.days_left < pp.days_left_high
    # The event named the pre-filter: the RO membrane has been in since the product was
    # registered (just now), with nothing used of its 6,000 L.
    ro = found["consumable:FLT-RO-1"]
    assert ro.used == pytest.approx(0.0, abs=1.0)
    assert ro.days_left == pytest.approx(6000.0 / true_rate, rel=0.03)


def test_dishwasher_tablets_counted_from_the_new_box(db: Conn, provisioned: Provision) -> None:
    tag, _ = claimed(db, provisioned, "DW-60")
    now = clock.now()
    times = steps(now - timedelta(days=21), now - timedelta(minutes=1))
    runs = [now - timedelta(hours=2) - timedelta(days=k) for k in range(21)]  # one every day
    new_box = now - timedelta(days=11, hours=12)  # a tap of the new box of tablets on the tag
    readings = []
    for t in times:
        done = sum(1 for r in runs if r <= t)
        readings.append((t, {"count": 137.0 + done, "level": 0.9 - 0.02 * done}))
    write_through_gateway(db, tag.device_id, readings, [(new_box, "nfc_tap", {})])

    found = run(db, tag.instance_id, now=now)

    tabs = found["consumable:DET-TAB-30"]
    used = sum(1 for r in runs if r > new_box)
    assert used == 12  # today's run and eleven before it
    assert tabs.used == pytest.approx(used, abs=0.2)
    assert tabs.rate_per_day == pytest.approx(1.0, rel=0.05)
    assert tabs.days_left == pytest.approx(30 - used, abs=1.0)
    assert tabs.metric == "count" and tabs.basis == "usage"
    assert found["consumable:DET-TAB-90"].days_left == pytest.approx(90 - used, abs=2.0)
    # The rinse aid is read from its level: 0.48 left at 0.02 a day.
    rinse = found["consumable:RINSE-500"]
    assert rinse.metric == "level"
    assert rinse.days_left == pytest.approx(0.48 / 0.02, rel=0.05)


def test_a_refill_is_a_tank_not_a_box_of_tablets_and_a_customer_tap_changes_nothing(
        db: Conn, provisioned: Provision) -> None:
    tag, owner = claimed(db, provisioned, "DW-60")
    now = clock.now()
    db.execute("UPDATE product_instances SET claimed_at = %s WHERE id = %s",
               (now - timedelta(days=20), tag.instance_id))
    refill = now - timedelta(days=5)
    write_through_gateway(db, tag.device_id, [],
                          [(refill, "refill", {"level": 1.0}),
                           (now - timedelta(days=2), "nfc_tap", {"customer_id": owner})])

    found = run(db, tag.instance_id, now=now)

    assert near(found["consumable:RINSE-500"].cycle_start, refill)
    assert near(found["consumable:DET-TAB-30"].cycle_start, now - timedelta(days=20))


def test_a_new_coffee_machine_with_two_hours_of_data_gets_the_category_prior(
        db: Conn, provisioned: Provision) -> None:
    tag, _ = claimed(db, provisioned, "CM-100")
    now = clock.now()
    times = steps(now - timedelta(hours=2), now - timedelta(minutes=1))
    write_through_gateway(db, tag.device_id,
                          [(t, {"count": 40.0 + (t > times[4])}) for t in times])

    found = run(db, tag.instance_id, now=now)

    pods = found["consumable:POD-ESP-50"]
    prior = PRIORS[("coffee_machine", "count")]
    assert pods.prior_weight > 0.9
    assert pods.rate_per_day == pytest.approx(prior, rel=0.15)
    assert pods.days_left == pytest.approx((50 - 1) / prior, rel=0.15)
    assert pods.confidence < 0.5  # a guess about this home, and it says so
    # Descaling is due by 2,000 cups or 12 months: at the average pace the months come first.
    descale = found["service:SVC-DESCALE"]
    assert descale.basis == "time"
    assert descale.days_left == pytest.approx(12 * MONTH_DAYS, abs=0.1)
    assert descale.metric == "count"


def test_cycles_older_than_the_raw_window_count_their_use_from_the_hourly_rollup(
        db: Conn, provisioned: Provision) -> None:
    purifier, _ = claimed(db, provisioned, "WP-500")
    dishwasher, _ = claimed(db, provisioned, "DW-60")
    now = clock.now()
    hours = steps(now - timedelta(days=130), now - timedelta(minutes=1), timedelta(hours=1))
    replaced = now - timedelta(days=120, minutes=20)
    write_through_gateway(db, purifier.device_id, [(t, {"flow_l": 0.5}) for t in hours],
                          [(replaced, "replaced", {"part": "FLT-PP-1"})], max_age_days=140)
    new_box = now - timedelta(days=70, minutes=40)
    write_through_gateway(
        db, dishwasher.device_id,
        [(t, {"count": float(int((t - hours[0]).total_seconds() // 86_400))}) for t in hours],
        [(new_box, "nfc_tap", {"part": "DET-TAB-90"})], max_age_days=140)

    found = run(db, purifier.instance_id, dishwasher.instance_id, now=now)

    # 120 days at 12 L/day used 1,440 L of 2,000: 560 L left, 46.7 days (eight weeks of raw
    # readings alone would say 1,328 L, and the six months would decide at 62.6 days).
    pp = found["consumable:FLT-PP-1"]
    assert pp.used == pytest.approx(1440.0, rel=0.01)
    assert pp.basis == "usage" and pp.days_left == pytest.approx(560.0 / 12.0, rel=0.03)
    # 70 runs of 90 tablets: 20 left (the raw window alone has 56 runs: 34 left).
    tabs = found["consumable:DET-TAB-90"]
    assert tabs.used == pytest.approx(70.0, abs=1.0)
    assert tabs.days_left == pytest.approx(20.0, abs=1.0)


def test_running_twice_leaves_the_same_rows_and_drops_items_no_longer_sold(
        db: Conn, provisioned: Provision) -> None:
    tag, _ = claimed(db, provisioned, "CM-100")
    first = run(db, tag.instance_id)
    db.execute("INSERT INTO instance_forecasts (instance_id, item_sku, kind, rate_per_day, used, "
               "confidence, basis, data_days, prior_weight, cycle_start, computed_at) "
               "VALUES (%s, 'DESC-1', 'service', 1, 0, 0, 'none', 0, 0, %s, %s)",
               (tag.instance_id, clock.now(), clock.now()))
    second = run(db, tag.instance_id)
    assert set(second) == set(first) == {"consumable:POD-ESP-50", "consumable:POD-ESP-100",
                                         "consumable:DESC-1", "service:SVC-DESCALE"}
    assert all(math.isclose(second[k].rate_per_day, first[k].rate_per_day) for k in first)
    assert second["consumable:DESC-1"].computed_at > first["consumable:DESC-1"].computed_at
