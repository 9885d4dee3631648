"""SQL of fleet quality alerts: the daily scan, its alerts and the owners' quality notices.

:func:`scan` counts set-based, per SKU and per SKU and production batch (``GROUPING SETS``),
the ``fault`` events of the active (not revoked) devices in the window and in the baseline
before it, judges each group in Python (:func:`quality.assess`), and stores the significant
ones ``ON CONFLICT (sku, batch, day) DO NOTHING``. A batch that is significant on its own
gets the alert, and then its SKU gets none that day: the batch explains the rise and its
owners are the ones to tell. A SKU gets an alert for the whole model only when no single
batch stands out (or its products have no batch recorded).

For each alert this run really inserted, the owners of every product in its scope (the
batch, or the whole SKU) get a ``quality`` offer through :func:`offers_store.insert_offers`
and :func:`offers_store.apply_no_spam`, whether or not their own device has failed yet:
they should hear of it before they have to call the store. Quality notices are exempt from
the weekly cap and reach opted-out customers; quiet hours still defer them. The push outbox
sends them like any other offer. Callers own the transaction.

Exposure is ``devices x days`` over the active devices now: a fleet that grew during the
baseline has its baseline rate underestimated (errs towards alerting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from psycopg.rows import class_row

from catalog import store as catalog
from homeloop.db import Conn
from replenishment import offers_store
from replenishment.quality import Assessment, QualityRule, assess

__all__ = ["AlertRow", "ScanResult", "list_alerts", "reason", "scan"]

DEFAULT_RULE = QualityRule()


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    sku: str
    batch: str | None  # None: the whole SKU
    day: date
    window_start: datetime
    window_end: datetime
    faults: int
    devices: int
    rate: float
    baseline_rate: float
    expected: float
    p_value: float
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ScanResult:
    skus: int
    alerts: int   # inserted by this run
    offers: int   # quality offers inserted by this run


COUNTS = """
WITH dev AS (
    SELECT d.id, p.sku, p.batch
    FROM devices d JOIN product_instances p ON p.id = d.instance_id
    WHERE d.revoked_at IS NULL
),
faults AS (
    SELECT e.device_id,
           count(*) FILTER (WHERE e.time >= %(window_start)s) AS recent,
           count(*) FILTER (WHERE e.time < %(window_start)s) AS before
    FROM events e
    WHERE e.kind = 'fault' AND e.time >= %(baseline_start)s AND e.time < %(now)s
    GROUP BY e.device_id
)
SELECT dev.sku, dev.batch, grouping(dev.batch) = 1 AS whole_sku, count(*) AS devices,
       coalesce(sum(f.recent), 0)::bigint AS recent,
       coalesce(sum(f.before), 0)::bigint AS before
FROM dev LEFT JOIN faults f ON f.device_id = dev.id
GROUP BY GROUPING SETS ((dev.sku), (dev.sku, dev.batch))
HAVING grouping(dev.batch) = 1 OR dev.batch IS NOT NULL
ORDER BY dev.sku, whole_sku, dev.batch
"""

INSERT_ALERT = """
INSERT INTO quality_alerts (sku, batch, day, window_start, window_end, faults, devices, rate,
                            baseline_rate, expected, p_value, created_at)
VALUES (%(sku)s, %(batch)s, (%(now)s::timestamptz AT TIME ZONE 'UTC')::date, %(window_start)s,
        %(now)s, %(faults)s, %(devices)s, %(rate)s, %(baseline_rate)s, %(expected)s,
        %(p_value)s, %(now)s)
ON CONFLICT (sku, batch, day) DO NOTHING
RETURNING id
"""

# The owners of every product in the alert's scope: the batch, or the whole SKU.
AFFECTED = """
SELECT p.id AS instance_id, p.owner_id, s.name, s.name_zh,
       -- the visit is booked through the home store, if it is a physical one
       CASE WHEN c.home_store_id = ANY(%(physical)s) THEN c.home_store_id END AS store_id
