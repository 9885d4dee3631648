"""The fleet split into chunks of customers: every customer's offers decided once per run
whatever the chunks, a chunk run twice or with other bounds adding nothing, a failing chunk
leaving the others' offers in place, and real Celery workers taking the chunks.

Forecasts are written straight into ``instance_forecasts`` as in test_offers.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from homeloop import clock
from homeloop.settings import Settings
from homeloop.worker import make_celery
from replenishment.offers_store import Customers
from replenishment.tasks import customer_chunks, fan_out_offers, run_offers_chunk
from tests.conftest import count, process_env, wait_for
from tests.replenishment.test_offers import NOW, customer, forecast, product

pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]


def fleet(db: Conn, households: int, at: Any = NOW) -> list[int]:
    """Households with a purifier whose pre-filter is due now (one offer each)."""
    owners = []
    for _ in range(households):
        owner = customer(db)
        forecast(db, product(db, owner, "WP-500"), "FLT-PP-1", 1.0, computed_at=at)
        owners.append(owner)
    return owners


def chunks_of(db: Conn, size: int) -> list[Customers]:
    return list(customer_chunks(db, size))


def offers_per_customer(db: Conn) -> dict[int, int]:
    return dict(db.execute("SELECT customer_id, count(*) FROM offers GROUP BY customer_id"
                           ).fetchall())


def test_chunks_split_the_customers_without_gap_or_overlap(db: Conn, settings: Settings,
                                                           ) -> None:
    owners = fleet(db, 7)

    chunks = chunks_of(db, 3)

    assert [(c.after, c.upto) for c in chunks[:-1]] == [(0, owners[2]), (owners[2], owners[5])]
    assert chunks[-1].after == owners[5]
    assert chunks[-1].upto >= 2**62  # open-ended: a customer who signs up meanwhile is in it
    queued: list[Customers] = []
    three = settings.model_copy(update={"fleet_chunk_customers": 3})
    assert fan_out_offers(three, "run", queued.append).chunks == 3
    assert queued == chunks


def test_every_customer_gets_one_offer_across_chunks_and_a_rerun_adds_none(
        db: Conn, settings: Settings) -> None:
    owners = fleet(db, 7)

    created = sum(run_offers_chunk(settings, c, now=NOW).created for c in chunks_of(db, 2))

    assert created == 7
    assert offers_per_customer(db) == dict.fromkeys(owners, 1)
    # The same chunks again (a redelivered task), and other bounds (the chunk size changed
    # between two runs, or a new customer moved them): nothing twice.
    assert sum(run_offers_chunk(settings, c, now=NOW).created for c in chunks_of(db, 2)) == 0
    assert sum(run_offers_chunk(settings, c, now=NOW).created for c in chunks_of(db, 3)) == 0
    assert offers_per_customer(db) == dict.fromkeys(owners, 1)
    assert count(db, "SELECT count(*) FROM offer_lines") == 7


def test_a_chunk_evaluates_its_own_customers_only(db: Conn, settings: Settings) -> None:
    owners = fleet(db, 4)

    done = run_offers_chunk(settings, Customers(owners[0], owners[2]), now=NOW)

    assert done.created == 2
    assert sorted(offers_per_customer(db)) == owners[1:3]


def test_a_failing_chunk_leaves_the_others_done_and_runs_again_cleanly(
        db: Conn, settings: Settings) -> None:
    owners = fleet(db, 6)
    broken = owners[3]
    # A real failure inside the database for one customer's offers (a constraint, a full
    # disk would do the same): the statement that stores that chunk's offers fails.
    db.execute("CREATE FUNCTION test_refuse_offer() RETURNS trigger LANGUAGE plpgsql AS $$ "
               f"BEGIN IF NEW.customer_id = {broken} THEN RAISE EXCEPTION 'refused'; END IF; "
               "RETURN NEW; END $$")
    db.execute("CREATE TRIGGER test_refuse_offer BEFORE INSERT ON offers FOR EACH ROW "
               "EXECUTE FUNCTION test_refuse_offer()")
    failed = []
    try:
        for chunk in chunks_of(db, 2):
            try:
                run_offers_chunk(settings, chunk, now=NOW)
            except psycopg.Error:
                failed.append(chunk)
    finally:
        db.execute("DROP TRIGGER test_refuse_offer ON offers")
        db.execute("DROP FUNCTION test_refuse_offer()")

    assert [(c.after, c.upto) for c in failed] == [(owners[1], owners[3])]
    # The failed chunk stored nothing (one transaction); every other chunk's offers stand.
    assert offers_per_customer(db) == {o: 1 for o in owners if o not in owners[2:4]}
    # Its retry decides the two customers it holds, and nobody else's offer comes twice.
    assert run_offers_chunk(settings, failed[0], now=NOW).created == 2
    assert offers_per_customer(db) == dict.fromkeys(owners, 1)


@pytest.mark.real_clock("the Celery workers are other processes, on the machine's clock")
def test_beat_fans_out_chunks_that_two_real_workers_evaluate(
        db: Conn, settings: Settings) -> None:
    owners = fleet(db, 9, at=clock.now() - timedelta(minutes=5))
    env = process_env(settings, fleet_chunk_customers="2")
    workers = [subprocess.Popen([sys.executable, "-m", "homeloop", "worker",
                                 "--concurrency", "1"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    try:
        app = make_celery(settings)
        fanned = app.send_task("replenishment.evaluate_offers").get(timeout=60)
        assert fanned["chunks"] == 5  # 2 + 2 + 2 + 2 + the open-ended one with 1
        wait_for(lambda: len(offers_per_customer(db)) == 9, timeout=60,
                 what="the chunks' offers")
        # Beat firing again while offers stand: the same chunks add nothing.
        app.send_task("replenishment.evaluate_offers").get(timeout=60)
        app.send_task("replenishment.evaluate_offers_chunk", (0, 2**63 - 1)).get(timeout=60)
        app.close()
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    assert offers_per_customer(db) == dict.fromkeys(owners, 1)
