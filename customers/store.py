"""SQL for customers and ownership of product instances. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from psycopg.rows import class_row

from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import DETAILS, Conflict, NotFound, missing

Via = Literal["app_claim", "nfc_tap", "staff_transfer"]
DEFAULT_LOCALE = "zh-CN"  # the column's default: most customers read Chinese


@dataclass(frozen=True, slots=True)
class ProductInstance:
    id: int
    sku: str
    tag_uid: str
    owner_id: int | None
    claimed_at: datetime | None


def create_customer(conn: Conn, display_name: str, *,
                    locale: str = "zh-CN", timezone: str = "Asia/Shanghai",
                    home_store_id: str | None = None) -> int:
    row = conn.execute(
        "INSERT INTO customers (display_name, locale, timezone, home_store_id) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (display_name, locale, timezone, home_store_id)).fetchone()
    assert row is not None
    return int(row[0])


def new_instances(conn: Conn, sku: str, tag_uids: Sequence[str], batch: str | None) -> list[int]:
    """New, unowned product instances, one per tag UID, in one statement; their ids in the
    order of ``tag_uids`` (a factory provisions tags by the ten thousand)."""
    rows = conn.execute("INSERT INTO product_instances (sku, tag_uid, batch) "
                        "SELECT %s, u, %s FROM unnest(%s::text[]) AS u RETURNING tag_uid, id",
                        (sku, batch, list(tag_uids))).fetchall()
    ids = {str(uid): int(id_) for uid, id_ in rows}
    return [ids[uid] for uid in tag_uids]


def new_instance(conn: Conn, sku: str, tag_uid: str, batch: str | None) -> int:
    """A new, unowned product instance (a tag provisioned for it); its id."""
    row = conn.execute("INSERT INTO product_instances (sku, tag_uid, batch) "
                       "VALUES (%s, %s, %s) RETURNING id", (sku, tag_uid, batch)).fetchone()
    assert row is not None
    return int(row[0])


def is_live(conn: Conn, customer_id: int) -> bool:
    """Whether the customer exists and has not been merged into another record (a merged
    record is kept, empty, only so that the merge can be undone: see identity/merge.py)."""
    return conn.execute("SELECT 1 FROM customers WHERE id = %s AND merged_into IS NULL",
                        (customer_id,)).fetchone() is not None


def get_instance(conn: Conn, instance_id: int) -> ProductInstance:
    with conn.cursor(row_factory=class_row(ProductInstance)) as cur:
        found = cur.execute(
            "SELECT id, sku, tag_uid, owner_id, claimed_at FROM product_instances WHERE id = %s",
            (instance_id,)).fetchone()
    if found is None:
        raise NotFound(missing("product", instance_id))
    return found


@dataclass(frozen=True, slots=True)
class Claim:
    product: ProductInstance
    new: bool  # False when the customer already owned it: claiming again changes nothing


def claim(conn: Conn, customer_id: int, *, tag_uid: str | None = None,
          device_id: str | None = None, via: Via = "app_claim") -> Claim:
    """Register the tagged product to a customer. First claim wins; claiming again is a no-op."""
    if tag_uid is not None:
        where, key = "tag_uid = %s", tag_uid
    elif device_id is not None:
        where, key = "id = (SELECT instance_id FROM devices WHERE id = %s)", device_id
    else:
        raise ValueError("claim needs a tag uid or a device id")
    with conn.cursor(row_factory=class_row(ProductInstance)) as cur:
        found = cur.execute(
            "SELECT id, sku, tag_uid, owner_id, claimed_at FROM product_instances "  # noqa: S608
            f"WHERE {where} FOR UPDATE", (key,)).fetchone()
        if found is None:
            raise NotFound(f"no product carries tag {tag_uid or device_id!r}")
        if found.owner_id == customer_id:
            return Claim(found, new=False)
        if found.owner_id is not None:
            raise Conflict(DETAILS("product.registered_elsewhere"))
        updated = cur.execute(
            "UPDATE product_instances SET owner_id = %s, claimed_at = %s WHERE id = %s "
            "RETURNING id, sku, tag_uid, owner_id, claimed_at",
            (customer_id, clock.now(), found.id)).fetchone()
    conn.execute("INSERT INTO ownership_changes (instance_id, from_owner, to_owner, via) "
                 "VALUES (%s, NULL, %s, %s)", (found.id, customer_id, via))
    assert updated is not None
    return Claim(updated, new=True)


def transfer(conn: Conn, instance_id: int,
             to_customer: int | None) -> ProductInstance:
    """Staff move a product to another owner (or release it with ``None``)."""
    current = get_instance(conn, instance_id)
    if to_customer is not None and not is_live(conn, to_customer):
        raise NotFound(missing("customer", to_customer))
    with conn.cursor(row_factory=class_row(ProductInstance)) as cur:
        updated = cur.execute(
            "UPDATE product_instances SET owner_id = %s, "
            "claimed_at = CASE WHEN %s::bigint IS NULL THEN NULL ELSE %s END WHERE id = %s "
            "RETURNING id, sku, tag_uid, owner_id, claimed_at",
            (to_customer, to_customer, clock.now(), instance_id)).fetchone()
    conn.execute("INSERT INTO ownership_changes (instance_id, from_owner, to_owner, via) "
                 "VALUES (%s, %s, %s, 'staff_transfer')",
                 (instance_id, current.owner_id, to_customer))
    assert updated is not None
    return updated


def list_owned(conn: Conn, customer_id: int) -> list[ProductInstance]:
    with conn.cursor(row_factory=class_row(ProductInstance)) as cur:
        return cur.execute(
            "SELECT id, sku, tag_uid, owner_id, claimed_at FROM product_instances "
            "WHERE owner_id = %s ORDER BY id", (customer_id,)).fetchall()


def home_store(conn: Conn, customer_id: int) -> str | None:
    """The customer's home store, if they have one."""
    row = conn.execute("SELECT home_store_id FROM customers WHERE id = %s",
                       (customer_id,)).fetchone()
    return str(row[0]) if row and row[0] is not None else None


