"""The hourly forecast task, run by a real Celery worker on Redis against the test database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from customers import store as customers
from device_gateway.provisioning import Credentials
from homeloop import clock
from homeloop.settings import Settings
from homeloop.worker import make_celery
from replenishment.tasks import run_all
from tests.conftest import count, process_env, wait_for, write_through_gateway

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.mark.real_clock("the Celery worker is another process, on the machine's clock")
def test_forecast_all_on_a_real_worker_stores_claimed_products_only(
        db: Conn, settings: Settings, provisioned: Callable[[str, int], list[Credentials]],
        ) -> None:
    purifier, dishwasher = provisioned("WP-500", 1)[0], provisioned("DW-60", 1)[0]
    unclaimed, released = provisioned("CM-100", 1)[0], provisioned("CM-100", 1)[0]
    owner = customers.create_customer(db, "Li")
    for tag in (purifier, dishwasher, released):
        customers.claim(db, owner, device_id=tag.device_id)
    now = clock.now()
    write_through_gateway(db, purifier.device_id,
                          [(now - timedelta(hours=h), {"flow_l": 0.5}) for h in range(48)])
    assert run_all(settings).products == 3  # as a function, in this process
    customers.transfer(db, released.instance_id, None)  # then one goes back to the store

    env = process_env(settings)
    worker = subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = make_celery(settings)
        sent = clock.now()
        result = app.send_task("replenishment.forecast_all")
        # beat's task only fans out: one chunk of customers, one range of instance ids
        fanned = result.get(timeout=60)
        assert (fanned["chunks"], fanned["prune_chunks"]) == (1, 1)
        app.close()

        def stored() -> dict[int, int]:
            return dict(db.execute("SELECT instance_id, count(*) FROM instance_forecasts "
                                   "GROUP BY instance_id").fetchall())

        # the released product's four forecasts pruned, the others forecast again
        wait_for(lambda: stored() == {purifier.instance_id: 3, dishwasher.instance_id: 3}
                 and count(db, "SELECT count(*) FROM instance_forecasts "
                               "WHERE computed_at >= %s", sent) == 6,
                 timeout=60, what="the chunk and the prune tasks")
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    pace = db.execute("SELECT rate_per_day FROM instance_forecasts "
                      "WHERE instance_id = %s AND item_sku = 'FLT-PP-1'",
                      (purifier.instance_id,)).fetchone()
    assert pace is not None and 10.0 < pace[0] < 12.0  # two days of 12 L, and the prior's 10
    assert count(db, "SELECT count(*) FROM instance_forecasts WHERE instance_id = %s",
                 unclaimed.instance_id) == 0


def test_a_new_filter_tapped_is_forecast_within_the_minute_not_the_hour(
        db: Conn, settings: Settings, provisioned: Callable[[str, int], list[Credentials]],
        ) -> None:
    from replenishment.tasks import run_changed

    purifier, quiet = provisioned("WP-500", 1)[0], provisioned("WP-500", 1)[0]
    owner = customers.create_customer(db, "Li")
    for tag in (purifier, quiet):
        customers.claim(db, owner, device_id=tag.device_id)
    now = clock.now()
    write_through_gateway(db, purifier.device_id,
                          [(now - timedelta(hours=h), {"flow_l": 0.5}) for h in range(48)])
    run_all(settings)
    before = db.execute("SELECT cycle_start FROM instance_forecasts WHERE instance_id = %s "
                        "AND item_sku = 'FLT-PP-1'", (purifier.instance_id,)).fetchone()
    tapped = now.replace(microsecond=0) - timedelta(seconds=30)
    write_through_gateway(db, purifier.device_id,
                          events=[(tapped, "nfc_tap", {"part": "FLT-PP-1"})])
    done = run_changed(settings, now)
    assert (done.products, done.forecasts) == (1, 3)  # the tapped purifier only
    after = db.execute("SELECT cycle_start FROM instance_forecasts WHERE instance_id = %s "
                       "AND item_sku = 'FLT-PP-1'", (purifier.instance_id,)).fetchone()
    assert before is not None and after == (tapped,) and before != after
    assert run_changed(settings, now + timedelta(minutes=5)).products == 0  # seen, done
    schedule = make_celery(settings).conf.beat_schedule["forecast-changed"]
    assert schedule["schedule"] == 60.0
