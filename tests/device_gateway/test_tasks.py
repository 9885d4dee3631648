"""Raw retention on the portable path, as a function and through a real Celery worker."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from device_gateway import retention
from homeloop import clock
from homeloop.db import has_timescaledb
from homeloop.settings import Settings
from homeloop.worker import make_celery
from tests.conftest import count, process_env, write_through_gateway

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def aged(db: Conn) -> Conn:
    if has_timescaledb(db):
        pytest.skip("TimescaleDB drops old chunks with its own retention policy")
    for days in (120, 100, 10, 1):
        at = clock.now() - timedelta(days=days)
        db.execute("INSERT INTO readings VALUES (%s, 'hl-x', 'flow_l', 1.0)", (at,))
        db.execute("INSERT INTO readings_daily VALUES ('hl-x', 'flow_l', date_trunc('day', %s), "
                   "1, 1, 1, 1, %s, 1)", (at, at))
    return db


@pytest.mark.clock
def test_retention_drops_old_raw_readings_and_keeps_the_rollups(aged: Conn) -> None:
    assert retention.enforce(aged, 90) == 2
    assert count(aged, "SELECT count(*) FROM readings") == 2
    assert count(aged, "SELECT count(*) FROM readings_daily") == 4


@pytest.mark.real_clock("the Celery worker is another process, on the machine's clock")
def test_retention_runs_on_a_real_celery_worker(aged: Conn, settings: Settings) -> None:
    env = process_env(settings, raw_retention_days="50")
    worker = subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        app = make_celery(settings)
        result = app.send_task("timelines.enforce_retention")
        assert result.get(timeout=60) == 2
        app.close()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert count(aged, "SELECT count(*) FROM readings") == 2


@pytest.mark.clock
def test_anchors_of_clockless_packs_are_kept_as_long_as_a_copy_can_come(
        db: Conn, provisioned: Any) -> None:
    device_id = provisioned("WP-500", 1)[0].device_id
    for seq, days in ((1, 31), (2, 29)):
        db.execute("INSERT INTO senml_anchors VALUES (%s, %s, %s)",
                   (device_id, seq, clock.now() - timedelta(days=days)))
    assert retention.forget_anchors(db, 30) == 1
    assert count(db, "SELECT min(seq) FROM senml_anchors") == 2


@pytest.mark.clock
def test_the_gateway_inserts_while_a_retention_range_is_being_deleted(
        aged: Conn, settings: Settings, provisioned: Any) -> None:
    """A retention transaction that has deleted its range and not yet committed (the moment
    it holds the most) does not hold up the gateway's insert of new readings and their
    rollups: it takes row locks and ROW EXCLUSIVE on the table, nothing an insert waits for."""
    device_id = provisioned("WP-500", 1)[0].device_id
    now = clock.now()
    with psycopg.connect(settings.database_url) as maintenance:
        assert retention.delete_between(maintenance, now - timedelta(days=130),
                                        now - timedelta(days=90)) == 2  # not committed
        written: list[bool] = []
        ingest = threading.Thread(target=lambda: written.append(write_through_gateway(
            aged, device_id, [(now - timedelta(minutes=m), {"flow_l": 0.5})
                              for m in range(0, 60, 15)]) is None))
        ingest.start()
        ingest.join(timeout=20)
        blocked = ingest.is_alive()
        held = {(str(table), str(mode)) for table, mode in maintenance.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'readings%'").fetchall()}
        maintenance.commit()
    ingest.join(timeout=30)

    assert not blocked and written == [True]
    assert {mode for _, mode in held} <= {"RowExclusiveLock", "AccessShareLock"}
    assert ("readings", "RowExclusiveLock") in held
    assert count(aged, "SELECT count(*) FROM readings WHERE device_id = %s", device_id) == 4
    assert count(aged, "SELECT sum(n) FROM readings_hourly WHERE device_id = %s",
                 device_id) == 4
    assert count(aged, "SELECT count(*) FROM readings WHERE device_id = 'hl-x'") == 2
