"""SQL of the marketing offers: up-sell, cross-sell and points. Callers own the transaction.

They ride on what the customer is already told, set-based over all customers at once:

- **up-sell** — a replenishment just offered for a consumable the customer goes through fast
  (one pack or filter in ``heavy_days`` or less at their pace) when the same device takes a
  bigger one of the same category: "the 90 pack lasts three times as long and costs 14% less
  per use";
- **cross-sell** — an item that goes with one just offered (``sku_related``: descaler with
  coffee pods) that the customer was not offered in the last 90 days and that no forecast of
  theirs will bring up within 30 days anyway;
- **points** — once a month at most, the dearest item for a device they own (a consumable,
  or one that goes with one) that their points redeem outright.

Each comes from the home store if it has the item (pickup, set aside for tomorrow), else from
the online store (delivery): the catalog's answer (:func:`catalog.availability.sourcing`,
``HOME_OR_ONLINE``); an item neither has is not offered. They are marketing: only customers
who agreed to that kind by push are considered (nobody else is profiled for it), and they
count against the weekly cap after the replenishments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from catalog import availability
from homeloop.db import Conn
from replenishment.offers_store import EVERYONE, Customers

__all__ = ["MarketingCandidate", "candidates"]


@dataclass(frozen=True, slots=True)
class MarketingCandidate:
    customer_id: int
    kind: str  # upsell, crosssell, points
    instance_id: int
    cycle_key: str
    cycle_start: str
    item_sku: str
    item_name: str
    item_name_zh: str
    product_name: str
    product_name_zh: str
    store_id: str
    store_name: str
    store_name_zh: str | None
    fulfilment: str  # pickup or delivery
    lead_days: int
    # up-sell: the smaller item and the saving per use; cross-sell: what it goes with;
    # points: the customer's points and the item's cost in points
    other_name: str | None
    other_name_zh: str | None
    saving_pct: int | None
    points: int | None
    points_cost: int | None


MARKETING = """
WITH
{reach},
-- Replenishment lines just offered (and shown, not suppressed).
fresh AS (
    SELECT l.instance_id, l.item_sku, l.cycle_start, o.customer_id, o.item_skus,
           p.sku AS product_sku
    FROM offers o
    JOIN offer_lines l ON l.offer_id = o.id
    JOIN product_instances p ON p.id = l.instance_id
    WHERE o.kind = 'replenish' AND o.status <> 'suppressed'
      AND o.decided_at > %(now)s - interval '1 day'
      AND o.customer_id > %(c_after)s AND o.customer_id <= %(c_upto)s
),
capacity AS (
    SELECT device_sku, consumable_sku,
           coalesce(capacity_uses::float8, capacity_litres) AS amount
    FROM sku_consumables
),
upsell AS (
    SELECT f.customer_id, 'upsell' AS kind, f.instance_id, f.product_sku, f.cycle_start,
           big.sku AS item_sku, f.item_sku AS other_sku,
           round(100 * (1 - (bs.price_cents / big.amount)
                            / (cs.price_cents / cur.amount)))::int AS saving_pct,
           NULL::bigint AS points, NULL::int AS points_cost
    FROM fresh f
    JOIN instance_forecasts fc ON fc.instance_id = f.instance_id AND fc.item_sku = f.item_sku
                              AND fc.kind = 'consumable'
    JOIN capacity cur ON cur.device_sku = f.product_sku AND cur.consumable_sku = f.item_sku
    JOIN skus cs ON cs.sku = f.item_sku
    CROSS JOIN LATERAL (
        SELECT b.consumable_sku AS sku, b.amount FROM capacity b
        JOIN skus s ON s.sku = b.consumable_sku
        WHERE b.device_sku = f.product_sku AND s.category = cs.category
          AND b.amount > cur.amount
        ORDER BY b.amount LIMIT 1) big
    JOIN skus bs ON bs.sku = big.sku
    WHERE fc.basis = 'usage' AND fc.rate_per_day > 0
      AND cur.amount / fc.rate_per_day <= %(heavy_days)s
      AND NOT big.sku = ANY(f.item_skus)
),
crosssell AS (
    SELECT f.customer_id, 'crosssell', f.instance_id, f.product_sku, f.cycle_start,
           r.related_sku, f.item_sku, NULL::int, NULL::bigint, NULL::int
    FROM fresh f
    JOIN sku_related r ON r.sku = f.item_sku
    WHERE NOT r.related_sku = ANY(f.item_skus)
      AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.customer_id = f.customer_id
                      AND r.related_sku = ANY(o.item_skus)
                      AND o.decided_at > %(now)s - interval '90 days')
      AND NOT EXISTS (SELECT 1 FROM instance_forecasts x WHERE x.instance_id = f.instance_id
                      AND x.item_sku = r.related_sku
                      AND x.due_at <= %(now)s + interval '30 days')
),
points AS (
    SELECT DISTINCT ON (c.id) c.id, 'points', p.id, p.sku,
           date_trunc('month', %(now)s::timestamptz), i.sku, NULL::text, NULL::int,
           c.points, s.points_cost
    FROM customers c
    JOIN product_instances p ON p.owner_id = c.id
    CROSS JOIN LATERAL (
        SELECT consumable_sku AS sku FROM sku_consumables WHERE device_sku = p.sku
        UNION
        SELECT r.related_sku FROM sku_consumables k
        JOIN sku_related r ON r.sku = k.consumable_sku WHERE k.device_sku = p.sku) i
    JOIN skus s ON s.sku = i.sku
    WHERE s.points_cost IS NOT NULL AND s.points_cost <= c.points
      -- said of both tables, so that each is read by its index (see offers_store)
      AND c.id > %(c_after)s AND c.id <= %(c_upto)s
      AND p.owner_id > %(c_after)s AND p.owner_id <= %(c_upto)s
      AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.customer_id = c.id AND o.kind = 'points'
                      AND o.decided_at > %(now)s - interval '30 days')
    ORDER BY c.id, s.points_cost DESC, i.sku, p.id
),
wanted AS (
    SELECT * FROM upsell UNION ALL SELECT * FROM crosssell UNION ALL SELECT * FROM points
)
SELECT w.customer_id, w.kind, w.instance_id,
       w.kind || ':' || CASE w.kind WHEN 'points' THEN w.customer_id::text
                                    ELSE w.instance_id::text END
              || ':' || w.item_sku || ':' || floor(extract(epoch FROM w.cycle_start))::bigint,
       w.cycle_start::text, w.item_sku, it.name, it.name_zh, pr.name, pr.name_zh,
       src.store_id, CASE src.kind WHEN 'online' THEN 'delivery' ELSE 'pickup' END,
       src.days,
       ot.name, ot.name_zh, w.saving_pct, w.points, w.points_cost
