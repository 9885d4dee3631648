"""SQL of offers: deciding them set-based over the stored forecasts, the no-spam rules, and
what the home app reads and changes. Callers own the transaction.

The decision (:func:`candidates`) is one statement over the ``instance_forecasts`` of one
chunk of customers (:class:`Customers`; everyone by default), whatever their number;
wording the offers that are new is Python (:mod:`offer_reasons`), and storing them
(:func:`insert_offers`) and the no-spam rules (:func:`apply_no_spam`) are one statement each
again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import class_row

from catalog import availability
from homeloop.db import Conn
from homeloop.errors import Conflict, NotFound, missing
from replenishment import risk, texts

__all__ = ["EVERYONE", "Candidate", "CandidateLine", "Customers", "KindStats", "NewOffer",
           "OfferRow", "already_bought", "apply_no_spam", "candidates", "dismiss",
           "expire_and_release", "insert_offers", "list_for_customer", "lock_customers",
           "lock_evaluation", "mark_opened", "snooze", "stats", "time_zones",
           "withdraw_refilled"]

# "snoozed" ("I still have some") stays open: in the app's list, acceptable, lapsing at expiry.
OPEN = ("pending", "deferred", "sent", "opened", "snoozed")


@dataclass(frozen=True, slots=True)
class Customers:
    """The customers ``after < id <= upto``: what one chunk of an evaluation decides for.

    Every statement of an evaluation reads and changes the offers of these customers only,
    through their own rows (``customers`` by id, ``product_instances`` by owner, ``offers``
    by customer), so a chunk costs what its customers have, whatever the size of the fleet.
    """

    after: int = 0
    upto: int = 2**63 - 1

    @property
    def params(self) -> dict[str, int]:
        return {"c_after": self.after, "c_upto": self.upto}

    def __str__(self) -> str:
        return f"({self.after}, {'∞' if self.upto == EVERYONE.upto else self.upto}]"


EVERYONE = Customers()


@dataclass(frozen=True, slots=True)
class CandidateLine:
    instance_id: int
    item_sku: str
    item_kind: str
    cycle_start: str  # as PostgreSQL wrote it, handed back unchanged into offer_lines
    days_left: float  # as of the decision, never negative
    basis: str
    prior_weight: float
    item_name: str
    item_name_zh: str
    product_name: str
    product_name_zh: str
    item_category: str = ""
    metric: str | None = None
    pack_days_low: float | None = None  # a whole pack's life at this pace (80 %)
    pack_days_high: float | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An offer the rules call for and nobody has made yet, before it is worded."""

    customer_id: int
    kind: str
    instance_id: int
    cycle_key: str
    store_id: str | None
    store_name: str | None
    store_name_zh: str | None
    fulfilment: str
    lead_days: int
    due_at: datetime
    delivery_days: int | None
    lines: list[CandidateLine]


@dataclass(frozen=True, slots=True)
class NewOffer:
    customer_id: int
    instance_id: int
    kind: str
    item_skus: list[str]
    cycle_key: str
    reason_en: str
    reason_zh: str
    fulfilment: str
    store_id: str | None
    lead_days: int
    due_at: str  # ISO 8601
    lines: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OfferRow:
    id: int
    customer_id: int
    instance_id: int | None
    kind: str
    item_skus: list[str]
    reason_en: str
    reason_zh: str
    fulfilment: str
    store_id: str | None
    lead_days: int
    due_at: datetime
    expires_at: datetime
    status: str
    suppressed_reason: str | None
    deliver_after: datetime
    decided_at: datetime


_zones: list[list[str]] = []  # this process's copy of the server's time zone names


def time_zones(conn: Conn) -> list[str]:
    """The time zone names the server knows (``pg_timezone_names``), read once per process.

    A customer's zone that the server does not know counts as UTC. Reading the view costs
    about 0.1 s each time (it walks the server's time zone files): once per statement it was
    most of a chunk's cost, and it changes only with the server's time zone data.
    """
    if not _zones:
        _zones.append([str(r[0]) for r in conn.execute("SELECT name FROM pg_timezone_names")])
    return _zones[0]


