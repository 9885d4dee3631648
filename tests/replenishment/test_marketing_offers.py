"""Up-sell, cross-sell and points offers: who gets them, what they say, and how often."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from customers.consents import set_consents
from tests.replenishment.test_offers import (
    NOW,
    all_offers,
    customer,
    evaluate,
    forecast,
    product,
)

Conn = psycopg.Connection[tuple[Any, ...]]


def by_id(db: Conn) -> list[dict[str, Any]]:
    return sorted(all_offers(db), key=lambda o: o["id"])


def kinds(db: Conn) -> list[tuple[str, list[str], str]]:
    return [(o["kind"], o["item_skus"], o["status"]) for o in by_id(db)]


def test_a_heavy_user_who_agreed_is_offered_the_bigger_pack(db: Conn) -> None:
    heavy = customer(db)
    set_consents(db, heavy, {"upsell": True})
    dishwasher = product(db, heavy, "DW-60")
    forecast(db, dishwasher, "DET-TAB-30", 2.0)  # a 30 pack a month at one tablet a day
    evaluate(db)
    assert kinds(db) == [("replenish", ["DET-TAB-30"], "pending"),
                         ("upsell", ["DET-TAB-90"], "pending")]
    upsell = by_id(db)[1]
    assert upsell["reason_en"] == (
        "You go through dishwasher tablets, 30 pack quickly: dishwasher tablets, 90 pack lasts "
        "longer and costs 14% less per use — pick it up at Shanghai Xuhui tomorrow.")
    assert upsell["reason_zh"] == ("您的洗碗机洗涤块 30粒用得比较快：洗碗机洗涤块 90粒更耐用，"  # noqa: RUF001
                                   "每次使用便宜14%——明天可到上海徐汇店自提。")
    assert evaluate(db, NOW + timedelta(hours=1)).created == 0  # once per cycle


def test_a_light_user_or_one_who_did_not_agree_gets_no_up_sell(db: Conn) -> None:
    light = customer(db)
    set_consents(db, light, {"upsell": True})
    dishwasher = product(db, light, "DW-60")
    forecast(db, dishwasher, "DET-TAB-30", 2.0)
    db.execute("UPDATE instance_forecasts SET rate_per_day = 0.5")  # a pack lasts two months
    silent = customer(db)
    forecast(db, product(db, silent, "DW-60"), "DET-TAB-30", 2.0)  # heavy, but never asked
    evaluate(db)
    assert sorted(k for k, _, _ in kinds(db)) == ["replenish", "replenish"]


def test_what_goes_with_a_restock_is_offered_unless_it_is_due_anyway(db: Conn) -> None:
    owner = customer(db)
    set_consents(db, owner, {"crosssell": True})
    machine = product(db, owner, "CM-100")
    forecast(db, machine, "POD-ESP-50", 1.0)
    evaluate(db)
    assert kinds(db) == [("replenish", ["POD-ESP-50"], "pending"),
                         ("crosssell", ["DESC-1"], "pending")]
    assert by_id(db)[1]["reason_en"] == (
        "Goes well with your espresso pods, 50: coffee machine descaler — pick it up at "
        "Shanghai Xuhui tomorrow.")

    # Another owner whose descaler falls due within the month anyway: no cross-sell.
    other = customer(db)
    set_consents(db, other, {"crosssell": True})
    theirs = product(db, other, "CM-100")
    forecast(db, theirs, "POD-ESP-50", 1.0)
    forecast(db, theirs, "DESC-1", 20.0)
    evaluate(db)
    assert [k for k, _, _ in kinds(db) if k == "crosssell"] == ["crosssell"]


def test_points_that_cover_an_item_are_told_once_a_month(db: Conn) -> None:
    rich, poor = customer(db), customer(db)
    for who, points in ((rich, 700), (poor, 300)):
        set_consents(db, who, {"points": True})
        db.execute("UPDATE customers SET points = %s WHERE id = %s", (points, who))
        product(db, who, "CM-100")
    evaluate(db)
    [offer] = all_offers(db)
    assert (offer["customer_id"], offer["kind"], offer["item_skus"]) == (rich, "points",
                                                                         ["DESC-1"])
    assert offer["reason_en"] == ("Your 700 points cover coffee machine descaler for your "
                                  "KAFFE capsule coffee machine (600 points) — pick it up at "
                                  "Shanghai Xuhui tomorrow.")
    assert evaluate(db, NOW + timedelta(days=1)).created == 0
    assert evaluate(db, NOW + timedelta(days=31)).created == 1


def test_marketing_comes_after_restocking_in_the_weekly_cap(db: Conn) -> None:
    owner = customer(db)
    set_consents(db, owner, {"upsell": True})
    forecast(db, product(db, owner, "DW-60"), "DET-TAB-30", 2.0)
    evaluate(db, weekly_cap=1)
    assert kinds(db) == [("replenish", ["DET-TAB-30"], "pending"),
                         ("upsell", ["DET-TAB-90"], "suppressed")]
    assert by_id(db)[1]["suppressed_reason"] == "weekly cap of 1 offers reached"
