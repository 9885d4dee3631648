"""Offer decisions over stored forecasts on the real database: sources and lead times,
bundles, idempotence under retries and two workers, and the no-spam rules.

Forecasts are written straight into ``instance_forecasts`` (their computation has its own
tests), ``now`` is fixed, so every date below is known. Unless a test says otherwise they
are a household's pace of one use a day, a day's use spreading by one use and the pace by
10 %: a wide interval near the end, so that a couple of days left is a real risk for a
pickup tomorrow and three and a half days is not (test_offer_risk.py holds the rule itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from customers import consents
from customers import store as customers
from homeloop.settings import Settings
from replenishment import offers, offers_store, risk
from tests.conftest import in_two_transactions_at_once

Conn = psycopg.Connection[tuple[Any, ...]]
# 10:00 in Shanghai: outside the default quiet hours (22:00-08:00).
NOW = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
_tags = iter(range(1, 1_000_000))


def product(db: Conn, owner: int, sku: str) -> int:
    row = db.execute(
        "INSERT INTO product_instances (sku, tag_uid, owner_id, claimed_at) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (sku, f"TAG{next(_tags):08X}", owner, NOW - timedelta(days=200))).fetchone()
    assert row is not None
    return int(row[0])


def forecast(db: Conn, instance_id: int, item_sku: str, days_left: float, *,
             kind: str = "consumable", cycle_start: datetime = NOW - timedelta(days=100),
             computed_at: datetime = NOW, daily_sd: float = 1.0, rate_sd: float = 0.1,
             basis: str = "usage", metric: str | None = "count",
             pack_days: tuple[float, float] | None = None) -> None:
    """A stored forecast as the hourly task writes it (upserted like it): a pace of one use
    a day, with these spreads, and its ``risk_from`` as the forecast service stores it."""
    empty = risk.EmptyTime.of(days_left, basis, 1.0, daily_sd, rate_sd, metric)
    low, high = pack_days or (None, None)
    db.execute(
        "INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, rate_per_day, "
        "used, remaining, days_left, confidence, basis, data_days, prior_weight, cycle_start, "
        "computed_at, due_at, daily_sd, rate_sd, pack_days_low, pack_days_high, risk_from) "
        "VALUES (%s, %s, %s, %s, 1, 10, %s, %s, 0.8, %s, 30, 0.05, %s, %s, %s, %s, %s, %s, %s, "
        "%s) ON CONFLICT (instance_id, item_sku, kind) DO UPDATE SET "
        "days_left = excluded.days_left, cycle_start = excluded.cycle_start, "
        "computed_at = excluded.computed_at, due_at = excluded.due_at, "
        "daily_sd = excluded.daily_sd, rate_sd = excluded.rate_sd, basis = excluded.basis, "
        "metric = excluded.metric, pack_days_low = excluded.pack_days_low, "
        "pack_days_high = excluded.pack_days_high, risk_from = excluded.risk_from",
        (instance_id, item_sku, kind, metric, days_left, days_left, basis, cycle_start,
         computed_at, computed_at + timedelta(days=days_left), daily_sd, rate_sd, low, high,
         computed_at + timedelta(days=empty.quantile(risk.LOWEST))))


def customer(db: Conn, home: str | None = "SH-XUHUI", locale: str = "en",
             timezone: str = "Asia/Shanghai") -> int:
    return customers.create_customer(db, "Wang", locale=locale, timezone=timezone,
                                     home_store_id=home)


def evaluate(db: Conn, now: datetime = NOW, **rules: Any) -> offers.EvaluateResult:
    with db.transaction():
        return offers.evaluate(db, now, offers.OfferRules(**rules))


def all_offers(db: Conn) -> list[dict[str, Any]]:
    cur = db.execute("SELECT * FROM offers ORDER BY due_at, id")
    names = [c.name for c in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# --- where it comes from, and when that is soon enough ----------------------------------


def test_home_store_stock_is_a_pickup_tomorrow_with_delivery_as_the_alternative(
        db: Conn) -> None:
    owner = customer(db, "SH-XUHUI")
    purifier = product(db, owner, "WP-500")
    forecast(db, purifier, "FLT-PP-1", 2.6, pack_days=(150.0, 175.0))

    assert evaluate(db).created == 1

    [offer] = all_offers(db)
    assert (offer["kind"], offer["fulfilment"], offer["store_id"], offer["lead_days"]) == (
        "replenish", "pickup", "SH-XUHUI", 1)
    assert offer["item_skus"] == ["FLT-PP-1"] and offer["instance_id"] == purifier
    assert offer["status"] == "pending" and offer["deliver_after"] == NOW
    # Why now: how long one lasts them, and how long a new one takes to reach them.
    assert offer["reason_en"] == (
        "PP cotton pre-filter: about 3 days left at your usual pace; a filter usually lasts "
        "you 5–6 months, and a new one takes 1 day to reach you — pick it up at Shanghai "  # noqa: RUF001
        "Xuhui tomorrow, or have it delivered in 3 days.")
    assert offer["reason_zh"] == (
        "PP棉前置滤芯：按您平时的用量，大约还能用 3 天；一支滤芯您通常能用 5–6 个月，"  # noqa: RUF001
        "新的需要 1 天才能到您手上——明天可到上海徐汇店自提，或送货上门，约 3 天送达。")  # noqa: RUF001
    assert offer["due_at"] == NOW + timedelta(days=2.6)
    assert offer["expires_at"] == offer["due_at"] + timedelta(days=3)


def test_the_lead_time_of_the_source_decides_when_it_is_soon_enough(
        db: Conn, stock: Callable[[str, str, int], None]) -> None:
    # Four days left, give or take half a day a day: almost surely not empty before a pickup
    # tomorrow, quite possibly before a delivery in three: the RO membrane is out of stock in
    # Pudong.
    at_home, not_at_home = customer(db, "SH-XUHUI"), customer(db, "SH-PUDONG")
    forecast(db, product(db, at_home, "WP-500"), "FLT-RO-1", 4.0, daily_sd=0.5)
    forecast(db, product(db, not_at_home, "WP-500"), "FLT-RO-1", 4.0, daily_sd=0.5)

    evaluate(db)

    [offer] = all_offers(db)
    assert offer["customer_id"] == not_at_home
    assert (offer["fulfilment"], offer["store_id"], offer["lead_days"]) == (
        "delivery", "ONLINE", 3)
    assert offer["reason_en"].endswith(
        "a new one takes 3 days to reach you — have it delivered in 3 days.")


def test_stock_only_at_another_store_is_a_pickup_at_the_nearest_one(
        db: Conn, stock: Callable[[str, str, int], None]) -> None:
    stock("ONLINE", "FLT-RO-1", 0)  # not at home (Pudong), not online; Xuhui and Beijing have it
    owner = customer(db, "SH-PUDONG")
    forecast(db, product(db, owner, "WP-500"), "FLT-RO-1", 3.5)

    evaluate(db)

    [offer] = all_offers(db)
    # Xuhui is about 11 km from Pudong: a day, plus one per started 25 km.
    assert (offer["fulfilment"], offer["store_id"], offer["lead_days"]) == (
        "pickup", "SH-XUHUI", 2)
    assert "pick it up at Shanghai Xuhui in 2 days." in offer["reason_en"]
    assert ", or have it delivered" not in offer["reason_en"]


def test_nothing_in_stock_within_reach_means_no_offer_yet(
        db: Conn, stock: Callable[[str, str, int], None]) -> None:
    stock("ONLINE", "FLT-RO-1", 0)
    stock("SH-XUHUI", "FLT-RO-1", 0)  # only Beijing has it, 1,000 km away
    owner = customer(db, "SH-PUDONG")
    forecast(db, product(db, owner, "WP-500"), "FLT-RO-1", 1.0)

    assert evaluate(db).created == 0


def test_no_offer_while_running_out_before_a_new_one_arrives_is_unlikely(db: Conn) -> None:
    owner = customer(db)
    purifier = product(db, owner, "WP-500")
    forecast(db, purifier, "FLT-PP-1", 4.0, daily_sd=0.5)  # a pickup is there tomorrow
    forecast(db, product(db, owner, "CM-100"), "SVC-DESCALE", 6.5, kind="service",
             daily_sd=0.5)  # a technician's visit takes three days

    assert evaluate(db).created == 0
    assert all_offers(db) == []

    forecast(db, purifier, "FLT-PP-1", 2.0, daily_sd=0.5)  # a later forecast: the pace went up
    assert evaluate(db).created == 1


def test_a_service_due_is_a_maintenance_visit_booked_through_the_home_store(db: Conn) -> None:
    owner = customer(db, "SH-XUHUI", locale="zh-CN")
    machine = product(db, owner, "CM-100")
    forecast(db, machine, "SVC-DESCALE", 4.2, kind="service")

    evaluate(db)

    [offer] = all_offers(db)
    assert (offer["kind"], offer["fulfilment"], offer["store_id"], offer["lead_days"]) == (
        "maintenance", "visit", "SH-XUHUI", 3)
    assert offer["reason_en"] == ("Descaling service for your KAFFE capsule coffee machine: "
                                  "service due in about 4 days at your usual pace — book a "
                                  "visit through Shanghai Xuhui.")
    assert offer["reason_zh"].startswith("KAFFE 胶囊咖啡机的咖啡机除垢服务：")  # noqa: RUF001


# --- bundles -------------------------------------------------------------------------


def test_consumables_of_one_customer_due_the_same_week_join_one_offer(db: Conn) -> None:
    owner = customer(db)
    dishwasher, purifier = product(db, owner, "DW-60"), product(db, owner, "WP-500")
    forecast(db, dishwasher, "DET-TAB-30", 2.0)  # due: the anchor
    forecast(db, dishwasher, "RINSE-500", 6.5)  # not due yet, but the same week
    forecast(db, purifier, "FLT-PP-1", 8.5)  # within the week of the anchor (2 + 7)
    forecast(db, purifier, "FLT-RO-1", 9.5)  # not: the next run will see to it
    other = customer(db)
    forecast(db, product(db, other, "DW-60"), "RINSE-500", 1.0)  # someone else's

    assert evaluate(db).created == 2

    mine = [o for o in all_offers(db) if o["customer_id"] == owner]
    assert len(mine) == 1
    bundle = mine[0]
    assert bundle["item_skus"] == ["DET-TAB-30", "RINSE-500", "FLT-PP-1"]
    assert bundle["instance_id"] == dishwasher and bundle["due_at"] == NOW + timedelta(days=2)
    assert bundle["reason_en"] == (
        "Dishwasher tablets, 30 pack: about 2 days left at your usual pace; rinse aid 500 ml: "
        "about 6 days left at your usual pace; PP cotton pre-filter: about 8 days left at "
        "your usual pace, and new ones take 1 day to reach you — pick them up at Shanghai "
        "Xuhui tomorrow, or have them delivered in 3 days.")
    lines = db.execute("SELECT instance_id, item_sku FROM offer_lines WHERE offer_id = %s "
                       "ORDER BY item_sku", (bundle["id"],)).fetchall()
    assert lines == [(dishwasher, "DET-TAB-30"), (purifier, "FLT-PP-1"),
                     (dishwasher, "RINSE-500")]


# --- once per cycle: retries, two workers, a new consumable --------------------------


def test_evaluating_again_creates_nothing_until_a_new_cycle_begins(db: Conn) -> None:
    owner = customer(db)
    dishwasher = product(db, owner, "DW-60")
    forecast(db, dishwasher, "DET-TAB-30", 1.0)
    forecast(db, dishwasher, "RINSE-500", 4.0)

    assert evaluate(db).created == 1
    assert evaluate(db).created == 0
    # The next forecast says the same cycle has less left: still the same offer.
    forecast(db, dishwasher, "DET-TAB-30", 0.2, computed_at=NOW + timedelta(hours=5))
    assert evaluate(db, NOW + timedelta(hours=5)).created == 0
    # Dismissed: not offered again this cycle either.
    db.execute("UPDATE offers SET status = 'dismissed'")
    assert evaluate(db, NOW + timedelta(hours=6)).created == 0
    assert len(all_offers(db)) == 1

    # A new box was fitted and has run down: a new cycle, a new offer for it alone.
    later = NOW + timedelta(days=29)
    forecast(db, dishwasher, "DET-TAB-30", 1.0, cycle_start=NOW + timedelta(days=1),
             computed_at=later)
    assert evaluate(db, later).created == 1
    assert [o["item_skus"] for o in all_offers(db)] == [["DET-TAB-30", "RINSE-500"],
                                                        ["DET-TAB-30"]]


def test_two_evaluations_at_once_make_one_offer(db: Conn, settings: Settings) -> None:
    owner = customer(db)
    forecast(db, product(db, owner, "DW-60"), "DET-TAB-30", 1.0)
    results = in_two_transactions_at_once(settings, lambda conn: offers.evaluate(conn, NOW))
    assert sorted(r.created for r in results) == [0, 1]
    assert len(all_offers(db)) == 1


def test_the_cycle_key_alone_keeps_a_second_writer_from_storing_the_offer_twice(
        db: Conn, settings: Settings) -> None:
    """Without the evaluation lock: two transactions decide the same offer; the second
    waits on the first's unique key, then stores nothing."""
    owner = customer(db)
    forecast(db, product(db, owner, "DW-60"), "DET-TAB-30", 1.0)
    rules = offers.OfferRules()

    def decide(conn: Conn) -> list[int]:
        found = offers_store.candidates(
            conn, NOW, bundle_days=rules.bundle_days, nearby_km=rules.nearby_store_km,
            service_lead_days=rules.service_lead_days,
            next_evaluation_days=rules.every_minutes / 1440)
        return offers_store.insert_offers(conn, [offers._worded(c) for c in found], NOW, 3)

    second: list[list[int]] = []
    with psycopg.connect(settings.database_url) as first, \
            psycopg.connect(settings.database_url) as other:
        assert len(decide(first)) == 1  # not committed yet
        thread = threading.Thread(target=lambda: second.append(decide(other)))
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive()  # waiting on the first's key
        first.commit()
        thread.join(timeout=10)
        other.commit()

    assert second == [[]]
    assert len(all_offers(db)) == 1
    assert db.execute("SELECT count(*) FROM offer_lines").fetchone() == (1,)


