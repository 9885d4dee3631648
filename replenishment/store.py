"""SQL of the replenishment domain: its inputs for a batch of instances and the forecasts.

Every loader takes the whole batch and answers in one query, so a batch of fifty products
costs the same handful of round trips as one. Callers own the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from psycopg.rows import class_row

from homeloop.db import Conn
from replenishment.forecast import CYCLE_EVENTS
from replenishment.items import ItemKind
from replenishment.offers_store import Customers

__all__ = [
    "CarryRequest",
    "CatalogConsumable",
    "CatalogService",
    "DeviceEvent",
    "Instance",
    "PreviousCycle",
    "StoredForecast",
    "changed_instance_ids",
    "claimed_instance_ids",
    "forget_forecasts",
    "instance_id_bound",
    "list_forecasts",
    "load_carries",
    "load_catalog",
    "load_cycle_events",
    "load_instances",
    "load_readings",
    "owned_instance_ids",
    "previous_cycles",
    "prune_unclaimed",
    "replace_forecasts",
]


@dataclass(frozen=True, slots=True)
class Instance:
    """A product instance with its tag, and its owner and their time zone."""

    id: int
    sku: str
    category: str
    device_id: str
    claimed_at: datetime | None
    created_at: datetime
    timezone: str | None
    owner_id: int | None = None


@dataclass(frozen=True, slots=True)
class CatalogConsumable:
    device_sku: str
    consumable_sku: str
    capacity_litres: float | None
    capacity_uses: int | None
    capacity_months: int | None
    level_based: bool


@dataclass(frozen=True, slots=True)
class CatalogService:
    device_sku: str
    service_sku: str
    interval_months: int | None
    interval_usage: float | None
    usage_metric: str | None


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    device_id: str
    time: float  # epoch seconds
    kind: str
    part: str | None
    by_customer: bool


@dataclass(frozen=True, slots=True)
class CarryRequest:
    """Use of a metric from ``since`` up to the raw window, read from the hourly rollup."""

    device_id: str
    metric: str
    since: datetime  # the start of the hour the cycle began in
    # the first whole hour of the owner's (None: all of the product's life is theirs)
    not_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredForecast:
    """One row of ``instance_forecasts``; the API adds names and a reason to it.

    ``daily_sd`` and ``rate_sd`` are the forecast's spreads (:mod:`replenishment.risk` reads
    them), ``pack_days_low``/``high`` how long a whole new pack lasts at this pace (80 %),
    ``risk_from`` the earliest moment the offer rule could call for an offer.
    """

    instance_id: int
    item_sku: str
    kind: ItemKind
    metric: str | None
    rate_per_day: float
    used: float
    remaining: float | None
    days_left: float | None
    days_left_low: float | None
    days_left_high: float | None
    confidence: float
    basis: str
    data_days: float
    prior_weight: float
    cycle_start: datetime
    computed_at: datetime
    due_at: datetime | None
    daily_sd: float = 0.0
    rate_sd: float = 0.0
    pack_days_low: float | None = None
    pack_days_high: float | None = None
    risk_from: datetime | None = None


_NAMES = ("instance_id", "item_sku", "kind", "metric", "rate_per_day", "used", "remaining",
          "days_left", "days_left_low", "days_left_high", "confidence", "basis", "data_days",
          "prior_weight", "cycle_start", "computed_at", "due_at", "daily_sd", "rate_sd",
          "pack_days_low", "pack_days_high", "risk_from")
_COLUMNS = ", ".join(_NAMES)
_UPDATE = ", ".join(f"{n} = excluded.{n}" for n in _NAMES[3:])


def owned_instance_ids(conn: Conn, customers: Customers) -> list[int]:
    """Ids of the instances with an active tag that these customers own, ascending (a chunk
    of the fleet: a list as long as what its customers own, not the fleet)."""
    rows = conn.execute(
        "SELECT p.id FROM product_instances p JOIN devices d ON d.instance_id = p.id "
        "WHERE p.owner_id > %(c_after)s AND p.owner_id <= %(c_upto)s "
        "AND d.revoked_at IS NULL ORDER BY p.id", customers.params).fetchall()
    return [int(r[0]) for r in rows]


def instance_id_bound(conn: Conn) -> int:
    """The highest id a product instance or a stored forecast has (0: none); from the
    primary keys' ends, whatever the size of the fleet."""
    row = conn.execute(
        "SELECT greatest((SELECT max(id) FROM product_instances), "
        "(SELECT max(instance_id) FROM instance_forecasts), 0)").fetchone()
    return int(row[0]) if row else 0


def claimed_instance_ids(conn: Conn, *, after: int, limit: int) -> list[int]:
    """Ids of claimed instances with an active tag, ascending from ``after`` (keyset paging)."""
    rows = conn.execute(
        "SELECT p.id FROM product_instances p JOIN devices d ON d.instance_id = p.id "
        "WHERE p.owner_id IS NOT NULL AND d.revoked_at IS NULL AND p.id > %s "
        "ORDER BY p.id LIMIT %s", (after, limit)).fetchall()
    return [int(r[0]) for r in rows]