def locale_of(conn: Conn, customer_id: int | None) -> str:
    """The customer's locale ('zh-CN', 'en'); the default for no or an unknown customer."""
    if customer_id is None:
        return DEFAULT_LOCALE
    row = conn.execute("SELECT locale FROM customers WHERE id = %s", (customer_id,)).fetchone()
    return str(row[0]) if row else DEFAULT_LOCALE


def spend_points(conn: Conn, customer_id: int, points: int) -> None:
    """Take ``points`` from the customer, or refuse: their balance no longer covers it."""
    if not conn.execute("UPDATE customers SET points = points - %s WHERE id = %s "
                        "AND points >= %s", (points, customer_id, points)).rowcount:
        raise Conflict(DETAILS("points.not_enough", points=f"{points:,}"))


def add_points(conn: Conn, customer_id: int, points: int) -> None:
    """Give the customer ``points`` (awarded, or given back)."""
    if points:
        conn.execute("UPDATE customers SET points = points + %s WHERE id = %s",
                     (points, customer_id))


def fold_into(conn: Conn, into_id: int, from_id: int, points: int, from_home: str | None,
              at: datetime) -> None:
    """Merging two records of one person: ``into_id`` gets ``from_id``'s ``points`` (and its
    home store, if it had none); ``from_id`` is kept, empty, marked merged into ``into_id``
    (so that the merge can be undone: identity/merge.py). Rows referring to it are the
    caller's."""
    conn.execute("UPDATE customers SET points = points + %s, "
                 "home_store_id = coalesce(home_store_id, %s) WHERE id = %s",
                 (points, from_home, into_id))
    conn.execute("UPDATE customers SET points = 0, merged_into = %s, merged_at = %s "
                 "WHERE id = %s", (into_id, at, from_id))


def unfold(conn: Conn, into_id: int, from_id: int, points: int,
           taken_home: str | None) -> None:
    """Undoing :func:`fold_into`: the points and the home store go back to ``from_id``,
    which is a customer of its own again."""
    conn.execute("UPDATE customers SET points = points - %s, home_store_id = CASE "
                 "WHEN %s::text IS NOT NULL AND home_store_id = %s THEN NULL "
                 "ELSE home_store_id END WHERE id = %s", (points, taken_home, taken_home, into_id))
    conn.execute("UPDATE customers SET points = points + %s, merged_into = NULL, "
                 "merged_at = NULL WHERE id = %s", (points, from_id))


def release_claims(conn: Conn, customer_id: int) -> None:
    """The customer's products are no longer claimed (before their record is deleted; the
    products stay in the fleet, unowned)."""
    conn.execute("UPDATE product_instances SET claimed_at = NULL WHERE owner_id = %s",
                 (customer_id,))


def delete_customer(conn: Conn, customer_id: int) -> None:
    conn.execute("DELETE FROM customers WHERE id = %s", (customer_id,))