# --- no spam ---------------------------------------------------------------------------


def test_a_fourth_offer_in_seven_days_is_suppressed_with_the_reason(db: Conn) -> None:
    owner = customer(db)
    # Services make one offer each; a week-old offer no longer counts.
    for days in (0.5, 1.0, 1.5, 2.0):
        forecast(db, product(db, owner, "CM-100"), "SVC-DESCALE", days, kind="service")
    old = product(db, owner, "FLOOR-OAK")
    forecast(db, old, "SVC-FLOOR-CARE", 1.0, kind="service", computed_at=NOW - timedelta(days=8))
    assert evaluate(db, NOW - timedelta(days=8)).created == 1

    result = evaluate(db)

    assert (result.created, result.pending, result.suppressed) == (4, 3, 1)
    new = [o for o in all_offers(db) if o["decided_at"] == NOW]
    assert [o["status"] for o in new] == ["pending", "pending", "pending", "suppressed"]
    assert new[-1]["suppressed_reason"] == "weekly cap of 3 offers reached"
    assert new[-1]["due_at"] == NOW + timedelta(days=2)  # the latest due is the one held back


def test_offers_already_given_this_week_count_toward_the_cap(db: Conn) -> None:
    owner = customer(db)
    for days in (1.0, 1.2):
        forecast(db, product(db, owner, "CM-100"), "SVC-DESCALE", days, kind="service",
                 computed_at=NOW - timedelta(days=3))
    assert evaluate(db, NOW - timedelta(days=3)).pending == 2
    for days in (1.0, 1.5):
        forecast(db, product(db, owner, "CM-100"), "SVC-DESCALE", days, kind="service")

    result = evaluate(db)

    assert (result.created, result.pending, result.suppressed) == (2, 1, 1)