def changed_instance_ids(conn: Conn, since: datetime) -> list[int]:
    """Claimed instances with an active tag whose device reported a new consumable (a
    ``refill``, ``replaced`` or ``nfc_tap`` event) timed after ``since``."""
    rows = conn.execute(
        "SELECT DISTINCT p.id FROM events e JOIN devices d ON d.id = e.device_id "
        "JOIN product_instances p ON p.id = d.instance_id "
        "WHERE e.time > %s AND e.kind = ANY(%s) AND p.owner_id IS NOT NULL "
        "AND d.revoked_at IS NULL ORDER BY p.id", (since, sorted(CYCLE_EVENTS))).fetchall()
    return [int(r[0]) for r in rows]


def load_instances(conn: Conn, ids: Sequence[int]) -> list[Instance]:
    with conn.cursor(row_factory=class_row(Instance)) as cur:
        return cur.execute(
            "SELECT p.id, p.sku, s.category, d.id AS device_id, p.claimed_at, p.created_at, "
            "c.timezone, p.owner_id FROM product_instances p JOIN skus s ON s.sku = p.sku "
            "JOIN devices d ON d.instance_id = p.id "
            "LEFT JOIN customers c ON c.id = p.owner_id "
            "WHERE p.id = ANY(%s) ORDER BY p.id", (list(ids),)).fetchall()


def load_catalog(conn: Conn, device_skus: Sequence[str],
                 ) -> tuple[list[CatalogConsumable], list[CatalogService]]:
    """The consumables and services of these device SKUs."""
    skus = sorted(set(device_skus))
    with conn.cursor(row_factory=class_row(CatalogConsumable)) as cur:
        consumables = cur.execute(
            "SELECT device_sku, consumable_sku, capacity_litres, capacity_uses, "
            "capacity_months, level_based FROM sku_consumables WHERE device_sku = ANY(%s) "
            "ORDER BY device_sku, consumable_sku", (skus,)).fetchall()
    with conn.cursor(row_factory=class_row(CatalogService)) as cur:
        services = cur.execute(
            "SELECT device_sku, service_sku, interval_months, interval_usage, usage_metric "
            "FROM sku_services WHERE device_sku = ANY(%s) ORDER BY device_sku, service_sku",
            (skus,)).fetchall()
    return consumables, services


def load_cycle_events(conn: Conn, device_ids: Sequence[str], until: datetime,
                      ) -> dict[str, list[DeviceEvent]]:
    """The devices' ``refill``/``replaced``/``nfc_tap`` events up to ``until``, all of them.

    They are rare (a refill every few weeks), and the last one that concerns a consumable
    is when it was fitted however long ago that was.
    """
    with conn.cursor(row_factory=class_row(DeviceEvent)) as cur:
        rows = cur.execute(
            "SELECT device_id, extract(epoch FROM time)::float8 AS time, kind, "
            "data->>'part' AS part, data ? 'customer_id' AS by_customer FROM events "
            "WHERE device_id = ANY(%s) AND kind = ANY(%s) AND time <= %s "
            "ORDER BY device_id, time",
            (list(device_ids), sorted(CYCLE_EVENTS), until)).fetchall()
    found: dict[str, list[DeviceEvent]] = defaultdict(list)
    for row in rows:
        found[row.device_id].append(row)
    return found