def lock_evaluation(conn: Conn, customers: Customers = EVERYONE) -> int:
    """Serialise evaluations of the same customers until the transaction ends; returns how
    many customers are in the range.

    Two workers at once (beat fired twice, a chunk redelivered) would both see no offer yet;
    the unique keys already keep them from storing one twice, but the weekly cap must count
    the other's offers too. So an evaluation takes its customers' rows ``FOR NO KEY UPDATE``,
    in id order (no deadlock between overlapping ranges): evaluations of other customers
    run at the same time, and nothing else waits but a change to one of these customers'
    own rows, for the second or so a chunk takes (a new offer's or order's reference to
    a customer takes ``KEY SHARE``, which this does not block). The statements after the
    lock see everything the previous evaluation committed (READ COMMITTED).
    """
    return len(conn.execute(
        "SELECT id FROM customers WHERE id > %(c_after)s AND id <= %(c_upto)s "
        "ORDER BY id FOR NO KEY UPDATE", customers.params).fetchall())


def lock_customers(conn: Conn, ids: Sequence[int]) -> None:
    """:func:`lock_evaluation` for these customers only (offers made outside an evaluation,
    such as quality notices, for a few customers of the whole fleet)."""
    conn.execute("SELECT id FROM customers WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                 (sorted(set(ids)),))


def withdraw_refilled(conn: Conn, now: datetime, customers: Customers = EVERYONE) -> int:
    """Open replenishment and maintenance offers whose every line's cycle began anew since
    (a new one fitted, bought elsewhere, or a visit done another way) lapse: there is nothing
    left to offer. Returns how many."""
    return conn.execute(
        "UPDATE offers o SET status = 'expired', updated_at = %(now)s "
        "WHERE o.status = ANY(%(open)s) AND o.kind IN ('replenish', 'maintenance') "
        "AND o.customer_id > %(c_after)s AND o.customer_id <= %(c_upto)s "
        "AND EXISTS (SELECT 1 FROM offer_lines l WHERE l.offer_id = o.id) "
        # no line whose item is still in the cycle the offer was for
        "AND NOT EXISTS (SELECT 1 FROM offer_lines l LEFT JOIN instance_forecasts f "
        "                ON f.instance_id = l.instance_id AND f.item_sku = l.item_sku "
        "                WHERE l.offer_id = o.id "
        "                  AND (f.cycle_start IS NULL OR f.cycle_start <= l.cycle_start))",
        {"now": now, "open": list(OPEN), **customers.params}).rowcount


def expire_and_release(conn: Conn, now: datetime,
                       customers: Customers = EVERYONE) -> tuple[int, int]:
    """Open offers past their expiry lapse; deferred ones whose quiet hours ended are pending.

    Returns (expired, released).
    """
    expired = conn.execute(
        "UPDATE offers SET status = 'expired', updated_at = %(now)s "
        "WHERE status = ANY(%(open)s) AND expires_at <= %(now)s "
        "AND customer_id > %(c_after)s AND customer_id <= %(c_upto)s",
        {"now": now, "open": list(OPEN), **customers.params}).rowcount
    released = conn.execute(
        "UPDATE offers SET status = 'pending', updated_at = %(now)s "
        "WHERE status = 'deferred' AND deliver_after <= %(now)s "
        "AND customer_id > %(c_after)s AND customer_id <= %(c_upto)s",
        {"now": now, **customers.params}).rowcount
    return expired, released


def _quiet(local: str, start: str, end: str) -> str:
    """SQL: whether the local time ``local`` falls in the quiet hours ``start``-``end`` (a
    window may wrap past midnight; equal ends: none). One rule, for both statements below."""
    return (f"CASE WHEN {start} = {end} THEN false "
            f"WHEN {start} < {end} THEN {local}::time >= {start} AND {local}::time < {end} "
            f"ELSE {local}::time >= {start} OR {local}::time < {end} END")


def _quiet_ends(local: str, end: str, tz: str) -> str:
    """SQL: the next end of the quiet hours after the local time ``local``, back in absolute
    time (in the zone ``tz``, across a daylight-saving change too)."""
    return (f"(({local})::date + {end} + CASE WHEN ({local})::time >= {end} "
            f"THEN interval '1 day' ELSE interval '0' END) AT TIME ZONE {tz}")


CANDIDATES = """
WITH
{reach},
-- The furthest a forecast can be and still matter now: the slowest source in reach (or a
-- technician's visit), a night's quiet hours and a bundle's week. A forecast's risk_from is
-- the earliest moment any threshold could call for an offer, never after its due date.
horizon AS (
    SELECT %(next_at)s::timestamptz
           + make_interval(days => greatest(%(slowest)s::int, %(service_lead)s::int)
                                   + %(bundle_days)s::int + 1) AS until
),
-- Forecasts with a date, of products someone owns, that no offer of their kind covers in
-- this cycle yet (offer_lines' key: instance, kind, item, cycle).
open_lines AS (
    SELECT f.instance_id, f.item_sku, f.kind AS item_kind, k.offer_kind, f.cycle_start,
           f.due_at, f.basis, f.prior_weight, f.metric, f.rate_per_day, f.daily_sd,
           f.rate_sd, f.days_left, f.computed_at, f.pack_days_low, f.pack_days_high,
           isk.category AS item_category, p.owner_id AS customer_id, p.sku AS product_sku,
           c.home_store_id, c.quiet_start, c.quiet_end, c.timezone,
           coalesce(c.timezone, '') || ' ' || c.quiet_start || ' ' || c.quiet_end AS quiet_key
    FROM instance_forecasts f
    JOIN skus isk ON isk.sku = f.item_sku
    JOIN product_instances p ON p.id = f.instance_id
    JOIN customers c ON c.id = p.owner_id
    CROSS JOIN LATERAL (SELECT CASE f.kind WHEN 'consumable' THEN 'replenish'
                                           ELSE 'maintenance' END AS offer_kind) k
    WHERE f.risk_from <= (SELECT until FROM horizon)
      -- the chunk's customers, said of both tables, so that each is read by its index
      -- (PostgreSQL carries an equality across a join, not a range)
      AND p.owner_id > %(c_after)s AND p.owner_id <= %(c_upto)s
      AND c.id > %(c_after)s AND c.id <= %(c_upto)s
      AND NOT EXISTS (SELECT 1 FROM offer_lines l
                      WHERE l.instance_id = f.instance_id AND l.offer_kind = k.offer_kind
                        AND l.item_sku = f.item_sku AND l.cycle_start = f.cycle_start)
),
-- Where each consumable comes from: the catalog's answer for the customer's home store
-- (catalog.availability, AT_HOME): the home store (pickup, set aside for tomorrow), else
-- the online store (delivery), else the nearest store within reach (pickup). Asked once
-- per home store and item, not per line. A consumable no store in reach has is not offered
-- yet (the next evaluation offers it once stock arrives).
wanted AS (
    SELECT DISTINCT coalesce(home_store_id, '') AS origin, item_sku
    FROM open_lines WHERE item_kind = 'consumable'
),
supply AS MATERIALIZED (
    SELECT w.origin, w.item_sku, b.store_id, b.kind, b.days
    FROM wanted w CROSS JOIN LATERAL {best} b
),
-- A service is a technician's visit booked through the home store.
sourced AS (
    SELECT o.*, s.store_id,
           CASE s.kind WHEN 'online' THEN 'delivery' ELSE 'pickup' END AS fulfilment,
           s.days AS lead_days
    FROM open_lines o
    JOIN supply s ON s.origin = coalesce(o.home_store_id, '') AND s.item_sku = o.item_sku
    WHERE o.item_kind = 'consumable'
    UNION ALL
    SELECT o.*, CASE WHEN o.home_store_id = ANY(%(physical)s) THEN o.home_store_id END,
           'visit', %(service_lead)s::int
    FROM open_lines o
    WHERE o.item_kind = 'service'
),
-- When an offer left for the next evaluation would reach the customer: then, or, if that
-- falls in their quiet hours, when those end (it would wait for them). Worked out once per
-- time zone and quiet hours (a handful), not per line.
quiet_hours AS MATERIALIZED (
    SELECT DISTINCT quiet_key, timezone, quiet_start, quiet_end FROM open_lines
),
reach AS MATERIALIZED (
    SELECT s.quiet_key,
           CASE WHEN {quiet} THEN {quiet_ends} ELSE %(next_at)s::timestamptz END AS reach_at
    FROM quiet_hours s
    LEFT JOIN unnest(%(zones)s::text[]) z(name) ON z.name = s.timezone
    CROSS JOIN LATERAL (SELECT %(next_at)s::timestamptz AT TIME ZONE coalesce(z.name, 'UTC')
                        AS local, coalesce(z.name, 'UTC') AS tz) l
),
-- The rule (replenishment.risk.due, term for term): offer when the probability that it is
-- empty before a new one could reach the customer, were the offer to wait, reaches the
-- threshold: t - d >= z sqrt(a t + b t^2), with t the days from the forecast to then (the
-- moment above plus the lead time), d the days left it said (half a use sooner for whole
-- uses), a and b its spreads in days of the household's pace (none for a time limit), z the
-- threshold of the item's category in standard normal units, moved by the household's own
-- answers. (Joined by one key each: a join on several columns of a CTE makes PostgreSQL
-- expect a handful of rows, and the bundles below became a nested loop of hours.)
judged AS (
    SELECT s.*,
           x.t - x.d >= z.z * sqrt(greatest(0.0, x.a * x.t + x.b * x.t * x.t)) AS is_due
    FROM sourced s
    JOIN reach w ON w.quiet_key = s.quiet_key
    LEFT JOIN unnest(%(categories)s::text[], %(category_z)s::float8[]) AS cz(category, z)
           ON cz.category = s.item_category
    LEFT JOIN household_timing h
           ON h.customer_id = s.customer_id AND h.instance_id = s.instance_id
              AND h.item_sku = s.item_sku
              AND h.customer_id > %(c_after)s AND h.customer_id <= %(c_upto)s
    CROSS JOIN LATERAL (
        SELECT extract(epoch FROM w.reach_at - s.computed_at) / 86400.0 + s.lead_days AS t,
               CASE WHEN u.spread AND s.metric = 'count'
                        THEN greatest(0.0, s.days_left - %(whole_use)s::float8 / s.rate_per_day)
                    ELSE s.days_left END AS d,
               CASE WHEN u.spread THEN (s.daily_sd / s.rate_per_day) ^ 2 ELSE 0.0 END AS a,
               CASE WHEN u.spread THEN (s.rate_sd / s.rate_per_day) ^ 2 ELSE 0.0 END AS b
        FROM (SELECT s.basis = 'usage' AND s.rate_per_day > 0 AS spread) u) x
    CROSS JOIN LATERAL (
        SELECT least(%(z_high)s::float8, greatest(%(z_low)s::float8,
                   coalesce(cz.z, %(default_z)s::float8)
                   + least(%(shift_limit)s::float8, greatest(-%(shift_limit)s::float8,
                                                            coalesce(h.threshold_shift, 0.0)))))
               AS z) z
),
-- A customer's consumables from one source that fall due within a week of the first one
-- that is due join its offer: one message and one trip or delivery, not several pings.
anchors AS (
    SELECT customer_id, store_id, min(greatest(due_at, %(now)s)) AS first_due
    FROM judged WHERE is_due AND offer_kind = 'replenish'
    GROUP BY customer_id, store_id
),
members AS (
    SELECT j.*, 'from ' || j.store_id AS bundle
    FROM judged j
    JOIN anchors a ON a.customer_id = j.customer_id AND a.store_id = j.store_id
    WHERE j.offer_kind = 'replenish'
      AND (j.is_due OR j.due_at < a.first_due + %(bundle_days)s::int * interval '1 day')
    UNION ALL
    -- each service its own reminder
    SELECT j.*, j.instance_id || '/' || j.item_sku
    FROM judged j WHERE j.offer_kind = 'maintenance' AND j.is_due
),
found AS (
    SELECT m.customer_id, m.offer_kind AS kind,
           (array_agg(m.instance_id ORDER BY m.due_at, m.instance_id, m.item_sku))[1]
               AS instance_id,
           -- the bundle's key: its lines' keys, in a stable order
           string_agg(m.instance_id || ':' || m.item_sku || ':'
                      || floor(extract(epoch FROM m.cycle_start))::bigint, ','
                      ORDER BY m.instance_id, m.item_sku) AS cycle_key,
           array_agg(m.item_sku ORDER BY m.due_at, m.instance_id, m.item_sku) AS item_skus,
           m.store_id, m.fulfilment,
           max(m.lead_days) AS lead_days,
           min(m.due_at) AS due_at,
           jsonb_agg(jsonb_build_object(
               'instance_id', m.instance_id, 'item_sku', m.item_sku,
               'item_kind', m.item_kind, 'cycle_start', m.cycle_start,
               'days_left', greatest(extract(epoch FROM m.due_at - %(now)s) / 86400, 0),
               'basis', m.basis, 'prior_weight', m.prior_weight,
               'item_name', sk.name, 'item_name_zh', sk.name_zh,
               'product_name', ps.name, 'product_name_zh', ps.name_zh,
               'item_category', m.item_category, 'metric', m.metric,
               'pack_days_low', m.pack_days_low, 'pack_days_high', m.pack_days_high)
               ORDER BY m.due_at, m.instance_id, m.item_sku) AS lines
    FROM members m
    JOIN skus sk ON sk.sku = m.item_sku
    JOIN skus ps ON ps.sku = m.product_sku
    GROUP BY m.customer_id, m.offer_kind, m.bundle, m.store_id, m.fulfilment
)
-- For a pickup, the online store as the alternative when it has every item.
SELECT f.customer_id, f.kind, f.instance_id, f.cycle_key, f.item_skus, f.store_id,
       f.fulfilment, f.lead_days, f.due_at,
       CASE WHEN f.fulfilment = 'pickup' THEN {online_with_all} END AS delivery_days,
       f.lines
FROM found f
ORDER BY f.customer_id, f.due_at, f.cycle_key
"""


def candidates(conn: Conn, now: datetime, *, bundle_days: int, nearby_km: float,
               service_lead_days: int, next_evaluation_days: float,
               customers: Customers = EVERYONE) -> list[Candidate]:
    """Every offer the forecasts call for now that no offer covers yet, with its lines.

    Where each item comes from is the catalog's answer (:func:`catalog.availability.sourcing`)
    for a customer at home: their home store, else online, else a store within ``nearby_km``.
    When is :func:`replenishment.risk.due` with each category's threshold
    (:data:`replenishment.risk.THRESHOLDS`) and each household's shift of it
    (``household_timing``), for a new one that would reach them if the offer waited for the
    next evaluation (``next_evaluation_days`` away), or for the end of their quiet hours if
    that evaluation falls in them.
    """
    supply = availability.sourcing(conn, nearby_km=nearby_km, policy=availability.AT_HOME,
                                   at_store=False)
    statement = CANDIDATES.format(
        reach=supply.cte, best=supply.best("w.item_sku", "1", "w.origin"),
        online_with_all=supply.online_with_all("f.item_skus"),
        quiet=_quiet("l.local", "s.quiet_start", "s.quiet_end"),
        quiet_ends=_quiet_ends("l.local", "s.quiet_end", "l.tz"))
    categories = sorted(risk.THRESHOLDS)
    rows = conn.execute(statement, {
        "now": now, "bundle_days": bundle_days,
        "next_at": now + timedelta(days=next_evaluation_days),
        "service_lead": service_lead_days, "slowest": supply.slowest_days,
        "physical": supply.physical, "categories": categories,
        "category_z": [risk.category_z(c) for c in categories],
        "default_z": risk.z_of(risk.DEFAULT_THRESHOLD), "z_low": risk.Z_RANGE[0],
        "z_high": risk.Z_RANGE[1], "shift_limit": risk.SHIFT_LIMIT,
        "whole_use": risk.WHOLE_USE, "zones": time_zones(conn), **supply.params,
        **customers.params}).fetchall()
    found = []
    for (customer_id, kind, instance_id, cycle_key, _skus, store_id, fulfilment, lead_days,
         due_at, delivery_days, lines) in rows:
        where = supply.stores.get(store_id) if store_id is not None else None
        found.append(Candidate(
            customer_id, kind, instance_id, cycle_key, store_id,
            where.name if where else None, where.name_zh if where else None,
            fulfilment, int(lead_days), due_at, delivery_days,
            [CandidateLine(**line) for line in lines]))
    return found


INSERT = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(%(offers)s::jsonb) AS x(
        customer_id bigint, instance_id bigint, kind text, item_skus text[], cycle_key text,
        reason_en text, reason_zh text, fulfilment text, store_id text, lead_days integer,
        due_at timestamptz, lines jsonb)
),
inserted AS (
    INSERT INTO offers (customer_id, instance_id, kind, item_skus, cycle_key, reason_en,
                        reason_zh, fulfilment, store_id, lead_days, due_at, expires_at,
                        deliver_after, decided_at)
    SELECT customer_id, instance_id, kind, item_skus, cycle_key, reason_en, reason_zh,
           fulfilment, store_id, lead_days, due_at,
           -- lapses a few days after the date it is about (or after now, if that is past)
           greatest(due_at, %(now)s) + %(expiry_days)s * interval '1 day',
           %(now)s, %(now)s
    FROM input
    -- a retry, or a second worker that got here first: nothing new
    ON CONFLICT (kind, cycle_key) DO NOTHING
    RETURNING id, kind, cycle_key
),
lines AS (
    INSERT INTO offer_lines (offer_id, offer_kind, instance_id, item_sku, cycle_start)
    SELECT n.id, n.kind, l.instance_id, l.item_sku, l.cycle_start
    FROM inserted n
    JOIN input i ON i.kind = n.kind AND i.cycle_key = n.cycle_key
    CROSS JOIN LATERAL jsonb_to_recordset(i.lines)
        AS l(instance_id bigint, item_sku text, cycle_start timestamptz)
    ON CONFLICT DO NOTHING
)
SELECT id FROM inserted ORDER BY id
"""


def insert_offers(conn: Conn, offers: Sequence[NewOffer], now: datetime,
                  expiry_days: int) -> list[int]:
    """Store the offers (status pending) with their lines; returns the ids really inserted."""
    if not offers:
        return []
    rows = conn.execute(INSERT, {"offers": json.dumps([asdict(o) for o in offers]),
                                 "now": now, "expiry_days": expiry_days}).fetchall()
    return [int(r[0]) for r in rows]


# The quiet-hours fragments are this module's constants, not input.
NO_SPAM = """
WITH
new_ids AS (SELECT unnest(%(ids)s::bigint[]) AS id),
new AS (
    SELECT o.id, o.customer_id, o.kind, o.due_at, k.marketing, k.capped, k.overrides_opt_out,
           c.opted_out_at, c.quiet_start, c.quiet_end,
           -- service messages are allowed until refused, marketing only when granted
           coalesce(cc.granted, NOT k.marketing) AS consented,
           coalesce(z.name, 'UTC') AS tz
    FROM offers o
    JOIN offer_kinds k ON k.kind = o.kind
    JOIN customers c ON c.id = o.customer_id
    LEFT JOIN customer_consents cc
           ON cc.customer_id = o.customer_id AND cc.kind = o.kind AND cc.channel = 'push'
    LEFT JOIN unnest(%(zones)s::text[]) z(name) ON z.name = c.timezone
    WHERE o.id IN (SELECT id FROM new_ids)
),
-- Refused by the customer: opted out of offers (quality notices still go), or no consent.
gated AS (
    SELECT n.*,
           CASE WHEN n.opted_out_at IS NOT NULL AND NOT n.overrides_opt_out
                    THEN 'customer opted out'
                WHEN NOT n.consented AND n.marketing THEN 'no consent for marketing push'
                WHEN NOT n.consented THEN 'no consent for ' || n.kind || ' push'
           END AS refused
    FROM new n
),
-- The weekly cap: the capped offers the customer was given in the last 7 days (counted
-- once per customer, not once per new offer), then the new ones soonest due first; the
-- ones past the cap are suppressed.
given AS (
    SELECT p.customer_id, count(*) AS n
    FROM offers p JOIN offer_kinds pk ON pk.kind = p.kind
    WHERE pk.capped AND p.status <> 'suppressed'
      AND p.decided_at > %(now)s - interval '7 days'
      AND p.customer_id IN (SELECT customer_id FROM new)
      AND NOT EXISTS (SELECT 1 FROM new_ids x WHERE x.id = p.id)
    GROUP BY p.customer_id
),
ranked AS (
    SELECT g.*,
           CASE WHEN g.refused IS NULL AND g.capped THEN
               coalesce(gv.n, 0)
               + row_number() OVER (PARTITION BY g.customer_id, g.refused IS NULL AND g.capped
                                    ORDER BY g.due_at, g.id)
           END AS nth
    FROM gated g
    LEFT JOIN given gv ON gv.customer_id = g.customer_id
),
-- Quiet hours in the customer's own time zone (a window may wrap past midnight).
timed AS (
    SELECT r.*, {quiet} AS quiet,
           -- the next end of the quiet hours, back in absolute time
           {quiet_ends} AS quiet_ends
    FROM ranked r
    CROSS JOIN LATERAL (SELECT %(now)s::timestamptz AT TIME ZONE r.tz AS local) l
),
decided AS (
    SELECT t.id, s.status,
           coalesce(t.refused, CASE WHEN t.nth > %(cap)s THEN %(cap_reason)s END) AS why,
           CASE WHEN s.status = 'deferred' THEN t.quiet_ends ELSE %(now)s END AS deliver_after
    FROM timed t
    CROSS JOIN LATERAL (
        SELECT CASE WHEN t.refused IS NOT NULL OR t.nth > %(cap)s THEN 'suppressed'
                    WHEN t.quiet THEN 'deferred' ELSE 'pending' END AS status) s
)
UPDATE offers o
SET status = d.status, suppressed_reason = d.why, deliver_after = d.deliver_after,
    updated_at = %(now)s