def test_an_offer_decided_in_quiet_hours_is_deferred_to_their_end_in_local_time(
        db: Conn) -> None:
    shanghai = customer(db, timezone="Asia/Shanghai")
    berlin = customer(db, timezone="Europe/Berlin")
    for owner in (shanghai, berlin):
        forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 2.0)
    at = datetime(2025, 3, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, 16:30 in Berlin

    result = evaluate(db, at)

    assert (result.deferred, result.pending) == (1, 1)
    by_customer = {o["customer_id"]: o for o in all_offers(db)}
    assert by_customer[shanghai]["status"] == "deferred"
    assert by_customer[shanghai]["deliver_after"] == datetime(2025, 3, 11, 0, 0, tzinfo=UTC)
    assert by_customer[berlin]["status"] == "pending"
    assert by_customer[berlin]["deliver_after"] == at

    # 08:00 in Shanghai: the next evaluation releases it.
    assert evaluate(db, datetime(2025, 3, 11, 0, 0, tzinfo=UTC)).released == 1
    assert {o["status"] for o in all_offers(db)} == {"pending"}


@pytest.mark.parametrize("at, ends", [
    # Berlin springs forward at 02:00 CET on 28 March 2027: 08:00 that morning is CEST.
    (datetime(2027, 3, 28, 0, 59, 30, tzinfo=UTC), datetime(2027, 3, 28, 6, 0, tzinfo=UTC)),
    # ... and falls back at 03:00 CEST on 31 October 2027: 08:00 that morning is CET.
    (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 7, 0, tzinfo=UTC)),
])
def test_quiet_hours_end_at_local_8_across_a_daylight_saving_change(
        db: Conn, at: datetime, ends: datetime) -> None:
    owner = customer(db, timezone="Europe/Berlin")  # quiet 22:00-08:00 by default
    forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 2.0, computed_at=at)

    evaluate(db, at)

    [offer] = all_offers(db)
    assert (offer["status"], offer["deliver_after"]) == ("deferred", ends)
    assert evaluate(db, ends - timedelta(seconds=1)).released == 0
    assert evaluate(db, ends).released == 1