def load_readings(conn: Conn, wanted: Sequence[tuple[str, str]], start: datetime,
                  end: datetime) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Raw ``(epoch seconds, value)`` samples of each wanted (device, metric) in [start, end]."""
    found: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    if not wanted:
        return found
    pairs = sorted(set(wanted))
    rows = conn.execute(
        "SELECT r.device_id, r.metric, extract(epoch FROM r.time)::float8, r.value "
        "FROM unnest(%s::text[], %s::text[]) AS w(device_id, metric) "
        "JOIN readings r ON r.device_id = w.device_id AND r.metric = w.metric "
        "WHERE r.time >= %s AND r.time <= %s",
        ([d for d, _ in pairs], [m for _, m in pairs], start, end)).fetchall()
    for device_id, metric, t, value in rows:
        found[(device_id, metric)].append((t, value))
    return found


def load_carries(conn: Conn, requests: Sequence[CarryRequest], until: datetime,
                 ) -> dict[CarryRequest, float]:
    """What happened on each requested metric before the raw window, from ``readings_hourly``.

    Raw readings are kept for 90 days and the forecast reads eight weeks of them, but a
    filter may have been fitted half a year ago. The hourly rollup (kept for good, and the
    same on both storage paths) fills in the part of the cycle before ``until``:

    - ``flow_l``: the litres from the hour the cycle began up to ``until``;
    - a cumulative counter: its value when the cycle began, the last one before that hour
      (or, for a tag silent until then, the lowest in its first hour after it).

    Nothing before a request's ``not_before`` is read (the hours before its owner had it).

    Requests with nothing in the rollup are left out of the answer.
    """
    if not requests:
        return {}
    unique = list(dict.fromkeys(requests))
    rows = conn.execute(
        "SELECT w.i, CASE WHEN w.metric = 'flow_l' THEN "
        "  (SELECT sum(h.total) FROM readings_hourly h WHERE h.device_id = w.device_id "
        "   AND h.metric = w.metric AND h.bucket >= w.since AND h.bucket < %(until)s) "
        "ELSE coalesce("
        "  (SELECT h.last_value FROM readings_hourly h WHERE h.device_id = w.device_id "
        "   AND h.metric = w.metric AND h.bucket < w.since "
        "   AND (w.not_before IS NULL OR h.bucket >= w.not_before) "
        "   ORDER BY h.bucket DESC LIMIT 1), "
        "  (SELECT h.min FROM readings_hourly h WHERE h.device_id = w.device_id "
        "   AND h.metric = w.metric AND h.bucket >= w.since AND h.bucket < %(until)s "
        "   ORDER BY h.bucket LIMIT 1)) END "
        "FROM unnest(%(devices)s::text[], %(metrics)s::text[], %(since)s::timestamptz[], "
        "%(not_before)s::timestamptz[]) WITH ORDINALITY AS w(device_id, metric, since, "
        "not_before, i)",
        {"until": until, "devices": [r.device_id for r in unique],
         "metrics": [r.metric for r in unique], "since": [r.since for r in unique],
         "not_before": [r.not_before for r in unique]}).fetchall()
    return {unique[i - 1]: float(value) for i, value in rows if value is not None}


def replace_forecasts(conn: Conn, instance_ids: Sequence[int],
                      forecasts: Sequence[StoredForecast]) -> None:
    """Upsert the batch's forecasts and drop its instances' rows for items no longer listed.

    Idempotent: running the same batch twice leaves the same rows.
    """
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO instance_forecasts ({_COLUMNS}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(_NAMES))}) "
            f"ON CONFLICT (instance_id, item_sku, kind) DO UPDATE SET {_UPDATE}",
            [astuple(f) for f in forecasts])
    conn.execute(
        "DELETE FROM instance_forecasts f WHERE f.instance_id = ANY(%s) AND NOT EXISTS ("
        "SELECT 1 FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS k(instance_id, sku, kind) "
        "WHERE k.instance_id = f.instance_id AND k.sku = f.item_sku AND k.kind = f.kind)",
        (list(instance_ids), [f.instance_id for f in forecasts],
         [f.item_sku for f in forecasts], [f.kind for f in forecasts]))


@dataclass(frozen=True, slots=True)
class PreviousCycle:
    """What the stored forecast of a consumable said last, before it is replaced."""

    cycle_start: datetime
    used: float
    rate_per_day: float
    computed_at: datetime
    basis: str
    risk_from: datetime | None


def previous_cycles(conn: Conn, instance_ids: Sequence[int],
                    ) -> dict[tuple[int, str], PreviousCycle]:
    """The stored consumable forecasts of these instances, by (instance, item)."""
    rows = conn.execute(
        "SELECT instance_id, item_sku, cycle_start, used, rate_per_day, computed_at, basis, "
        "risk_from FROM instance_forecasts WHERE instance_id = ANY(%s) AND kind = 'consumable'",
        (list(instance_ids),)).fetchall()
    return {(int(i), str(s)): PreviousCycle(*rest) for i, s, *rest in rows}


def forget_forecasts(conn: Conn, instance_ids: Sequence[int]) -> int:
    """Drop the instances' forecasts (they changed hands: what they said was drawn from the
    previous owner's use); the next run forecasts them again for the new owner."""
    return conn.execute("DELETE FROM instance_forecasts WHERE instance_id = ANY(%s)",
                        (list(instance_ids),)).rowcount


def prune_unclaimed(conn: Conn, after: int = 0, upto: int = 2**63 - 1) -> int:
    """Drop forecasts of products that were released or lost their tag, among the instances
    ``after < id <= upto`` (by default all); returns how many."""
    cur = conn.execute(
        "DELETE FROM instance_forecasts f WHERE f.instance_id > %s AND f.instance_id <= %s "
        "AND NOT EXISTS (SELECT 1 FROM product_instances p "
        "JOIN devices d ON d.instance_id = p.id WHERE p.id = f.instance_id "
        "AND p.owner_id IS NOT NULL AND d.revoked_at IS NULL)", (after, upto))
    return cur.rowcount


def list_forecasts(conn: Conn, instance_id: int) -> list[tuple[StoredForecast, str, str]]:
    """An instance's stored forecasts, soonest due first, each with the item's name (en, zh)."""
    rows = conn.execute(
        f"SELECT {', '.join('f.' + n for n in _NAMES)}, s.name, s.name_zh "  # noqa: S608
        "FROM instance_forecasts f JOIN skus s ON s.sku = f.item_sku WHERE f.instance_id = %s "
        "ORDER BY f.due_at NULLS LAST, f.kind, f.item_sku", (instance_id,)).fetchall()
    return [(StoredForecast(*row[:-2]), row[-2], row[-1]) for row in rows]
