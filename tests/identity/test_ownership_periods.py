"""A product that changed hands: what it recorded while someone else owned it is not the new
owner's to read (timeline, forecasts, export), and the seller keeps their own period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from customers import store as customers
from device_gateway.provisioning import provision
from device_gateway.timeline import read_timeline
from homeloop import clock
from homeloop.settings import Settings
from identity import ownership
from identity.ownership import Change, Period, periods, periods_from
from identity.privacy import set_store_consent
from replenishment import service, store
from replenishment.service import forecast_instances
from tests.api.conftest import auth
from tests.conftest import write_through_gateway

Conn = Any
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _t(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_the_periods_rule() -> None:
    li, wang = 1, 2
    claimed = [Change(li, _t(0))]
    # The first owner owns it from its beginning (what it recorded before the tap was nobody's).
    assert periods_from(claimed, li, owner_id=li, claimed_at=_t(0)) == [Period(None, None)]
    sold = [*claimed, Change(wang, _t(5))]
    assert periods_from(sold, li, owner_id=wang, claimed_at=_t(5)) == [Period(None, _t(5))]
    assert periods_from(sold, wang, owner_id=wang, claimed_at=_t(5)) == [Period(_t(5), None)]
    # Released, then claimed by someone else: the gap is nobody's to read.
    released = [*claimed, Change(None, _t(5)), Change(wang, _t(9))]
    assert periods_from(released, wang, owner_id=wang, claimed_at=_t(9)) == [
        Period(_t(9), None)]
    # Sold and bought back: two periods; a transfer to oneself changes nothing.
    back = [*sold, Change(li, _t(8)), Change(li, _t(9))]
    assert periods_from(back, li, owner_id=li, claimed_at=_t(9)) == [
        Period(None, _t(5)), Period(_t(8), None)]
    assert periods_from(back, wang, owner_id=li, claimed_at=_t(9)) == [Period(_t(5), _t(8))]
    # The first owner deleted their data (their change names no one now): later owners
    # still start at their own change.
    assert periods_from([Change(None, _t(0)), Change(wang, _t(5))], wang, owner_id=wang,
                        claimed_at=_t(5)) == [Period(_t(5), None)]
    # An owner without a recorded change: from the claim (or the beginning, with no changes).
    assert periods_from([], li, owner_id=li, claimed_at=_t(3)) == [Period(None, None)]
    assert periods_from([Change(None, _t(0))], li, owner_id=li, claimed_at=_t(3)) == [
        Period(_t(3), None)]
    assert periods_from(sold, 3, owner_id=wang, claimed_at=_t(5)) == []


@dataclass
class Sale:
    product: int
    device: str
    li: int
    wang: int
    base: datetime  # readings every 10 minutes for 4 hours from here, flow_l = 0, 1, ... 23
    sold: datetime  # 2 h 25 min in: Li's are 0..14, Wang's 15..23
    times: list[datetime]


def _sell(client: TestClient, settings: Settings, db: Conn) -> Sale:
    """Li owns a water purifier, fits a filter, uses it; sells it mid-hour to Wang, who uses
    it too. The sale is dated into the past (the test's data is recent, not now)."""
    li = customers.create_customer(db, "Li", home_store_id="SH-XUHUI")
    wang = customers.create_customer(db, "Wang", home_store_id="SH-XUHUI")
    made = provision(db, "WP-500", 1)[0]
    customers.claim(db, li, device_id=made.device_id, via="nfc_tap")
    base = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    sold = base + timedelta(hours=2, minutes=25)
    times = [base + timedelta(minutes=10 * i) for i in range(24)]
    db.execute("UPDATE ownership_changes SET at = %s", (base - timedelta(days=1),))
    db.execute("UPDATE product_instances SET claimed_at = %s", (base - timedelta(days=1),))
    write_through_gateway(
        db, made.device_id, [(t, {"flow_l": float(i)}) for i, t in enumerate(times)],
        [(base + timedelta(minutes=5), "replaced", {"part": "FLT-PP-1"}),
         (sold + timedelta(minutes=20), "fault", {"code": "E7"})])
    forecast_instances(db, [made.instance_id], clock.now())  # Li's forecast
    moved = client.post(f"/v1/staff/products/{made.instance_id}/transfer",
                        json={"to_customer_id": wang}, headers=auth(settings, "staff:root"))
    assert moved.status_code == 200, moved.text
    db.execute("UPDATE ownership_changes SET at = %s WHERE via = 'staff_transfer'", (sold,))
    db.execute("UPDATE product_instances SET claimed_at = %s", (sold,))
    return Sale(made.instance_id, made.device_id, li, wang, base, sold, times)


def _hours(points: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(datetime.fromisoformat(p["t"]), p["n"], p["avg"], p["min"], p["max"], p["last"])
            for p in points]


def test_the_new_owner_reads_the_timeline_from_the_sale_only(
        client: TestClient, settings: Settings, db: Conn) -> None:
    sale = _sell(client, settings, db)
    assert periods(db, sale.product, sale.wang) == [Period(sale.sold, None)]
    assert periods(db, sale.product, sale.li) == [Period(None, sale.sold)]
    set_store_consent(db, sale.wang, "SH-XUHUI", True)
    url = f"/v1/products/{sale.product}/timeline"
    since = (sale.base - timedelta(days=2)).isoformat()
    for who in (auth(settings, sale.wang),
                auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")):
        raw = client.get(url, headers=who, params={"from": since, "bucket": "raw"}).json()
        assert [p["value"] for p in raw["series"][0]["points"]] == [float(i)
                                                                    for i in range(15, 24)]
        # The hour it changed hands holds Wang's part only (raw readings, not the rollup).
        hourly = client.get(url, headers=who, params={"from": since, "bucket": "hour"}).json()
        assert _hours(hourly["series"][0]["points"]) == [
            (sale.base + timedelta(hours=2), 3, 16.0, 15.0, 17.0, 17.0),
            (sale.base + timedelta(hours=3), 6, 20.5, 18.0, 23.0, 23.0)]
        daily = client.get(url, headers=who, params={"from": since, "bucket": "day"}).json()
        days: dict[datetime, list[float]] = {}
        for i, t in enumerate(sale.times[15:], start=15):
            days.setdefault(t.replace(hour=0, minute=0), []).append(float(i))
        assert _hours(daily["series"][0]["points"]) == [
            (d, len(v), sum(v) / len(v), min(v), max(v), v[-1]) for d, v in days.items()]
    # The seller's side of that hour is theirs (as the export reads it): their part only.
    li = read_timeline(db, sale.product, metric="flow_l", start=sale.base - timedelta(days=2),
                       end=clock.now(), bucket="hour",
                       within=periods(db, sale.product, sale.li))
    assert [(p.t, p.n, p.min, p.max, p.last) for p in li.series[0].points] == [
        (sale.base, 6, 0.0, 5.0, 5.0), (sale.base + timedelta(hours=1), 6, 6.0, 11.0, 11.0),
        (sale.base + timedelta(hours=2), 3, 12.0, 14.0, 14.0)]
    # The seller no longer reads the product at all.
    assert client.get(url, headers=auth(settings, sale.li)).status_code == 404


def test_the_new_owners_forecast_starts_at_the_sale(
        client: TestClient, settings: Settings, db: Conn) -> None:
    sale = _sell(client, settings, db)
    url = f"/v1/products/{sale.product}/forecasts"
    # Li's forecasts were drawn from Li's use: gone with the sale.
    assert client.get(url, headers=auth(settings, sale.wang)).json()["forecasts"] == []
    forecast_instances(db, [sale.product], clock.now())
    found = client.get(url, headers=auth(settings, sale.wang)).json()["forecasts"]
    pre = next(f for f in found if f["item_sku"] == "FLT-PP-1")
    # Not Li's filter change at base + 5 min, nor Li's litres (1 + ... + 14 of them): from the
    # sale, Wang's own (15 + ... + 23, and the pace since the last report).
    assert datetime.fromisoformat(pre["cycle_start"]) >= sale.sold
    assert sum(range(15, 24)) <= pre["used"] < sum(range(1, 24))


def test_the_export_holds_each_owners_own_period(
        client: TestClient, settings: Settings, db: Conn) -> None:
    sale = _sell(client, settings, db)
    db.execute(
        "INSERT INTO offers (customer_id, instance_id, kind, item_skus, cycle_key, reason_en, "
        "reason_zh, fulfilment, store_id, lead_days, due_at, expires_at, deliver_after, "
        "decided_at) VALUES (%s, %s, 'replenish', ARRAY['FLT-PP-1'], 'li-cycle', 'Filter due',"
        " '滤芯到期', 'pickup', 'SH-XUHUI', 0, now(), now() + interval '3 days', now(), now()) "
        "RETURNING id", (sale.li, sale.product))
    db.execute("INSERT INTO offer_lines (offer_id, offer_kind, instance_id, item_sku, "
               "cycle_start) SELECT id, 'replenish', %s, 'FLT-PP-1', %s FROM offers",
               (sale.product, sale.base + timedelta(minutes=5)))
    forecast_instances(db, [sale.product], clock.now())  # Wang's
    wang = client.get("/v1/me/export", headers=auth(settings, sale.wang)).json()
    tables = wang["tables"]
    assert [p["id"] for p in tables["product_instances"]] == [sale.product]
    # Nothing of Li's: not Li's offer or its line, not Li's claim; the sale to Wang is Wang's.
    assert "offers" not in tables and "offer_lines" not in tables
    assert [(c["from_owner"], c["to_owner"]) for c in tables["ownership_changes"]] == [
        (sale.li, sale.wang)]
    assert tables["instance_forecasts"] and all(
        datetime.fromisoformat(f["computed_at"]) >= sale.sold
        for f in tables["instance_forecasts"])
    [usage] = wang["usage"]
    assert usage["product_id"] == sale.product
    assert [(datetime.fromisoformat(p["from"]), p["to"]) for p in usage["periods"]] == [
        (sale.sold, None)]
    assert sum(d["n"] for d in usage["daily"]) == 9
    assert [e["kind"] for e in usage["events"]] == ["fault"]
    # Li keeps their own period of the product they sold.
    li = client.get("/v1/me/export", headers=auth(settings, sale.li)).json()
    [usage] = li["usage"]
    assert usage["product_id"] == sale.product
    assert [(p["from"], datetime.fromisoformat(p["to"])) for p in usage["periods"]] == [
        (None, sale.sold)]
    assert sum(d["n"] for d in usage["daily"]) == 15
    assert [e["kind"] for e in usage["events"]] == ["replaced"]
    assert [o["cycle_key"] for o in li["tables"]["offers"]] == ["li-cycle"]
    assert "product_instances" not in li["tables"]


def test_a_cycle_older_than_the_raw_window_carries_the_new_owners_whole_hours_only(
        client: TestClient, settings: Settings, db: Conn) -> None:
    """Sold eleven weeks ago, mid-hour: the forecast reads that far back from the hourly
    rollup, from the first whole hour that was Wang's (not Li's part of the hour of the sale,
    nor the rest of Li's cycle)."""
    li = customers.create_customer(db, "Li", home_store_id="SH-XUHUI")
    wang = customers.create_customer(db, "Wang", home_store_id="SH-XUHUI")
    made = provision(db, "WP-500", 1)[0]
    customers.claim(db, li, device_id=made.device_id, via="nfc_tap")
    base = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(weeks=11)
    sold = base + timedelta(hours=2, minutes=25)
    db.execute("UPDATE ownership_changes SET at = %s", (base - timedelta(days=1),))
    write_through_gateway(
        db, made.device_id,
        [(base + timedelta(minutes=10 * i), {"flow_l": float(i)}) for i in range(24)],
        [(base + timedelta(minutes=5), "replaced", {"part": "FLT-PP-1"})], max_age_days=90)
    customers.transfer(db, made.instance_id, wang)
    db.execute("UPDATE ownership_changes SET at = %s WHERE via = 'staff_transfer'", (sold,))
    db.execute("UPDATE product_instances SET claimed_at = %s", (sold,))
    now = clock.now()
    instance = store.load_instances(db, [made.instance_id])[0]
    [item] = [i for i in service._items_by_sku(db, ["WP-500"])["WP-500"]
              if i.sku == "FLT-PP-1"]
    events = store.load_cycle_events(db, [made.device_id], now)[made.device_id]
    owned_since = ownership.current_owner_periods(db, [made.instance_id])[made.instance_id]
    assert owned_since == [Period(sold, None)]
    job = service._job(instance, item, events, now, sold)
    assert job.since == sold.timestamp() and job.events == []  # not Li's filter change
    window = service.raw_window_start(now)
    request = service._carry(job, window)
    assert request is not None
    assert request.since == request.not_before == base + timedelta(hours=3)
    # the litres of the hours from base + 3 h: Wang's 18..23; not Li's 0..14, nor the hour
    # of the sale (whose 15..17 are Wang's but share the rollup's bucket with Li's 12..14)
    assert store.load_carries(db, [request], window) == {request: float(sum(range(18, 24)))}
    forecast_instances(db, [made.instance_id], now)
    cycle = db.execute("SELECT cycle_start FROM instance_forecasts WHERE item_sku = "
                       "'FLT-PP-1'").fetchone()[0]
    assert cycle == sold