def test_after_midnight_the_deferral_ends_the_same_morning(db: Conn) -> None:
    owner = customer(db, timezone="Asia/Shanghai")
    db.execute("UPDATE customers SET quiet_start = '21:00', quiet_end = '07:30' WHERE id = %s",
               (owner,))
    forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 2.0)

    evaluate(db, datetime(2025, 3, 10, 18, 15, tzinfo=UTC))  # 02:15 on the 11th, local

    [offer] = all_offers(db)
    assert offer["status"] == "deferred"
    assert offer["deliver_after"] == datetime(2025, 3, 10, 23, 30, tzinfo=UTC)  # 07:30 local


def test_opting_out_or_refusing_a_kind_suppresses_with_the_reason(db: Conn) -> None:
    refused, opted_out = customer(db), customer(db)
    consents.set_consents(db, refused, {"replenish": False})
    consents.set_consents(db, opted_out, {}, opted_out=True)
    for owner in (refused, opted_out):
        forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 1.0)

    result = evaluate(db)

    assert (result.created, result.suppressed) == (2, 2)
    reasons = {o["customer_id"]: o["suppressed_reason"] for o in all_offers(db)}
    assert reasons == {refused: "no consent for replenish push",
                       opted_out: "customer opted out"}
    history = db.execute("SELECT customer_id, kind, granted FROM consent_changes "
                         "ORDER BY id").fetchall()
    assert history == [(refused, "replenish", False), (opted_out, "*", False)]


