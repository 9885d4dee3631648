"""The home app's forecasts: the owner reads them in their language, anyone else gets 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from customers import store as customers
from device_gateway.provisioning import Credentials
from homeloop import clock
from homeloop.settings import Settings
from replenishment import service
from tests.api.conftest import auth
from tests.conftest import write_through_gateway

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]




def dishwasher_run_daily(db: Conn, provisioned: Any, locale: str) -> tuple[Credentials, int]:
    """A dishwasher run once a day, whose box of 30 tablets was opened 24 days ago."""
    tag: Credentials = provisioned("DW-60", 1)[0]
    owner = customers.create_customer(db, "Owner", locale=locale)
    customers.claim(db, owner, device_id=tag.device_id)
    now = clock.now()
    runs = [now - timedelta(hours=3, days=k) for k in range(28)]
    readings = []
    t = now - timedelta(days=28)
    while t < now:
        readings.append((t, {"count": float(sum(1 for r in runs if r <= t))}))
        t += timedelta(minutes=30)
    write_through_gateway(db, tag.device_id, readings,
                          [(now - timedelta(days=23, hours=12), "nfc_tap", {})])
    with db.transaction():
        service.forecast_instances(db, [tag.instance_id], now)
    return tag, owner


@pytest.mark.parametrize(("locale", "name", "reason"), [
    ("en", "Dishwasher tablets, 30 pack", "about {n} days left at your usual pace"),
    ("zh-CN", "洗碗机洗涤块 30粒", "按您平时的用量，大约还能用 {n} 天"),  # noqa: RUF001
])
def test_the_owner_reads_forecasts_with_a_reason_in_their_language(
        client: TestClient, settings: Settings, db: Conn, provisioned: Any,
        locale: str, name: str, reason: str) -> None:
    tag, owner = dishwasher_run_daily(db, provisioned, locale)

    resp = client.get(f"/v1/products/{tag.instance_id}/forecasts",
                      headers=auth(settings, f"customer:{owner}"))

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["product_id"] == tag.instance_id and body["locale"] == locale
    by_sku = {f["item_sku"]: f for f in body["forecasts"]}
    assert set(by_sku) == {"DET-TAB-30", "DET-TAB-90", "RINSE-500"}
    tabs = by_sku["DET-TAB-30"]
    assert tabs["days_left"] == pytest.approx(6.0, abs=1.0)  # 24 of 30 used, one a day
    assert tabs["item_name"] == name
    assert tabs["reason"] == reason.format(n=round(tabs["days_left"]))
    assert (tabs["kind"], tabs["basis"], tabs["metric"], tabs["unit"]) == (
        "consumable", "usage", "count", "count")
    assert body["forecasts"][0]["item_sku"] == "DET-TAB-30"  # soonest due first


def test_staff_read_them_too_and_anyone_else_gets_404(
        client: TestClient, settings: Settings, db: Conn, provisioned: Any) -> None:
    tag, _ = dishwasher_run_daily(db, provisioned, "zh-CN")
    stranger = customers.create_customer(db, "Stranger", locale="en")

    staff = client.get(f"/v1/products/{tag.instance_id}/forecasts",
                       headers=auth(settings, "staff:anna"))
    assert staff.status_code == 200
    assert staff.json()["forecasts"][0]["reason"].startswith("按您平时的用量")  # the owner's

    for path in (f"/v1/products/{tag.instance_id}/forecasts", "/v1/products/999999/forecasts"):
        resp = client.get(path, headers=auth(settings, f"customer:{stranger}"))
        assert resp.status_code == 404, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert "does not exist" in resp.json()["detail"]
    assert client.get(f"/v1/products/{tag.instance_id}/forecasts").status_code == 401
