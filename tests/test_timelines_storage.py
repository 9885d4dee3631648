"""The two storage paths for timelines: TimescaleDB when installed, plain PostgreSQL if not.

The API tests run on whichever path the server has; these check the path itself.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from homeloop.db import has_timescaledb
from tests.conftest import count

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def timescale(db: Conn) -> Conn:
    if not has_timescaledb(db):
        pytest.skip("TimescaleDB is not installed on this PostgreSQL server, so the portable "
                    "path is the one under test; install the extension to run these")
    return db


@pytest.fixture
def portable(db: Conn) -> Conn:
    if has_timescaledb(db):
        pytest.skip("this server has TimescaleDB: the portable path is not in use")
    return db


def test_timescale_hypertables_aggregates_and_policies(timescale: Conn) -> None:
    tables = {r[0] for r in timescale.execute(
        "SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()}
    assert {"readings", "events"} <= tables
    views = {r[0]: r[1] for r in timescale.execute(
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
    ).fetchall()}
    assert views == {"readings_hourly": False, "readings_daily": False}  # real-time
    jobs = {(r[0], r[1]) for r in timescale.execute(
        "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs "
        "WHERE hypertable_name IS NOT NULL").fetchall()}
    assert ("policy_compression", "readings") in jobs
    assert ("policy_retention", "readings") in jobs
    assert sum(1 for proc, _ in jobs if proc == "policy_refresh_continuous_aggregate") == 2


def test_timescale_compressed_chunks_answer_the_same(timescale: Conn) -> None:
    timescale.execute(
        "INSERT INTO readings SELECT now() - interval '10 days' + n * interval '1 minute', "
        "'hl-c', 'flow_l', n FROM generate_series(0, 119) AS n")
    # Readings ten days old may lie below the aggregate's watermark (an earlier refresh, by a
    # policy or another test, moved it on), so they show once the aggregate is refreshed.
    timescale.execute("CALL refresh_continuous_aggregate('readings_hourly', NULL, NULL)")
    before = timescale.execute(
        "SELECT bucket, n, total, min, max, last_value FROM readings_hourly "
        "WHERE device_id = 'hl-c' ORDER BY bucket").fetchall()
    assert sum(r[1] for r in before) == 120
    compressed = timescale.execute(
        "SELECT count(compress_chunk(c, if_not_compressed => true)) "
        "FROM show_chunks('readings', older_than => interval '7 days') AS c").fetchone()
    assert compressed is not None and compressed[0] >= 1
    # A late duplicate of a compressed reading is still refused by the natural key.
    timescale.execute("INSERT INTO readings SELECT time, device_id, metric, value FROM readings "
                      "WHERE device_id = 'hl-c' LIMIT 1 ON CONFLICT DO NOTHING")
    assert count(timescale, "SELECT count(*) FROM readings WHERE device_id = 'hl-c'") == 120
    after = timescale.execute(
        "SELECT bucket, n, total, min, max, last_value FROM readings_hourly "
        "WHERE device_id = 'hl-c' ORDER BY bucket").fetchall()
    assert after == before


def test_portable_path_has_brin_indexes_and_rollup_tables(portable: Conn) -> None:
    brin = {r[0] for r in portable.execute(
        "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING brin%'").fetchall()}
    assert {"readings_time_brin", "events_time_brin"} <= brin
    kinds = dict(portable.execute(
        "SELECT relname, relkind FROM pg_class WHERE relname IN "
        "('readings_hourly', 'readings_daily')").fetchall())
    assert kinds == {"readings_hourly": "r", "readings_daily": "r"}
