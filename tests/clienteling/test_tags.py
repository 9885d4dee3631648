"""Derived tags: rules over constructed histories, incremental by the queue, behaviour tags
only with the customer's consent to usage analytics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from clienteling import service, store, tags
from clienteling.tags import Facts, OrderFact
from homeloop import clock
from homeloop.settings import Settings
from identity.privacy import set_purposes

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

TODAY = date(2026, 6, 15)


def _at(days_ago: int) -> datetime:
    return datetime(2026, 6, 15, 12, tzinfo=UTC) - timedelta(days=days_ago)


def test_tags_follow_the_rules_on_constructed_histories() -> None:
    big_discounted = Facts(today=TODAY, orders=[OrderFact(_at(10), 900_000, 2, 1),
                                                OrderFact(_at(40), 300_000, 2, 1),
                                                OrderFact(_at(90), 600_000, 1, 1)],
                           move_in_date=TODAY - timedelta(days=30),
                           birthday=date(1990, 6, 2), tagged_products=2,
                           due_soon=["PP cotton pre-filter"])
    got = tags.derive(big_discounted)
    assert set(got) == {"big_spender", "discount_sensitive", "repeat_buyer", "new_home",
                        "birthday_month", "smart_home", "maintenance_due"}
    assert got["big_spender"] == "average order ¥6,000"
    assert got["discount_sensitive"] == "3 of 5 lines bought on discount"
    assert got["new_home"] == "moved in 30 days ago"

    old = Facts(today=TODAY, orders=[OrderFact(_at(400), 100_000, 3, 0)],
                move_in_date=TODAY - timedelta(days=400))
    assert tags.derive(old) == {"lapsed": "last order 400 days ago"}
    assert tags.derive(Facts(today=TODAY)) == {}


def test_browsing_tags_need_consent_to_usage_analytics() -> None:
    views = ["sofa", "sofa", "sofa", "lamp"]
    assert tags.derive(Facts(today=TODAY, viewed_categories=views)) == {}
    with_consent = tags.derive(Facts(today=TODAY, viewed_categories=views, usage_analytics=True))
    assert with_consent == {"browsing:sofa": "looked at 3 sofa products in 30 days"}


def test_the_task_recomputes_only_changed_customers_and_drops_tags_that_no_longer_hold(
        settings: Settings, db: Any, customer: int) -> None:
    from clienteling.tasks import run_tags

    other = int(db.execute("INSERT INTO customers (display_name) VALUES ('Other') RETURNING id")
                .fetchone()[0])
    now = clock.now()
    for _ in range(3):
        store.add_view(db, "session-abcdef", customer, "SOFA-3-GREY", "SH-XUHUI", now)
    store.add_view(db, "session-other1", other, "SOFA-2-BEIGE", "SH-XUHUI", now)
    set_purposes(db, customer, {"usage_analytics": True})
    store.upsert_profile(db, customer, {"move_in_date": now.date() - timedelta(days=20)}, now)
    store.mark_changed(db, customer, now)
    assert run_tags(settings) == 1
    held = {t["tag"]: t["reason"] for t in store.tags(db, customer)}
    assert held == {"new_home": "moved in 20 days ago",
                    "browsing:sofa": "looked at 3 sofa products in 30 days"}
    assert store.tags(db, other) == []  # not queued, not computed
    assert run_tags(settings) == 0  # the queue is empty

    # The customer withdraws consent to usage analytics: the behaviour tag goes.
    set_purposes(db, customer, {"usage_analytics": False})
    store.mark_changed(db, customer, now)
    store.set_manual_tag(db, customer, "prefers-weekends", "staff:1", now)
    assert run_tags(settings) == 1
    assert {(t["tag"], t["source"]) for t in store.tags(db, customer)} == {
        ("new_home", "rule"), ("prefers-weekends", "manual")}


def test_an_order_queues_its_customer(db: Any, customer: int, settings: Settings) -> None:
    from orders import service as orders
    from orders.schemas import LineIn

    now = clock.now()
    orders.place_order(db, customer, "SH-XUHUI", "staff:1", [LineIn(sku="SOFA-CORNER")], now,
                       nearby_km=settings.nearby_store_km)
    queued = [r[0] for r in db.execute("SELECT customer_id FROM tag_queue")]
    assert queued == [customer]
    service.refresh_tags(db, queued, now)
    assert {t["tag"] for t in store.tags(db, customer)} == {"big_spender"}


@pytest.mark.real_clock("the Celery worker is another process, on the machine's clock")
def test_the_tag_and_day_tasks_run_on_a_real_worker(settings: Settings, db: Any,
                                                     customer: int) -> None:
    import subprocess
    import sys

    from homeloop.worker import make_celery
    from tests.conftest import process_env

    moved_in = store.store_today(clock.now()) - timedelta(days=3)
    store.upsert_profile(db, customer, {"move_in_date": moved_in}, clock.now())
    store.mark_changed(db, customer, clock.now())
    worker = subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=process_env(settings), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        app = make_celery(settings)
        assert app.send_task("clienteling.refresh_tags").get(timeout=60) == 1
        assert app.send_task("clienteling.open_day_tasks").get(timeout=60) == 0
        assert app.send_task("clienteling.refresh_copurchase").get(timeout=60) == 0
        app.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert [t["tag"] for t in store.tags(db, customer)] == ["new_home"]
