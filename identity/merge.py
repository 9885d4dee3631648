"""Merging two customer records into one, without losing anything that hangs off either.

When an identity is linked to a customer and it already belongs to another record (the app
account and the member card were registered separately), the other record is merged into the
signed-in one. What moves is found from the database itself: every foreign key to
``customers`` (products, offers, push tokens, designs, grants, identities…), so a table added
later moves too. Where both records hold a row with the same key (a consent to the same kind),
the surviving record's own answer is kept. Points add up. The merged record is deleted and the
merge is logged with what moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from psycopg import sql

from customers import store as customers
from homeloop.db import Conn
from homeloop.errors import InvalidInput, NotFound

__all__ = ["CustomerReference", "merge_customers", "references"]


@dataclass(frozen=True, slots=True)
class CustomerReference:
    table: str
    column: str
    on_delete: str  # pg_constraint.confdeltype: c cascade, a no action, r restrict, n set null
    not_null: bool


def references(conn: Conn) -> list[CustomerReference]:
    """Every single-column foreign key to ``customers(id)``."""
    rows = conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname, c.confdeltype, a.attnotnull "
        "FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = 'customers'::regclass "
        "AND cardinality(c.conkey) = 1 ORDER BY 1, 2").fetchall()
    return [CustomerReference(str(t), str(c), str(d), bool(n)) for t, c, d, n in rows]


def _unique_keys(conn: Conn, table: str, column: str) -> Iterator[list[str]]:
    """The other columns of each unique index on ``table`` that includes ``column``."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, i.indpred IS NOT NULL, "
        "array_agg(a.attname::text ORDER BY k.ord) "
        "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisunique GROUP BY 1, 2",
        (table,)).fetchall()
    for name, partial, columns in rows:
        if column not in columns:
            continue
        if partial:
            raise InvalidInput(f"cannot merge: {name} is a partial unique index on {table}")
        yield [c for c in columns if c != column]


def merge_customers(conn: Conn, from_id: int, into_id: int, by: str) -> dict[str, int]:
    """Move everything of ``from_id`` to ``into_id``, delete ``from_id``; rows moved per table."""
    if from_id == into_id:
        raise InvalidInput("a customer cannot be merged into themselves")
    locked = conn.execute("SELECT id, points FROM customers WHERE id IN (%s, %s) "
                          "ORDER BY id FOR UPDATE", (from_id, into_id)).fetchall()
    points = {int(i): int(p) for i, p in locked}
    if from_id not in points or into_id not in points:
        raise NotFound("both customers must exist to merge them")
    moved: dict[str, int] = {}
    for ref in references(conn):
        table, column = sql.Identifier(ref.table), sql.Identifier(ref.column)
        for others in _unique_keys(conn, ref.table, ref.column):
            same = sql.SQL(" AND ").join(
                sql.SQL("a.{c} IS NOT DISTINCT FROM b.{c}").format(c=sql.Identifier(c))
                for c in others) if others else sql.SQL("true")
            conn.execute(sql.SQL(
                "DELETE FROM {t} b WHERE b.{col} = %s AND EXISTS "
                "(SELECT 1 FROM {t} a WHERE a.{col} = %s AND {same})").format(
                    t=table, col=column, same=same), (from_id, into_id))
        count = conn.execute(sql.SQL("UPDATE {t} SET {col} = %s WHERE {col} = %s").format(
            t=table, col=column), (into_id, from_id)).rowcount
        if count:
            key = f"{ref.table}.{ref.column}"
            moved[key] = moved.get(key, 0) + count
    audited = conn.execute("UPDATE access_audit SET customer_id = %s WHERE customer_id = %s",
                           (into_id, from_id)).rowcount
    if audited:
        moved["access_audit.customer_id"] = audited
    customers.fold_into(conn, into_id, from_id)
    if points[from_id]:
        moved["customers.points"] = points[from_id]
    conn.execute("INSERT INTO customer_merges (from_customer, into_customer, by, moved) "
                 "VALUES (%s, %s, %s, %s::jsonb)",
                 (from_id, into_id, by, json.dumps(moved, sort_keys=True)))
    return moved