FROM decided d
WHERE o.id = d.id
RETURNING o.status
""".replace("{quiet}", _quiet("l.local", "r.quiet_start", "r.quiet_end")).replace(
    "{quiet_ends}", _quiet_ends("l.local", "r.quiet_end", "r.tz"))


def apply_no_spam(conn: Conn, ids: Sequence[int], now: datetime, cap: int) -> dict[str, int]:
    """Opt-out, consent, weekly cap and quiet hours over the new offers; counts by status."""
    if not ids:
        return {}
    rows = conn.execute(NO_SPAM, {"ids": list(ids), "now": now, "cap": cap,
                                  "zones": time_zones(conn),
                                  "cap_reason": f"weekly cap of {cap} offers reached"}
                        ).fetchall()
    counts: dict[str, int] = {}
    for (status,) in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


_ROW = ("id, customer_id, instance_id, kind, item_skus, reason_en, reason_zh, fulfilment, "
        "store_id, lead_days, due_at, expires_at, status, suppressed_reason, deliver_after, "
        "decided_at")


def list_for_customer(conn: Conn, customer_id: int) -> list[OfferRow]:
    """The customer's offers they can see (not suppressed), newest first."""
    with conn.cursor(row_factory=class_row(OfferRow)) as cur:
        return cur.execute(
            f"SELECT {_ROW} FROM offers WHERE customer_id = %s "  # noqa: S608
            "AND status <> 'suppressed' ORDER BY decided_at DESC, id DESC",
            (customer_id,)).fetchall()


