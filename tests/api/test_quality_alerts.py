"""Staff read the fleet quality alerts; customers may not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from customers import store as customers
from homeloop.settings import Settings
from tests.api.conftest import auth


def test_staff_list_quality_alerts_and_customers_are_refused(
        client: TestClient, settings: Settings, db: psycopg.Connection[tuple[Any, ...]]) -> None:
    db.execute("TRUNCATE quality_alerts")
    at = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    db.execute("INSERT INTO quality_alerts (sku, batch, day, window_start, window_end, faults, "
               "devices, rate, baseline_rate, expected, p_value) VALUES ('WP-500', 'L2025-02', "
               "%s, %s, %s, 8, 10, 0.11, 0.01, 0.74, 1e-6)", (at.date(), at, at))
    alerts = client.get("/v1/staff/quality-alerts", headers=auth(settings, "staff:qa")).json()
    assert [(a["sku"], a["batch"], a["faults"], a["p_value"]) for a in alerts] == [
        ("WP-500", "L2025-02", 8, 1e-6)]
    someone = customers.create_customer(db, "Li")
    assert client.get("/v1/staff/quality-alerts",
                      headers=auth(settings, someone)).status_code == 403
    db.execute("TRUNCATE quality_alerts")
