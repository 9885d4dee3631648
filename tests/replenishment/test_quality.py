"""Fleet quality alerts: the Poisson test alone, then the daily scan on the real database.

Fault events are written straight into ``events`` for provisioned devices; ``now`` is
fixed, so the window (the last 7 days) and the baseline (the 90 days before) are known.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from customers import store as customers
from device_gateway.provisioning import Credentials
from replenishment import quality_store
from replenishment.quality import QualityRule, assess, poisson_sf
from tests.conftest import count

Conn = psycopg.Connection[tuple[Any, ...]]
NOW = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, outside quiet hours


# --- the test itself ---------------------------------------------------------------------


def test_poisson_tail_matches_the_direct_sum() -> None:
    for k, mu in [(0, 2.0), (1, 0.5), (3, 1.0), (9, 7.0), (20, 3.0)]:
        direct = 1 - sum(math.exp(-mu) * mu ** i / math.factorial(i) for i in range(k))
        assert poisson_sf(k, mu) == pytest.approx(direct, rel=1e-9, abs=1e-15)
    assert 0 < poisson_sf(60, 2.0) < 1e-40  # a tail 1 - cdf would round to zero


def test_a_burst_is_significant() -> None:
    # 10 devices, 9 faults in 90 days (0.01 per device-day): 0.7 expected in a week, 8 seen
    found = assess(8, 10, 9)
    assert found.significant and found.p_value < 1e-5
    assert found.expected == pytest.approx((9 + 0.5) / 900 * 70)


def test_normal_noise_is_not() -> None:
    # 1 fault a day in the baseline, 7 expected in the week: 9, 10 or 12 is noise
    for faults in (7, 9, 10, 12):
        assert not assess(faults, 10, 90).significant


def test_below_the_minimum_count_is_not_whatever_the_p_value() -> None:
    found = assess(4, 10, 0)
    assert found.p_value < 1e-6 and not found.significant
    assert assess(5, 10, 0).significant
    assert not assess(5, 10, 0, QualityRule(min_faults=6)).significant


# --- the daily scan ----------------------------------------------------------------------


Fleet = Callable[..., list[tuple[Credentials, int]]]


@pytest.fixture
def fleet(db: Conn, provisioned: Callable[..., list[Credentials]]) -> Iterator[Fleet]:
    """Devices of a SKU (and batch), each claimed by its own customer: [(credentials, owner)]."""
    db.execute("TRUNCATE quality_alerts")

    def make(sku: str, n: int, batch: str | None = None) -> list[tuple[Credentials, int]]:
        made = []
        for creds in provisioned(sku, n, batch):
            owner = customers.create_customer(db, "Wang", locale="en",
                                              timezone="Asia/Shanghai",
                                              home_store_id="SH-XUHUI")
            db.execute("UPDATE product_instances SET owner_id = %s, claimed_at = %s "
                       "WHERE id = %s", (owner, NOW - timedelta(days=200), creds.instance_id))
            made.append((creds, owner))
        return made

    yield make
    db.execute("TRUNCATE quality_alerts")


def faults(db: Conn, device_id: str, times: list[datetime]) -> None:
    db.cursor().executemany(
        "INSERT INTO events (time, device_id, kind, data) VALUES (%s, %s, 'fault', '{}')",
        [(t, device_id) for t in times])


def scan(db: Conn, now: datetime = NOW) -> quality_store.ScanResult:
    with db.transaction():
        return quality_store.scan(db, now)


def seed_fleets(db: Conn, fleet: Fleet,
                ) -> tuple[list[tuple[Credentials, int]], list[tuple[Credentials, int]]]:
    purifiers, dishwashers = fleet("WP-500", 10), fleet("DW-60", 10)
    window = NOW - timedelta(days=7)
    # Purifiers: one fault every 10 days on one device in the baseline (9 in 90 days),
    # then 8 this week on the first four devices.
    faults(db, purifiers[9][0].device_id,
           [window - timedelta(days=5 + 10 * i) for i in range(9)])
    for i, (creds, _) in enumerate(purifiers[:4]):
        faults(db, creds.device_id, [window + timedelta(days=1 + i, hours=h) for h in (1, 2)])
    # Dishwashers: a steady fault a day across the fleet, this week included (9 this week).
    dishwasher_faults: dict[str, list[datetime]] = {}
    for day in range(97):
        at = NOW - timedelta(days=97 - day, hours=-3)
        dishwasher_faults.setdefault(dishwashers[day % 10][0].device_id, []).append(at)
    faults(db, dishwashers[0][0].device_id, [NOW - timedelta(hours=5), NOW - timedelta(hours=6)])
    for device_id, times in dishwasher_faults.items():
        faults(db, device_id, times)
    return purifiers, dishwashers


def notified(db: Conn) -> set[int]:
    return {r[0] for r in db.execute(
        "SELECT customer_id FROM offers WHERE kind = 'quality' AND status = 'pending'")}


def test_the_scan_fires_on_a_burst_and_not_on_a_steady_rate(db: Conn, fleet: Fleet) -> None:
    purifiers, _ = seed_fleets(db, fleet)

    done = scan(db)

    assert (done.skus, done.alerts, done.offers) == (2, 1, 10)
    [alert] = quality_store.list_alerts(db)
    assert (alert.sku, alert.batch, alert.faults, alert.devices) == ("WP-500", None, 8, 10)
    assert alert.window_end == NOW and alert.window_start == NOW - timedelta(days=7)
    assert alert.p_value < 0.001 and alert.baseline_rate == pytest.approx(9 / 900)
    # every purifier owner hears of it, not only the four whose device failed this week:
    # the others should know before they have to call the store; no dishwasher owner does
    assert notified(db) == {owner for _, owner in purifiers}
    row = db.execute("SELECT reason_en, reason_zh, fulfilment, store_id, item_skus "
                     "FROM offers WHERE customer_id = %s", (purifiers[0][1],)).fetchone()
    assert row is not None
    assert row[0] == ("Some AQUA 500G RO water purifier products like yours report more "
                      "faults than usual; book a free check.")
    assert "AQUA 500G 反渗透净水器" in row[1] and "免费检查" in row[1]
    assert (row[2], row[3], row[4]) == ("visit", "SH-XUHUI", ["WP-500"])


def test_a_bad_batch_is_named_and_only_its_owners_hear_of_it(db: Conn, fleet: Fleet) -> None:
    good, bad = fleet("WP-500", 10, "L2025-01"), fleet("WP-500", 10, "L2025-02")
    window = NOW - timedelta(days=7)
    for creds, _ in good[:3]:  # the usual: one fault every month or so on a few devices
        faults(db, creds.device_id, [window - timedelta(days=d) for d in (10, 40, 70)])
    faults(db, good[0][0].device_id, [window + timedelta(days=2)])
    for i, (creds, _) in enumerate(bad[:4]):  # this week, four devices of one batch fail
        faults(db, creds.device_id, [window + timedelta(days=1 + i, hours=h) for h in (1, 2)])

    done = scan(db)

    assert (done.alerts, done.offers) == (1, 10)
    [alert] = quality_store.list_alerts(db)
    assert (alert.sku, alert.batch, alert.faults, alert.devices) == ("WP-500", "L2025-02", 8, 10)
    assert notified(db) == {owner for _, owner in bad}  # the six without a fault yet too
    en, zh = db.execute("SELECT reason_en, reason_zh FROM offers WHERE customer_id = %s",
                        (bad[9][1],)).fetchone() or ("", "")
    assert "same production batch as yours (L2025-02)" in en
    assert "同一生产批次（L2025-02）" in zh  # noqa: RUF001
    assert scan(db, NOW + timedelta(hours=2)).alerts == 0  # once a day


def test_a_rise_spread_over_batches_is_raised_for_the_whole_sku(db: Conn, fleet: Fleet) -> None:
    # Each batch: 9 faults in the 90 days (0.74 expected in a week) and 4 this week, too few
    # to call on their own; the SKU's 8 against 1.4 expected is a real rise.
    batches = [fleet("WP-500", 10, "L2025-01"), fleet("WP-500", 10, "L2025-02")]
    window = NOW - timedelta(days=7)
    for members in batches:
        faults(db, members[9][0].device_id, [window - timedelta(days=5 + 10 * i)
                                             for i in range(9)])
        for i, (creds, _) in enumerate(members[:4]):
            faults(db, creds.device_id, [window + timedelta(days=1 + i)])

    done = scan(db)

    [alert] = quality_store.list_alerts(db)
    assert (alert.sku, alert.batch, alert.faults, alert.devices) == ("WP-500", None, 8, 20)
    assert done.offers == 20
    assert notified(db) == {owner for members in batches for _, owner in members}


def test_a_rerun_the_same_day_adds_nothing(
        db: Conn, fleet: Fleet) -> None:
    seed_fleets(db, fleet)
    assert scan(db).alerts == 1

    again = scan(db, NOW + timedelta(hours=3))

    assert (again.alerts, again.offers) == (0, 0)
    assert count(db, "SELECT count(*) FROM quality_alerts") == 1
    assert count(db, "SELECT count(*) FROM offers WHERE kind = 'quality'") == 10


def test_a_quality_notice_reaches_an_opted_out_customer_past_the_cap(
        db: Conn, fleet: Fleet) -> None:
    purifiers, _ = seed_fleets(db, fleet)
    owner = purifiers[0][1]
    db.execute("UPDATE customers SET opted_out_at = %s WHERE id = %s", (NOW, owner))

    scan(db)

    status = db.execute("SELECT status FROM offers WHERE customer_id = %s AND kind = 'quality'",
                        (owner,)).fetchone()
    assert status == ("pending",)
