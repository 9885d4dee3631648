"""Offers by the risk of running out, on the real database: the statement decides as the
rule does (constructed forecasts: narrow and wide intervals, short and long lead times), the
customer's answers and their own packs move that household's next decision and no one
else's, and a refill bought elsewhere restarts the cycle without an offer.

The packs that end come in through the real path: readings and events through the gateway's
writer, the forecast service over them, the offer evaluation, accepting through
``order_requests``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from customers import store as customers
from device_gateway.provisioning import Credentials
from homeloop import clock
from homeloop.settings import Settings
from replenishment import offers, order_requests, risk, service, store
from replenishment.risk import EmptyTime
from tests.clock import SHANGHAI
from tests.conftest import write_through_gateway
from tests.replenishment.test_offers import NOW, all_offers, customer, evaluate, forecast, product

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]
Provision = Callable[[str, int], list[Credentials]]
NEXT = offers.EVALUATE_EVERY_MINUTES / 1440  # an offer looks ahead to the next evaluation
TABLETS = "dishwasher_detergent"


def offered(db: Conn, owner: int) -> list[dict[str, Any]]:
    return [o for o in all_offers(db) if o["customer_id"] == owner]


def timing_of(db: Conn, owner: int) -> tuple[float, int, int] | None:
    row = db.execute("SELECT threshold_shift, packs, answers FROM household_timing "
                     "WHERE customer_id = %s", (owner,)).fetchone()
    return None if row is None else (float(row[0]), int(row[1]), int(row[2]))


def edge(t: float, shift: float = 0.0) -> float:
    """The most days left (stored: one use a day, the test forecast's spreads) at which a
    new one arriving in ``t`` days is offered, for a household with this threshold shift."""
    z = risk.z_of(risk.threshold_of(TABLETS, shift))
    return t - z * EmptyTime(0.0, 1.0, 0.01).sd(t) + risk.WHOLE_USE  # + half a use: stored


def days_between(shift_a: float, shift_b: float, lead: float) -> float:
    """Days left that a household with threshold shift ``shift_a`` is offered at a lead time
    of ``lead`` and one with ``shift_b`` is not: half way between where each would be."""
    a, b = edge(lead + NEXT, shift_a), edge(lead + NEXT, shift_b)
    assert a > b + 0.2, "the two thresholds must differ"
    return (a + b) / 2


# ---- the statement and the rule ----------------------------------------------------------


@pytest.mark.parametrize("elapsed_h", [0.0, 7.5])
def test_the_statement_decides_as_the_rule_does_on_constructed_forecasts(
        db: Conn, stock: Callable[[str, str, int], None], elapsed_h: float) -> None:
    """Narrow and wide intervals, days left from half a day to nine, whole uses and litres,
    a time limit; a pickup tomorrow (Xuhui), a pickup at a store nearby in two days (Pudong,
    not online) and a delivery in three (Beijing, not in its store); one customer each."""
    stock("ONLINE", "DET-TAB-30", 0)
    stock("BJ-SIYUAN", "FLT-RO-1", 0)
    stock("SH-PUDONG", "DET-TAB-30", 0)
    rng = random.Random(7)
    computed = NOW - timedelta(hours=elapsed_h)
    cases = []
    for home, sku, device, lead in (("SH-XUHUI", "DET-TAB-30", "DW-60", 1),
                                    ("SH-PUDONG", "DET-TAB-30", "DW-60", 2),
                                    ("BJ-SIYUAN", "FLT-RO-1", "WP-500", 3)):
        for _ in range(14):
            days = rng.uniform(0.5, 9.0)
            daily_sd = rng.choice([0.1, 0.4, 1.0, 2.0])
            basis, metric = rng.choice([("usage", "count"), ("usage", "flow_l"),
                                        ("time", None)])
            owner = customer(db, home)
            instance = product(db, owner, device)
            forecast(db, instance, sku, days, daily_sd=daily_sd, rate_sd=0.1, basis=basis,
                     metric=metric, computed_at=computed)
            empty = EmptyTime.of(days, basis, 1.0, daily_sd, 0.1, metric)
            t = (NOW - computed).total_seconds() / 86400 + lead + NEXT
            z = risk.category_z(TABLETS if sku == "DET-TAB-30" else "water_filter")
            cases.append((owner, lead, risk.due(empty, t, z)))

    evaluate(db)

    made = {o["customer_id"]: o["lead_days"] for o in all_offers(db)}
    assert {owner: made.get(owner) for owner, _, _ in cases} == {
        owner: lead if is_due else None for owner, lead, is_due in cases}
    assert 10 <= len(made) <= len(cases) - 10  # both answers were tested


def test_a_household_shift_moves_only_its_own_decision(db: Conn) -> None:
    earlier, other = customer(db), customer(db)
    days = days_between(-0.5, 0.0, lead=1)
    for owner in (earlier, other):
        forecast(db, product(db, owner, "DW-60"), "DET-TAB-30", days)
    earlier_dishwasher = db.execute("SELECT id FROM product_instances WHERE owner_id = %s",
                                    (earlier,)).fetchone()
    assert earlier_dishwasher is not None
    db.execute("INSERT INTO household_timing (customer_id, instance_id, item_sku, "
               "threshold_shift, updated_at) VALUES (%s, %s, 'DET-TAB-30', -0.5, %s)",
               (earlier, earlier_dishwasher[0], NOW))

    evaluate(db)

    assert [o["customer_id"] for o in all_offers(db)] == [earlier]


def test_an_offer_goes_before_quiet_hours_when_waiting_for_their_end_would_be_too_late(
        db: Conn) -> None:
    at = NOW.replace(hour=13, minute=50)  # 21:50 in Shanghai
    quiet, awake = customer(db), customer(db)  # 22:00-08:00; none
    db.execute("UPDATE customers SET quiet_start = '00:00', quiet_end = '00:00' "
               "WHERE id = %s", (awake,))
    # The next evaluation (22:05) could not reach the first before 08:00, the second at once.
    reach_quiet, reach_awake = 1 + (10 + 10 / 60) / 24, 1 + NEXT
    days = (edge(reach_quiet) + edge(reach_awake)) / 2
    for owner in (quiet, awake):
        forecast(db, product(db, owner, "DW-60"), "DET-TAB-30", days, computed_at=at)

    evaluate(db, at)

    assert [(o["customer_id"], o["status"]) for o in all_offers(db)] == [(quiet, "pending")]


# ---- the answers -------------------------------------------------------------------------


def test_still_have_some_makes_the_next_offer_come_later(db: Conn) -> None:
    snoozer, other = customer(db), customer(db)
    dishwasher = product(db, snoozer, "DW-60")
    forecast(db, dishwasher, "DET-TAB-30", 1.0)  # this pack: due
    evaluate(db)
    [offer] = offered(db, snoozer)

    view = offers.snooze(db, snoozer, offer["id"], NOW, "en")
    again = offers.snooze(db, snoozer, offer["id"], NOW, "en")

    assert view.offer.status == again.offer.status == "snoozed"
    assert timing_of(db, snoozer) == (0.5, 0, 1)  # once: again changes nothing
    # The next pack, weeks later: the same forecast for both households.
    later = NOW + timedelta(days=30)
    days = days_between(0.0, 0.5, lead=1)
    forecast(db, dishwasher, "DET-TAB-30", days, cycle_start=NOW + timedelta(days=2),
             computed_at=later)
    forecast(db, product(db, other, "DW-60"), "DET-TAB-30", days,
             cycle_start=NOW + timedelta(days=2), computed_at=later)
    evaluate(db, later)
    assert offered(db, other) != [] and len(offered(db, snoozer)) == 1  # not yet
    assert timing_of(db, other) is None
    # ... and when it does run low, it is offered too.
    forecast(db, dishwasher, "DET-TAB-30", 1.0, cycle_start=NOW + timedelta(days=2),
             computed_at=later + timedelta(days=1))
    evaluate(db, later + timedelta(days=1))
    assert len(offered(db, snoozer)) == 2


def test_already_bought_closes_the_offer_and_makes_the_next_come_earlier(db: Conn) -> None:
    bought, other = customer(db), customer(db)
    dishwasher = product(db, bought, "DW-60")
    forecast(db, dishwasher, "DET-TAB-30", 1.0)
    evaluate(db)
    [offer] = offered(db, bought)

    assert offers.already_bought(db, bought, offer["id"], NOW, "en").offer.status == (
        "already_bought")
    assert timing_of(db, bought) == (-0.5, 0, 1)
    later = NOW + timedelta(days=30)
    days = days_between(-0.5, 0.0, lead=1)
    forecast(db, dishwasher, "DET-TAB-30", days, cycle_start=NOW + timedelta(days=2),
             computed_at=later)
    forecast(db, product(db, other, "DW-60"), "DET-TAB-30", days,
             cycle_start=NOW + timedelta(days=2), computed_at=later)
    evaluate(db, later)
    assert len(offered(db, bought)) == 2 and offered(db, other) == []


# ---- packs that end: through the tag, the forecast run and the evaluation --------------------


def dishwasher_with_history(db: Conn, provisioned: Provision, now: datetime,
                            runs_in_box: int) -> tuple[Credentials, int, int, float]:
    """A Xuhui customer's dishwasher: about one run a day for five weeks, its tablet box
    fitted (a tap naming it) ``runs_in_box`` runs ago; (tag, owner, instance, counter)."""
    tag = provisioned("DW-60", 1)[0]
    owner = customer(db, "SH-XUHUI")
    customers.claim(db, owner, device_id=tag.device_id, via="nfc_tap")
    return tag, owner, tag.instance_id, write_history(db, tag, now, runs_in_box)


def write_history(db: Conn, tag: Credentials, now: datetime, runs_in_box: int) -> float:
    """Hourly counter readings of the runs (the same ones for every tag); the last count."""
    rng = random.Random(5)
    runs = sorted(now - timedelta(days=d + rng.random()) for d in range(35)
                  for _ in range(rng.choice([0, 1, 1, 1, 2])))
    fitted = runs[-runs_in_box] - timedelta(minutes=30)
    hours = [now - timedelta(hours=h) for h in range(35 * 24, 0, -1)]
    readings = [(t, {"count": 500.0 + sum(1 for r in runs if r <= t)}) for t in hours]
    write_through_gateway(db, tag.device_id, readings,
                          [(fitted, "nfc_tap", {"part": "DET-TAB-30"})], max_age_days=60)
    return readings[-1][1]["count"]


def refill(db: Conn, tag: Credentials, at: datetime, count: float) -> None:
    """A new box, tapped on the tag at ``at``; the counter reports on (no run since)."""
    write_through_gateway(db, tag.device_id, [(at + timedelta(minutes=30), {"count": count})],
                          [(at, "nfc_tap", {"part": "DET-TAB-30"})], max_age_days=60)


def run_forecasts(db: Conn, *ids: int, now: datetime) -> dict[int, store.StoredForecast]:
    with db.transaction():
        service.forecast_instances(db, list(ids), now)
    return {i: f for i in ids for f, _, _ in store.list_forecasts(db, i)
            if f.item_sku == "DET-TAB-30"}


def test_a_late_acceptance_makes_the_next_offer_come_earlier(
        db: Conn, provisioned: Provision, settings: Settings) -> None:
    now = clock.now().replace(microsecond=0) - timedelta(hours=5)  # what follows has happened
    tag, owner, dishwasher, count = dishwasher_with_history(db, provisioned, now,
                                                           runs_in_box=29)
    before = run_forecasts(db, dishwasher, now=now)[dishwasher]
    assert before.days_left is not None and before.days_left < 2  # one tablet left
    evaluate(db, now)
    [offer] = offered(db, owner)
    accepted = order_requests.accept(db, settings, owner, offer["id"],
                                     order_requests.Choice(), now)
    assert accepted.ready_by == now + timedelta(days=1)  # set aside at Xuhui for tomorrow

    # They could not wait: a box from elsewhere, three hours later.
    refill(db, tag, now + timedelta(hours=3), count)
    after = run_forecasts(db, dishwasher, now=now + timedelta(hours=4))[dishwasher]

    assert after.cycle_start > before.cycle_start  # a new pack
    shift, packs, _ = timing_of(db, owner) or (0.0, 0, 0)
    assert (shift, packs) == (-0.5, 1)  # late; and the box gave about what it says
    # The next pack, weeks later: the same forecast for them and for another household.
    other = customer(db, "SH-XUHUI")
    # At 10:00 in the customers' time zone: this test is about what the household taught, not
    # about an evening's quiet hours moving both offers earlier (tests of its own).
    later = (now + timedelta(days=25)).astimezone(SHANGHAI).replace(hour=10, minute=0)
    days = days_between(-0.5, 0.0, lead=1)
    forecast(db, dishwasher, "DET-TAB-30", days, cycle_start=after.cycle_start,
             computed_at=later)
    forecast(db, product(db, other, "DW-60"), "DET-TAB-30", days,
             cycle_start=after.cycle_start, computed_at=later)
    evaluate(db, later)
    assert len(offered(db, owner)) == 2 and offered(db, other) == []


def test_a_refill_bought_elsewhere_restarts_the_cycle_without_an_offer(
        db: Conn, provisioned: Provision) -> None:
    now = clock.now().replace(microsecond=0) - timedelta(hours=5)  # what follows has happened
    # This household got 35 runs out of a box of 30 before it was empty to them.
    tag, owner, dishwasher, count = dishwasher_with_history(db, provisioned, now,
                                                           runs_in_box=35)
    run_forecasts(db, dishwasher, now=now)
    evaluate(db, now)
    [offer] = offered(db, owner)
    assert offer["status"] in ("pending", "deferred")

    refill(db, tag, now + timedelta(hours=2), count)  # bought elsewhere: no order
    mine = run_forecasts(db, dishwasher, now=now + timedelta(hours=3))[dishwasher]
    result = evaluate(db, now + timedelta(hours=3))

    assert (result.created, result.withdrawn) == (0, 1)
    assert [o["status"] for o in offered(db, owner)] == ["expired"]  # nothing left to offer
    assert mine.days_left is not None and mine.days_left > 20  # a full box
    _, packs, _ = timing_of(db, owner) or (0.0, 0, 0)
    assert packs == 1  # counted, though we sold nothing
    # The same tag history at another household, forecast for the first time now: their
    # pack is the catalog's; this one's goes further, so its date is later.
    other_tag = provisioned("DW-60", 1)[0]
    other = customer(db, "SH-XUHUI")
    customers.claim(db, other, device_id=other_tag.device_id, via="nfc_tap")
    refill(db, other_tag, now + timedelta(hours=2), write_history(db, other_tag, now, 35))
    theirs = run_forecasts(db, other_tag.instance_id, now=now + timedelta(hours=3))
    assert theirs[other_tag.instance_id].days_left is not None
    assert mine.days_left > theirs[other_tag.instance_id].days_left + 1.5
    assert timing_of(db, other) is None
