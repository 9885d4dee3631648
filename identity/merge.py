"""Merging two customer records into one, without losing anything, and undoing it.

A merge happens only when both customers proved they want it (:mod:`identity.merge_requests`).
What moves is found from the database itself: every foreign key to ``customers`` (products,
offers, push tokens, designs, grants, identities…), so a table added later moves too. Where
both records hold a row with the same key (a consent to the same kind), the surviving record's
own answer is kept and the merged record's row is deleted. Points add up; the survivor takes
the merged record's home store if it had none.

Everything is recorded in ``customer_merges`` so that an admin can undo the merge within
``merge_undo_days``: each moved row by table, column and primary key; each row deleted as a
duplicate, whole (JSON); the points moved; the home store taken over. The merged record's row
is kept, marked ``merged_into``: its identities have moved, so signing in with them opens the
survivor (:func:`survivor` resolves any id that is left), and nobody can act for it while it
is merged (:func:`customers.store.is_live`). Undoing moves exactly the recorded rows back,
inserts the deleted duplicates again, and gives the points and home store back. Rows the
survivor made after the merge stay with the survivor; rows it deleted since are reported as
missing.

The access audit gets an entry on both records for the merge and for the undo.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from customers import store as customers
from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import Conflict, Gone, InvalidInput, NotFound
from homeloop.errors import missing as absent
from homeloop.settings import Settings
from identity import audit

__all__ = ["CustomerReference", "Merge", "MergeRecord", "Undone", "merge_customers",
           "merges_of", "references", "survivor", "undo_merge"]

# Foreign keys to customers that are the merge's own bookkeeping, not the customer's data.
_BOOKKEEPING = frozenset({"customers", "customer_merges", "merge_requests"})
_AUDIT = "access_audit.customer_id"  # no foreign key: the log outlives the customer


@dataclass(frozen=True, slots=True)
class CustomerReference:
    table: str
    column: str
    on_delete: str  # pg_constraint.confdeltype: c cascade, a no action, r restrict, n set null
    not_null: bool


@dataclass(frozen=True, slots=True)
class Merge:
    id: int
    from_customer: int
    into_customer: int
    moved: dict[str, int]


@dataclass(frozen=True, slots=True)
class MergeRecord:
    id: int
    from_customer: int
    into_customer: int
    by: str
    at: datetime
    moved: dict[str, int]
    points: int
    undo_until: datetime
    undone_at: datetime | None
    undone_by: str | None


@dataclass(frozen=True, slots=True)
class Undone:
    id: int
    from_customer: int
    into_customer: int
    restored: dict[str, int]
    missing: dict[str, int] = field(default_factory=dict)  # rows the survivor deleted since


def references(conn: Conn) -> list[CustomerReference]:
    """Every single-column foreign key to ``customers(id)``."""
    rows = conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname, c.confdeltype, a.attnotnull "
        "FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND c.confrelid = 'customers'::regclass "
        "AND cardinality(c.conkey) = 1 ORDER BY 1, 2").fetchall()
    return [CustomerReference(str(t), str(c), str(d), bool(n)) for t, c, d, n in rows]


def survivor(conn: Conn, customer_id: int) -> int:
    """The record ``customer_id`` is now part of: itself, or the one it was merged into (and
    so on, if that one was merged too)."""
    row = conn.execute(
        "WITH RECURSIVE chain(id, next, depth) AS ("
        " SELECT id, merged_into, 0 FROM customers WHERE id = %s"
        " UNION ALL SELECT c.id, c.merged_into, chain.depth + 1 FROM chain"
        " JOIN customers c ON c.id = chain.next WHERE chain.depth < 32) "
        "SELECT id FROM chain ORDER BY depth DESC LIMIT 1", (customer_id,)).fetchone()
    return int(row[0]) if row else customer_id


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


def _primary_key(conn: Conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.ord", (table,)).fetchall()
    if not rows:
        raise InvalidInput(f"cannot merge: {table} refers to customers but has no primary key, "
                           "so a merge could not be undone")
    return [str(r[0]) for r in rows]


def _key_json(key: list[str]) -> sql.Composable:
    """``jsonb_build_object('a', a, 'b', b)`` for the columns ``key``."""
    return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(c), sql.Identifier(c)) for c in key))


def _split(key: str) -> tuple[str, str]:
    table, _, column = key.rpartition(".")
    return table, column


def _lock(conn: Conn, *ids: int) -> dict[int, tuple[int, str | None, int | None]]:
    """Lock the customers ``ids``: (points, home store, merged into) of each that exists."""
    rows = conn.execute("SELECT id, points, home_store_id, merged_into FROM customers "
                        "WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (list(ids),)).fetchall()
    return {int(i): (int(p), h, None if m is None else int(m)) for i, p, h, m in rows}


def merge_customers(conn: Conn, from_id: int, into_id: int, by: audit.Actor, *,
                    request_id: int | None = None, about: str = "") -> Merge:
    """Move everything of ``from_id`` to ``into_id`` and mark ``from_id`` merged; record it all.

    Callers own the transaction and have checked both customers' proof. ``about`` says what
    the merge was for in the audit log ("member card •••• 0300")."""
    if from_id == into_id:
        raise InvalidInput("a customer cannot be merged into themselves")
    locked = _lock(conn, from_id, into_id)
    if from_id not in locked or into_id not in locked:
        raise NotFound("both customers must exist to merge them")
    if locked[from_id][2] is not None or locked[into_id][2] is not None:
        raise Conflict("one of the two records has already been merged into another")
    moved: dict[str, int] = {}
    moved_rows: dict[str, list[Any]] = {}
    deleted_rows: dict[str, list[Any]] = {}
    for ref in references(conn):
        if ref.table in _BOOKKEEPING:
            continue
        table, column = sql.Identifier(ref.table), sql.Identifier(ref.column)
        key = _primary_key(conn, ref.table)
        for others in _unique_keys(conn, ref.table, ref.column):
            same = sql.SQL(" AND ").join(
                sql.SQL("a.{c} IS NOT DISTINCT FROM b.{c}").format(c=sql.Identifier(c))
                for c in others) if others else sql.SQL("true")
            gone = conn.execute(sql.SQL(
                "DELETE FROM {t} b WHERE b.{col} = %s AND EXISTS "
                "(SELECT 1 FROM {t} a WHERE a.{col} = %s AND {same}) RETURNING to_jsonb(b)"
            ).format(t=table, col=column, same=same), (from_id, into_id)).fetchall()
            deleted_rows.setdefault(ref.table, []).extend(r[0] for r in gone)
        keys = conn.execute(sql.SQL("UPDATE {t} SET {col} = %s WHERE {col} = %s RETURNING {k}")
                            .format(t=table, col=column, k=_key_json(key)),
                            (into_id, from_id)).fetchall()
        if keys:
            name = f"{ref.table}.{ref.column}"
            moved_rows[name] = [r[0] for r in keys]
            moved[name] = len(keys)
    audited = conn.execute("UPDATE access_audit SET customer_id = %s WHERE customer_id = %s "
                           "RETURNING jsonb_build_object('id', id)", (into_id, from_id)).fetchall()
    if audited:
        moved_rows[_AUDIT] = [r[0] for r in audited]
        moved[_AUDIT] = len(audited)
    points, from_home = locked[from_id][0], locked[from_id][1]
    taken_home = from_home if locked[into_id][1] is None else None
    customers.fold_into(conn, into_id, from_id, points, from_home, clock.now())
    if points:
        moved["customers.points"] = points
    row = conn.execute(
        "INSERT INTO customer_merges (from_customer, into_customer, by, moved, request_id, "
        "moved_rows, deleted_rows, points, home_store_id, at) "
        "VALUES (%s, %s, %s, %s::jsonb, %s, %s::jsonb, %s::jsonb, %s, %s, %s) RETURNING id",
        (from_id, into_id, by.actor, json.dumps(moved, sort_keys=True), request_id,
         json.dumps(moved_rows), json.dumps({t: r for t, r in deleted_rows.items() if r}),
         points, taken_home, clock.now())).fetchone()
    assert row is not None
    merge_id = int(row[0])
    # Whatever else was asked about the merged record can no longer be done.
    conn.execute("UPDATE merge_requests SET status = 'cancelled', decided_at = now(), "
                 "decided_by = %s WHERE status = 'pending' AND %s IN (into_customer, "
                 "from_customer) AND id IS DISTINCT FROM %s",
                 (f"merge {merge_id}", from_id, request_id))
    what = f" ({about})" if about else ""
    audit.record_as(conn, by, into_id, f"merge {merge_id}: another record of this customer "
                    f"was merged into this one{what}", anonymous=True)
    audit.record_as(conn, by, from_id, f"merge {merge_id}: this record was merged into "
                    f"another{what}", anonymous=True)
    return Merge(merge_id, from_id, into_id, moved)


def merges_of(conn: Conn, settings: Settings, customer_id: int) -> list[MergeRecord]:
    """The merges into or out of ``customer_id``, newest first (for admins)."""
    rows = conn.execute(
        "SELECT id, from_customer, into_customer, by, at, moved, points, "
        "at + interval '1 day' * %s, undone_at, undone_by FROM customer_merges "
        "WHERE %s IN (from_customer, into_customer) ORDER BY at DESC, id DESC",
        (settings.merge_undo_days, customer_id)).fetchall()
    return [MergeRecord(int(i), int(f), int(t), str(b), a, {str(k): int(v) for k, v in m.items()},
                        int(p), u, ua, ub) for i, f, t, b, a, m, p, u, ua, ub in rows]


def undo_merge(conn: Conn, settings: Settings, merge_id: int, by: audit.Actor) -> Undone:
    """Give the merged record back everything the merge moved, within ``merge_undo_days``."""
    row = conn.execute(
        "SELECT from_customer, into_customer, moved_rows, deleted_rows, points, home_store_id, "
        "undone_at IS NOT NULL, at > %s "
        "FROM customer_merges WHERE id = %s FOR UPDATE",
        (clock.now() - timedelta(days=settings.merge_undo_days), merge_id)).fetchone()
    if row is None:
        raise NotFound(absent("merge", merge_id))
    from_id, into_id, moved_rows, deleted_rows, points, taken_home, undone, in_window = row
    from_id, into_id, points = int(from_id), int(into_id), int(points)
    if undone:
        raise Conflict(f"merge {merge_id} has already been undone")
    if not in_window:
        raise Gone(f"merge {merge_id} is older than {settings.merge_undo_days:g} days: it can "
                   "no longer be undone")
    locked = _lock(conn, from_id, into_id)
    if from_id not in locked or into_id not in locked:
        raise Conflict("one of the two records has since been deleted")
    if locked[from_id][2] != into_id:
        raise Conflict(f"customer {from_id} is no longer merged into {into_id}")
    if locked[into_id][2] is not None:
        raise Conflict(f"customer {into_id} has since been merged into customer "
                       f"{locked[into_id][2]}: undo that merge first")
    if locked[into_id][0] < points:
        raise Conflict(f"customer {into_id} has spent points since the merge: "
                       f"{locked[into_id][0]} left of the {points} to give back")
    restored: dict[str, int] = {}
    missing: dict[str, int] = {}
    for name, keys in moved_rows.items():
        table, column = _split(name)
        key = ["id"] if name == _AUDIT else _primary_key(conn, table)
        t = sql.Identifier(table)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in key)
        count = conn.execute(sql.SQL(
            "UPDATE {t} SET {col} = %s WHERE {col} = %s AND ({cols}) IN "
            "(SELECT {cols} FROM jsonb_populate_recordset(NULL::{t}, %s::jsonb))").format(
                t=t, col=sql.Identifier(column), cols=cols),
            (from_id, into_id, json.dumps(keys))).rowcount
        restored[name] = count
        if count < len(keys):
            missing[name] = len(keys) - count
    for table, rows in deleted_rows.items():
        t = sql.Identifier(table)
        count = conn.execute(sql.SQL(
            "INSERT INTO {t} SELECT * FROM jsonb_populate_recordset(NULL::{t}, %s::jsonb) "
            "ON CONFLICT DO NOTHING").format(t=t), (json.dumps(rows),)).rowcount
        restored[f"{table} (duplicates)"] = count
        if count < len(rows):
            missing[f"{table} (duplicates)"] = len(rows) - count
    customers.unfold(conn, into_id, from_id, points, taken_home)
    if points:
        restored["customers.points"] = points
    conn.execute("UPDATE customer_merges SET undone_at = now(), undone_by = %s, "
                 "undone = %s::jsonb WHERE id = %s",
                 (by.actor, json.dumps({"restored": restored, "missing": missing},
                                       sort_keys=True), merge_id))
    for customer in (into_id, from_id):
        audit.record_as(conn, by, customer, f"merge {merge_id} undone: the two records are "
                        "separate again", anonymous=True)
    return Undone(merge_id, from_id, into_id, restored, missing)