FROM product_instances p
JOIN customers c ON c.id = p.owner_id
JOIN skus s ON s.sku = p.sku
WHERE p.sku = %(sku)s AND (%(batch)s::text IS NULL OR p.batch = %(batch)s)
ORDER BY p.id
"""


@dataclass(frozen=True, slots=True)
class _Group:
    sku: str
    batch: str | None
    devices: int
    recent: int
    before: int


def reason(product_name: str, product_name_zh: str, batch: str | None) -> tuple[str, str]:
    """The quality notice's reason, (English, Chinese)."""
    if batch is None:
        return (f"Some {product_name} products like yours report more faults than usual; "
                "book a free check.",
                f"与您同款的部分{product_name_zh}近期故障比平时多，请预约免费检查。")  # noqa: RUF001
    return (f"Some {product_name} products from the same production batch as yours ({batch}) "
            "report more faults than usual; book a free check.",
            f"与您的{product_name_zh}同一生产批次（{batch}）的部分产品近期故障比平时多，"  # noqa: RUF001
            "请预约免费检查。")


def _alerted(groups: list[_Group], rule: QualityRule) -> list[tuple[_Group, Assessment]]:
    """The groups to alert on: significant batches, else the SKU when it is significant."""
    chosen: list[tuple[_Group, Assessment]] = []
    by_sku: dict[str, list[_Group]] = {}
    for group in groups:
        by_sku.setdefault(group.sku, []).append(group)
    for members in by_sku.values():
        judged = [(g, assess(g.recent, g.devices, g.before, rule)) for g in members]
        batches = [(g, a) for g, a in judged if g.batch is not None and a.significant]
        whole = [(g, a) for g, a in judged if g.batch is None and a.significant]
        chosen += batches or whole
    return chosen


def scan(conn: Conn, now: datetime, rule: QualityRule = DEFAULT_RULE, *,
         service_lead_days: int = 3, expiry_days: int = 14, weekly_cap: int = 3) -> ScanResult:
    """Run the daily scan as of ``now``; a second run the same UTC day adds nothing."""
    window_start = now - timedelta(days=rule.window_days)
    baseline_start = window_start - timedelta(days=rule.baseline_days)
    groups = [_Group(sku, None if whole else batch, int(devices), int(recent), int(before))
              for sku, batch, whole, devices, recent, before in conn.execute(
                  COUNTS, {"now": now, "window_start": window_start,
                           "baseline_start": baseline_start}).fetchall()]
    alerts = 0
    physical = [s.id for s in catalog.stores(conn) if not s.online]
    new_offers: list[offers_store.NewOffer] = []
    for group, found in _alerted(groups, rule):
        inserted = conn.execute(INSERT_ALERT, {
            "sku": group.sku, "batch": group.batch, "now": now, "window_start": window_start,
            "faults": found.faults, "devices": found.devices, "rate": found.rate,
            "baseline_rate": found.baseline_rate, "expected": found.expected,
            "p_value": found.p_value}).fetchone()
        if inserted is None:  # already raised today
            continue
        alerts += 1
        alert_id = int(inserted[0])
        for instance_id, owner_id, name, name_zh, store_id in conn.execute(
                AFFECTED, {"sku": group.sku, "batch": group.batch,
                           "physical": physical}).fetchall():
            en, zh = reason(name, name_zh, group.batch)
            new_offers.append(offers_store.NewOffer(
                customer_id=int(owner_id), instance_id=int(instance_id), kind="quality",
                item_skus=[group.sku], cycle_key=f"quality:{alert_id}:{instance_id}",
                reason_en=en, reason_zh=zh, fulfilment="visit", store_id=store_id,
                lead_days=service_lead_days,
                due_at=(now + timedelta(days=service_lead_days)).isoformat(),
                lines=[{"instance_id": int(instance_id), "item_sku": group.sku,
                        "cycle_start": now.isoformat()}]))
    offer_ids: list[int] = []
    if new_offers:
        # the weekly cap counts consistently, with an evaluation of the same customers
        offers_store.lock_customers(conn, [o.customer_id for o in new_offers])
        offer_ids = offers_store.insert_offers(conn, new_offers, now, expiry_days)
        offers_store.apply_no_spam(conn, offer_ids, now, weekly_cap)
    return ScanResult(skus=len({g.sku for g in groups}), alerts=alerts, offers=len(offer_ids))


def list_alerts(conn: Conn, limit: int = 100) -> list[AlertRow]:
    """The latest alerts, newest first."""
    with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        return cur.execute(
            "SELECT id, sku, batch, day, window_start, window_end, faults, devices, rate, "
            "baseline_rate, expected, p_value, created_at FROM quality_alerts "
            "ORDER BY day DESC, id DESC LIMIT %s", (limit,)).fetchall()