def _store_offer(db: Conn, owner: int, instance_id: int, kind: str) -> int:
    new = offers_store.NewOffer(
        customer_id=owner, instance_id=instance_id, kind=kind, item_skus=["FLT-RO-XL"],
        cycle_key=f"{instance_id}:{kind}", reason_en="x", reason_zh="x", fulfilment="pickup",
        store_id="SH-XUHUI", lead_days=1, due_at=NOW.isoformat(), lines=[])
    [offer_id] = offers_store.insert_offers(db, [new], NOW, 3)
    return offer_id


def test_marketing_needs_consent_and_quality_notices_reach_those_who_opted_out(
        db: Conn) -> None:
    owner, agreed = customer(db), customer(db)
    consents.set_consents(db, agreed, {"upsell": True})
    ids = [_store_offer(db, owner, product(db, owner, "WP-500"), "upsell"),
           _store_offer(db, agreed, product(db, agreed, "WP-500"), "upsell")]
    assert offers_store.apply_no_spam(db, ids, NOW, 3) == {"suppressed": 1, "pending": 1}
    status = dict(db.execute("SELECT customer_id, suppressed_reason FROM offers").fetchall())
    assert status == {owner: "no consent for marketing push", agreed: None}

    consents.set_consents(db, agreed, {}, opted_out=True)
    machine = product(db, agreed, "CM-100")
    ids = [_store_offer(db, agreed, machine, "quality"),
           _store_offer(db, agreed, machine, "maintenance")]
    assert offers_store.apply_no_spam(db, ids, NOW, 3) == {"pending": 1, "suppressed": 1}
    assert db.execute("SELECT kind, status FROM offers WHERE id = ANY(%s) ORDER BY kind",
                      (ids,)).fetchall() == [("maintenance", "suppressed"),
                                             ("quality", "pending")]


def test_open_offers_lapse_at_their_expiry(db: Conn) -> None:
    owner = customer(db)
    forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 1.0)
    evaluate(db)
    [offer] = all_offers(db)

    assert evaluate(db, offer["expires_at"] - timedelta(seconds=1)).expired == 0
    assert evaluate(db, offer["expires_at"]).expired == 1
    assert all_offers(db)[0]["status"] == "expired"


def test_the_task_function_commits_its_evaluation(db: Conn, settings: Settings) -> None:
    from homeloop.worker import make_celery
    from replenishment.tasks import run_offers

    owner = customer(db)
    forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 1.0)

    assert run_offers(settings, NOW).created == 1
    assert run_offers(settings, NOW).created == 0
    assert len(all_offers(db)) == 1  # committed: seen from another connection
    schedule = make_celery(settings).conf.beat_schedule["evaluate-offers"]
    assert schedule["task"] == "replenishment.evaluate_offers"
