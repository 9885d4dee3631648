"""The home app's view: claiming a product by its NFC tag and reading its timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from device_gateway.provisioning import Credentials
from homeloop import clock
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.conftest import write_through_gateway

# Time-sensitive: `pytest --instants` runs these at every instant of tests/clock.py.
pytestmark = pytest.mark.clock

Conn = psycopg.Connection[tuple[Any, ...]]



def customer(db: Conn, name: str) -> int:
    row = db.execute("INSERT INTO customers (display_name) VALUES (%s) RETURNING id",
                     (name,)).fetchone()
    assert row is not None
    return int(row[0])



def assert_problem(resp: Any, status: int, detail: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status
    assert detail in body["detail"], body


def test_first_claim_wins_and_a_second_customer_gets_409(
        client: TestClient, settings: Settings, db: Conn, provisioned: Any) -> None:
    tag: Credentials = provisioned("WP-500", 1)[0]
    li, wang = customer(db, "Li"), customer(db, "Wang")
    first = client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                        headers=auth(settings, f"customer:{li}"))
    assert first.status_code == 201, first.text
    assert first.json()["owner_id"] == li
    again = client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid.lower()},
                        headers=auth(settings, f"customer:{li}"))
    assert again.status_code == 200
    other = client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                        headers=auth(settings, f"customer:{wang}"))
    assert_problem(other, 409, "该产品已登记在另一位客户名下")  # Wang reads Chinese
    assert other.json()["code"] == "product.registered_elsewhere"
    english = client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                          params={"lang": "en"}, headers=auth(settings, f"customer:{wang}"))
    assert_problem(english, 409, "already registered to another customer")
    mine = client.get("/v1/me/products", headers=auth(settings, f"customer:{li}")).json()
    assert [p["id"] for p in mine] == [tag.instance_id]
    assert client.get("/v1/me/products", headers=auth(settings, f"customer:{wang}")).json() == []


def test_staff_transfer_ownership(client: TestClient, settings: Settings, db: Conn,
                                  provisioned: Any) -> None:
    tag: Credentials = provisioned("DW-60", 1)[0]
    li, wang = customer(db, "Li"), customer(db, "Wang")
    client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                headers=auth(settings, f"customer:{li}"))
    refused = client.post(f"/v1/staff/products/{tag.instance_id}/transfer",
                          json={"to_customer_id": wang}, headers=auth(settings, f"customer:{li}"))
    assert_problem(refused, 403, "only staff")
    moved = client.post(f"/v1/staff/products/{tag.instance_id}/transfer",
                        json={"to_customer_id": wang}, headers=auth(settings, "staff:anna"))
    assert moved.status_code == 200 and moved.json()["owner_id"] == wang
    history = db.execute("SELECT from_owner, to_owner, via FROM ownership_changes ORDER BY id"
                         ).fetchall()
    assert history == [(None, li, "app_claim"), (li, wang, "staff_transfer")]


def test_claim_errors_are_problem_json(client: TestClient, settings: Settings, db: Conn) -> None:
    li = customer(db, "Li")
    assert_problem(client.post("/v1/me/products/claim", json={"tag_uid": "04AABBCCDDEEFF"},
                               headers=auth(settings, f"customer:{li}")), 404, "no product")
    assert_problem(client.post("/v1/me/products/claim", json={"tag_uid": "<script>"},
                               headers=auth(settings, f"customer:{li}")), 422, "tag_uid")
    assert_problem(client.post("/v1/me/products/claim", json={"tag_uid": "04AABBCCDDEEFF"}),
                   401, "sign in")
    assert_problem(client.post("/v1/me/products/claim", json={"tag_uid": "04AABBCCDDEEFF"},
                               headers={"Authorization": "Bearer forged.token.here"}),
                   401, "invalid ID token")
    assert_problem(client.post("/v1/me/products/claim", content=b"{not json",
                               headers={**auth(settings, f"customer:{li}"),
                                        "content-type": "application/json"}),
                   422, "JSON decode error")


def test_timeline_raw_hourly_and_daily_for_the_owner_only(
        client: TestClient, settings: Settings, db: Conn, provisioned: Any) -> None:
    tag: Credentials = provisioned("WP-500", 1)[0]
    li, wang = customer(db, "Li"), customer(db, "Wang")
    client.post("/v1/me/products/claim", json={"tag_uid": tag.tag_uid},
                headers=auth(settings, f"customer:{li}"))
    hour = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    rows = [(hour + timedelta(minutes=10 * i), "flow_l", float(i)) for i in range(12)]
    rows += [(hour + timedelta(minutes=5), "temp_c", 18.5)]
    write_through_gateway(db, tag.device_id, [(t, {m: v}) for t, m, v in rows])
    start = (hour - timedelta(days=1)).isoformat()
    query = {"from": start, "metric": "flow_l"}

    raw = client.get(f"/v1/products/{tag.instance_id}/timeline",
                     params={**query, "bucket": "raw"}, headers=auth(settings, f"customer:{li}"))
    assert raw.status_code == 200, raw.text
    series = raw.json()["series"]
    assert [s["metric"] for s in series] == ["flow_l"]
    assert [p["value"] for p in series[0]["points"]] == [float(i) for i in range(12)]

    hourly = client.get(f"/v1/products/{tag.instance_id}/timeline",
                        params={**query, "bucket": "hour"},
                        headers=auth(settings, f"customer:{li}")).json()
    points = hourly["series"][0]["points"]
    assert [(p["n"], p["avg"], p["min"], p["max"], p["last"]) for p in points] == [
        (6, 2.5, 0.0, 5.0, 5.0), (6, 8.5, 6.0, 11.0, 11.0)]
    assert hourly["series"][0]["unit"] == "L"

    daily = client.get(f"/v1/products/{tag.instance_id}/timeline",
                       params={"from": start, "bucket": "day"},
                       headers=auth(settings, "staff:anna")).json()
    by_metric = {s["metric"]: s["points"] for s in daily["series"]}
    assert sum(p["n"] for p in by_metric["flow_l"]) == 12
    assert sum(p["avg"] * p["n"] for p in by_metric["flow_l"]) == sum(range(12))
    assert by_metric["temp_c"][0]["last"] == 18.5

    stranger = client.get(f"/v1/products/{tag.instance_id}/timeline",
                          headers=auth(settings, f"customer:{wang}"))
    assert_problem(stranger, 404, "不存在")  # the stranger reads Chinese
    assert stranger.json()["code"] == "not_found"
    assert_problem(client.get(f"/v1/products/{tag.instance_id}/timeline",
                              params={"metric": "colour"},
                              headers=auth(settings, f"customer:{li}")), 422, "unknown metric")
    assert_problem(client.get(f"/v1/products/{tag.instance_id}/timeline",
                              params={"bucket": "minute"},
                              headers=auth(settings, f"customer:{li}")), 422, "bucket")


def test_staff_provision_and_read_dead_letters(client: TestClient, settings: Settings,
                                               db: Conn) -> None:
    made = client.post("/v1/staff/devices", json={"sku": "CM-100", "count": 2},
                       headers=auth(settings, "staff:ops"))
    assert made.status_code == 201, made.text
    creds = made.json()
    assert len(creds) == 2 and all(len(c["password"]) >= 20 for c in creds)
    stored = db.execute("SELECT password_hash FROM devices ORDER BY id").fetchall()
    assert all(row[0].startswith("$7$") for row in stored)  # only the hash is kept
    passwd = settings.password_file.read_text()
    assert all(c["device_id"] in passwd for c in creds)
    assert all(c["password"] not in passwd for c in creds)
    assert_problem(client.post("/v1/staff/devices", json={"sku": "NOPE", "count": 1},
                               headers=auth(settings, "staff:ops")), 404, "not in the catalog")
    lot = client.post("/v1/staff/devices", json={"sku": "CM-100", "count": 1, "batch": "L2026-11"},
                      headers=auth(settings, "staff:ops"))
    assert lot.status_code == 201 and lot.json()[0]["batch"] == "L2026-11"
    assert db.execute("SELECT batch FROM product_instances WHERE id = %s",
                      (lot.json()[0]["product_id"],)).fetchone() == ("L2026-11",)
    assert_problem(client.post("/v1/staff/devices",
                               json={"sku": "CM-100", "count": 1, "batch": "L 1; DROP"},
                               headers=auth(settings, "staff:ops")), 422, "batch")
    db.execute("INSERT INTO dead_letters (topic, payload, payload_size, reason) "
               "VALUES ('tags/x/readings', '\\xff00'::bytea, 2, 'not valid UTF-8')")
    letters = client.get("/v1/staff/dead-letters", headers=auth(settings, "staff:ops")).json()
    assert letters[0]["reason"] == "not valid UTF-8"
    assert client.get("/v1/staff/dead-letters",
                      headers=auth(settings, f"customer:{customer(db, 'Li')}")).status_code == 403