def dismiss(conn: Conn, customer_id: int, offer_id: int, now: datetime) -> OfferRow:
    """Mark the customer's offer dismissed; dismissing it again changes nothing.

    Another customer's offer, or a suppressed one (never shown), is "not found".
    """
    return _customer_moves(conn, customer_id, offer_id, now, to="dismissed",
                           settled=("dismissed",), verb="dismissed")


def mark_opened(conn: Conn, customer_id: int, offer_id: int, now: datetime) -> OfferRow:
    """The customer tapped the offer's notification (or opened it in the list).

    From any open status; opening it again, or an offer already accepted or snoozed, changes
    nothing; a dismissed or expired one is a conflict. Another customer's or a suppressed
    offer is "not found", as for :func:`dismiss`.
    """
    return _customer_moves(conn, customer_id, offer_id, now, to="opened",
                           settled=("opened", "accepted", "snoozed"), verb="opened")


def snooze(conn: Conn, customer_id: int, offer_id: int, now: datetime) -> tuple[OfferRow, bool]:
    """"I still have some": the offer stays in the list (and can still be accepted) without
    being pushed again. Returns the offer and whether it was snoozed just now (again: no
    change). Accepted, dismissed, bought or expired: a conflict."""
    return _answer(conn, customer_id, offer_id, now, "snoozed", "snoozed")