FROM wanted w
JOIN customers c ON c.id = w.customer_id
JOIN skus it ON it.sku = w.item_sku
JOIN skus pr ON pr.sku = w.product_sku
LEFT JOIN skus ot ON ot.sku = w.other_sku
CROSS JOIN LATERAL {best} src
-- Only customers who asked for this kind of offer are considered at all: nobody is
-- profiled for marketing they did not agree to (the no-spam rules still apply the cap).
WHERE c.opted_out_at IS NULL
  AND EXISTS (SELECT 1 FROM customer_consents cc WHERE cc.customer_id = w.customer_id
              AND cc.kind = w.kind AND cc.channel = 'push' AND cc.granted)
  AND NOT EXISTS (SELECT 1 FROM offer_lines l WHERE l.instance_id = w.instance_id
                  AND l.offer_kind = w.kind AND l.item_sku = w.item_sku
                  AND l.cycle_start = w.cycle_start)
ORDER BY w.customer_id, w.kind, w.item_sku
"""


def candidates(conn: Conn, now: datetime, *, heavy_days: float, nearby_km: float,
               customers: Customers = EVERYONE) -> list[MarketingCandidate]:
    supply = availability.sourcing(conn, nearby_km=nearby_km,
                                   policy=availability.HOME_OR_ONLINE, at_store=False)
    statement = MARKETING.format(reach=supply.cte,
                                 best=supply.best("w.item_sku", "1", "c.home_store_id"))
    rows = conn.execute(statement, {"now": now, "heavy_days": heavy_days,
                                    **supply.params, **customers.params}).fetchall()
    found = []
    for (customer_id, kind, instance_id, cycle_key, cycle_start, item_sku, item_name,
         item_name_zh, product_name, product_name_zh, store_id, fulfilment, lead_days,
         other_name, other_name_zh, saving_pct, points, points_cost) in rows:
        where = supply.stores[store_id]
        found.append(MarketingCandidate(
            customer_id, kind, instance_id, cycle_key, cycle_start, item_sku, item_name,
            item_name_zh, product_name, product_name_zh, store_id, where.name, where.name_zh,
            fulfilment, int(lead_days), other_name, other_name_zh, saving_pct, points,
            points_cost))
    return found
