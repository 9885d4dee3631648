"""The fleet simulator publishes believable readings with each device's own credentials."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from devtools.simulator import run_simulation
from homeloop.settings import Settings
from tests.conftest import GatewayProcess, count, wait_for

pytestmark = pytest.mark.real_clock(
    "the simulator and the gateway are other processes, on the machine's clock")

Conn = psycopg.Connection[tuple[Any, ...]]


def test_a_simulated_fleet_fills_the_timelines(gateway: GatewayProcess, settings: Settings,
                                                db: Conn) -> None:
    sent = run_simulation(settings, devices=5, rate=400, duration=3, history_days=0.5)
    assert sent > 200
    wait_for(lambda: count(db, "SELECT count(DISTINCT device_id) FROM readings") == 5,
             what="every simulated device to report")
    metrics = {r[0] for r in db.execute("SELECT DISTINCT metric FROM readings").fetchall()}
    assert {"flow_l", "temp_c", "level", "count", "battery"} <= metrics
    # The purifier's backlog came with its original timestamps, spread over the half day.
    span = db.execute("SELECT extract(epoch FROM max(time) - min(time)) / 3600 FROM readings "
                      "WHERE metric = 'temp_c'").fetchone()
    assert span is not None and span[0] > 1
    assert count(db, "SELECT count(*) FROM dead_letters") == 0
    wait_for(lambda: count(db, "SELECT count(*) FROM devices WHERE NOT online") == 5,
             what="the devices' offline status after the run")
