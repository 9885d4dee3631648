"""Consent per purpose, and a customer's export and deletion.

**Purposes** a customer answers for: ``push_marketing`` (up-sell, cross-sell and points offers
by push), ``service_reminders`` (replenishment and maintenance reminders) and
``usage_analytics`` (their anonymised usage in fleet analytics). The first two are the offer
consents of :mod:`customers.consents` seen per purpose (so the offer rules keep reading one
place); the third is its own row. Every change is appended to ``consent_changes``. Whether a
store's assistants may see their profile is asked per store (``store_consents``).

**Export** gathers everything stored about a customer: their row and every row of every table
that refers to them, and one step further (an offer's lines, a product's forecast), found from
the foreign keys so that new tables are included without a change here. Keyed hashes and secrets
are left out: they mean nothing to the customer. One step further stops at rows that are
someone's own (a table that refers to customers: the previous owner's offers on a product, its
earlier changes of hands), and what a product recorded over time is theirs only for the
periods they owned it (:mod:`identity.ownership`): its forecasts and offer lines of other
periods are left out. ``usage`` holds each product they own or owned, with their periods of
it, its daily readings (the daily rollup; a day cut by a change of hands from the raw
readings of their part) and its events, in those periods only: a seller keeps their own.

**Deletion** removes the personal data and keeps the anonymous: rows that belong to the
customer go (cascading foreign keys), their products stay in the fleet unowned, so the usage
timelines and the aggregates built from them remain but point at no one, and the audit log
keeps its entries with the customer's id removed. The store's books stay too, belonging to no
one: orders, installation ratings (without their comment) and discounts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from catalog import store as catalog
from customers import store as customers
from customers.consents import get_consents, record_change, set_consents
from device_gateway.timeline import read_timeline
from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound, missing
from identity import ownership
from identity.merge import references
from orders import store as orders

__all__ = ["PURPOSES", "delete_customer", "export_customer", "get_purposes", "set_purposes",
           "set_store_consent", "store_consents"]

PURPOSES = ("push_marketing", "service_reminders", "usage_analytics")
_PURPOSE_KINDS = {"push_marketing": ("upsell", "crosssell", "points"),
                  "service_reminders": ("replenish", "maintenance")}
# Bulky or not about a person: timelines are exported as the products' forecasts instead.
_NOT_EXPORTED = {"readings", "events", "dead_letters", "readings_hourly", "readings_daily"}
# Rows reached through a product that say what happened when: exported for the customer's
# periods of that product only. (A new table keyed by product with usage over time goes here.)
_WHEN = {"instance_forecasts": "computed_at", "offer_lines": "cycle_start"}


def get_purposes(conn: Conn, customer_id: int) -> dict[str, bool]:
    kinds = get_consents(conn, customer_id).kinds
    answers = {p: all(kinds.get(k, False) for k in ks) for p, ks in _PURPOSE_KINDS.items()}
    row = conn.execute("SELECT granted FROM privacy_consents WHERE customer_id = %s "
                       "AND purpose = 'usage_analytics'", (customer_id,)).fetchone()
    answers["usage_analytics"] = bool(row and row[0])
    return answers


def set_purposes(conn: Conn, customer_id: int, answers: Mapping[str, bool]) -> dict[str, bool]:
    if unknown := sorted(set(answers) - set(PURPOSES)):
        raise InvalidInput(f"unknown purposes: {', '.join(unknown)}; known: {', '.join(PURPOSES)}")
    kinds = {k: granted for p, granted in answers.items() for k in _PURPOSE_KINDS.get(p, ())}
    if kinds:
        set_consents(conn, customer_id, kinds)
    if "usage_analytics" in answers:
        granted = answers["usage_analytics"]
        before = get_purposes(conn, customer_id)["usage_analytics"]
        conn.execute("INSERT INTO privacy_consents (customer_id, purpose, granted) "
                     "VALUES (%s, 'usage_analytics', %s) ON CONFLICT (customer_id, purpose) "
                     "DO UPDATE SET granted = excluded.granted, updated_at = now()",
                     (customer_id, granted))
        if before != granted:
            record_change(conn, customer_id, "usage_analytics", "privacy", granted)
    return get_purposes(conn, customer_id)


def set_store_consent(conn: Conn, customer_id: int, store_id: str, granted: bool) -> None:
    if not catalog.store_exists(conn, store_id):
        raise NotFound(missing("store", store_id))
    before = conn.execute("SELECT granted FROM store_consents WHERE customer_id = %s "
                          "AND store_id = %s", (customer_id, store_id)).fetchone()
    conn.execute("INSERT INTO store_consents (customer_id, store_id, granted) "
                 "VALUES (%s, %s, %s) ON CONFLICT (customer_id, store_id) "
                 "DO UPDATE SET granted = excluded.granted, updated_at = now()",
                 (customer_id, store_id, granted))
    if before is None or bool(before[0]) != granted:
        record_change(conn, customer_id, store_id, "store", granted)
    if not granted:  # the store's kiosks lose what its assistants opened for them
        conn.execute("UPDATE kiosk_grants g SET ended_at = now() FROM kiosks k "
                     "WHERE k.id = g.kiosk_id AND k.store_id = %s AND g.customer_id = %s "
                     "AND g.via = 'assistant' AND g.ended_at IS NULL", (store_id, customer_id))


def store_consents(conn: Conn, customer_id: int) -> dict[str, bool]:
    return {str(s): bool(g) for s, g in conn.execute(
        "SELECT store_id, granted FROM store_consents WHERE customer_id = %s ORDER BY store_id",
        (customer_id,)).fetchall()}


def _rows(conn: Conn, table: str, column: str, values: list[Any]) -> list[dict[str, Any]]:
    rows = conn.execute(sql.SQL(
        "SELECT to_jsonb(t) FROM {t} t WHERE {c} = ANY(%s) ORDER BY 1").format(
            t=sql.Identifier(table), c=sql.Identifier(column)), (values,)).fetchall()
    secret = ("_hash", "secret", "password")
    return [{k: v for k, v in r[0].items() if not k.endswith(secret)} for r in rows]


def _referencing(conn: Conn, table: str) -> list[tuple[str, str, str]]:
    """(table, column, referenced column) for single-column foreign keys to ``table``."""
    return [(str(t), str(c), str(r)) for t, c, r in conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname, ra.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = %s::regclass "
        "AND cardinality(c.conkey) = 1 ORDER BY 1, 2", (table,)).fetchall()]


def export_customer(conn: Conn, customer_id: int) -> dict[str, Any]:
    """Everything stored about the customer, by table (JSON-ready)."""
    found = conn.execute("SELECT to_jsonb(c) FROM customers c WHERE id = %s",
                         (customer_id,)).fetchone()
    if found is None:
        raise NotFound(missing("customer", customer_id))
    tables: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, set[str]] = {}  # a row reached by two keys is exported once

    def add(table: str, rows: list[dict[str, Any]]) -> None:
        known = seen.setdefault(table, set())
        for row in rows:
            key = json.dumps(row, sort_keys=True, default=str)
            if key not in known:
                known.add(key)
                tables.setdefault(table, []).append(row)

    refs = references(conn)
    someones = {ref.table for ref in refs} | {"customers"}
    owned = ownership.owned_instances(conn, customer_id)
    for ref in refs:
        rows = _rows(conn, ref.table, ref.column, [customer_id])
        if not rows:
            continue
        add(ref.table, rows)
        for table, column, target in _referencing(conn, ref.table):
            if table in _NOT_EXPORTED or table in someones:
                continue  # someone's own rows: exported above when they name the customer
            keys = [r[target] for r in rows if r.get(target) is not None]
            further = _rows(conn, table, column, keys)
            if ref.table == "product_instances" and table in _WHEN:
                further = [r for r in further if _within(owned.get(r[column], []),
                                                         r[_WHEN[table]])]
            add(table, further)
    audit = _rows(conn, "access_audit", "customer_id", [customer_id])
    if audit:
        tables["access_audit"] = audit
    usage = [_usage(conn, instance_id, periods) for instance_id, periods in owned.items()]
    return {"customer": found[0], "tables": tables, "usage": usage}


def _within(periods: list[ownership.Period], when: str | None) -> bool:
    if when is None:
        return False
    t = datetime.fromisoformat(when)
    return any((p.start is None or p.start <= t) and (p.end is None or t < p.end)
               for p in periods)


def _usage(conn: Conn, instance_id: int, periods: list[ownership.Period]) -> dict[str, Any]:
    """A product's daily readings and its events, in the customer's periods of it."""
    sku, first = conn.execute(
        "SELECT p.sku, (SELECT min(r.bucket) FROM readings_daily r JOIN devices d "
        "ON d.id = r.device_id WHERE d.instance_id = p.id) FROM product_instances p "
        "WHERE p.id = %s", (instance_id,)).fetchone() or (None, None)
    daily: list[dict[str, Any]] = []
    truncated = False
    if first is not None:
        found = read_timeline(conn, instance_id, metric=None, start=first,
                              end=clock.now() + timedelta(days=1), bucket="day",
                              within=periods)
        daily = [{"metric": series.metric, "unit": series.unit,
                  **{k: v for k, v in asdict(point).items() if k != "value"}}
                 for series in found.series for point in series.points]
        truncated = found.truncated
    events = conn.execute(
        "SELECT e.time, e.kind, e.data FROM events e JOIN devices d ON d.id = e.device_id "
        "WHERE d.instance_id = %s AND EXISTS (SELECT 1 FROM unnest(%s::timestamptz[], "
        "%s::timestamptz[]) p(lo, hi) WHERE (p.lo IS NULL OR e.time >= p.lo) "
        "AND (p.hi IS NULL OR e.time < p.hi)) ORDER BY e.time",
        (instance_id, [p.start for p in periods], [p.end for p in periods])).fetchall()
    return {"product_id": instance_id, "sku": sku,
            "periods": [{"from": p.start, "to": p.end} for p in periods],
            "daily": daily, "daily_truncated": truncated,
            "events": [{"time": t, "kind": k, "data": d} for t, k, d in events]}


def delete_customer(conn: Conn, customer_id: int, by: str) -> dict[str, int]:
    """Remove the customer's personal data; rows affected per table."""
    if conn.execute("SELECT 1 FROM customers WHERE id = %s FOR UPDATE",
                    (customer_id,)).fetchone() is None:
        raise NotFound(missing("customer", customer_id))
    customers.release_claims(conn, customer_id)
    # Sales records stay, anonymous (their keys are ON DELETE SET NULL): clear what in them
    # could still point at the person.
    done = orders.anonymise_customer(conn, customer_id)
    for ref in references(conn):
        if ref.on_delete != "a" and ref.on_delete != "r":
            continue  # cascading or set-null keys take care of themselves
        t, c = sql.Identifier(ref.table), sql.Identifier(ref.column)
        if ref.not_null:
            query = sql.SQL("DELETE FROM {t} WHERE {c} = %s").format(t=t, c=c)
        else:
            query = sql.SQL("UPDATE {t} SET {c} = NULL WHERE {c} = %s").format(t=t, c=c)
        done[f"{ref.table}.{ref.column}"] = conn.execute(query, (customer_id,)).rowcount
    done["access_audit"] = conn.execute(
        "UPDATE access_audit SET customer_id = NULL WHERE customer_id = %s",
        (customer_id,)).rowcount
    done["customer_merges"] = conn.execute(
        "DELETE FROM customer_merges WHERE from_customer = %s", (customer_id,)).rowcount
    customers.delete_customer(conn, customer_id)
    conn.execute("INSERT INTO access_audit (actor, action) VALUES (%s, %s)",
                 (by, f"deleted a customer's personal data: {json.dumps(done, sort_keys=True)}"))
    return done