def already_bought(conn: Conn, customer_id: int, offer_id: int,
                   now: datetime) -> tuple[OfferRow, bool]:
    """"Already bought": closes the offer. From any open status (a snoozed one too); again:
    no change; accepted, dismissed or expired: a conflict."""
    return _answer(conn, customer_id, offer_id, now, "already_bought", "marked bought")


def _answer(conn: Conn, customer_id: int, offer_id: int, now: datetime, to: str,
            verb: str) -> tuple[OfferRow, bool]:
    return _moved(conn, customer_id, offer_id, now, to=to, settled=(to,), verb=verb)


def _customer_moves(conn: Conn, customer_id: int, offer_id: int, now: datetime, *, to: str,
                    settled: tuple[str, ...], verb: str) -> OfferRow:
    """Move the customer's own open offer to ``to``; from a ``settled`` status, no change.

    Another customer's offer, or a suppressed one, is "not found"; an offer in any other
    closed status is a conflict.
    """
    return _moved(conn, customer_id, offer_id, now, to=to, settled=settled, verb=verb)[0]


def _moved(conn: Conn, customer_id: int, offer_id: int, now: datetime, *, to: str,
           settled: tuple[str, ...], verb: str) -> tuple[OfferRow, bool]:
    """:func:`_customer_moves`, and whether the offer moved (False: it was settled)."""
    with conn.cursor(row_factory=class_row(OfferRow)) as cur:
        found = cur.execute(
            f"SELECT {_ROW} FROM offers WHERE id = %s AND customer_id = %s "  # noqa: S608
            "AND status <> 'suppressed' FOR UPDATE", (offer_id, customer_id)).fetchone()
        if found is None:
            raise NotFound(missing("offer", offer_id))
        if found.status in settled:
            return found, False
        if found.status not in OPEN:
            raise Conflict(texts.closed(offer_id, found.status, verb))
        updated = cur.execute(
            "UPDATE offers SET status = %s, updated_at = %s "  # noqa: S608
            f"WHERE id = %s RETURNING {_ROW}", (to, now, offer_id)).fetchone()
    assert updated is not None
    return updated, True


@dataclass(frozen=True, slots=True)
class KindStats:
    kind: str
    decided: int
    by_status: dict[str, int]
    suppressed_by_reason: dict[str, int]
    acceptance_rate: float


def stats(conn: Conn, since: datetime) -> list[KindStats]:
    """Offers decided since ``since``, per kind: statuses, why suppressed, how many accepted."""
    rows = conn.execute(
        "SELECT kind, status, suppressed_reason, count(*) FROM offers WHERE decided_at >= %s "
        "GROUP BY kind, status, suppressed_reason ORDER BY kind", (since,)).fetchall()
    kinds: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for kind, status, reason, n in rows:
        by_status, by_reason = kinds.setdefault(str(kind), ({}, {}))
        by_status[status] = by_status.get(status, 0) + int(n)
        if reason:
            by_reason[reason] = by_reason.get(reason, 0) + int(n)
    result = []
    for kind, (by_status, by_reason) in kinds.items():
        shown = sum(n for s, n in by_status.items() if s != "suppressed")
        accepted = by_status.get("accepted", 0)
        result.append(KindStats(kind, sum(by_status.values()), by_status, by_reason,
                                round(accepted / shown, 4) if shown else 0.0))
    return result
