"""Request-scoped dependencies: the transaction, settings, the product the caller may read.

One transaction per request; settings from app state; :data:`ReadableProduct` is the product
in the path, checked in one place for every route that reads a product.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from api.auth import CurrentPrincipal, ensure_may_act_for
from customers import store as customers
from homeloop.db import Conn
from homeloop.errors import NotFound, missing, thing
from homeloop.settings import Settings


def _conn(request: Request) -> Iterator[Conn]:
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn, conn.transaction():
        yield conn


# Committed when the route returns, before its answer leaves: a client that reads right after
# a change (an order placed, then its delivery windows) finds it. (A "request" scope would
# commit only after the answer has been sent.)
ConnDep = Annotated[Conn, Depends(_conn, scope="function")]


def _replica_conn(request: Request, conn: ConnDep) -> Iterator[Conn]:
    """A read-only transaction on the streaming replica, for a read that tolerates its lag
    (a second or so): what devices recorded, and what the hourly tasks computed from it.
    Who may read it is still decided on the primary (the route's other dependencies use
    :data:`ConnDep`), so a product that changed hands is never shown to its seller from a
    replica that has not seen the change yet. Without a replica: the request's own
    transaction (the same one :data:`ConnDep` gives, not a second connection)."""
    pool: ConnectionPool | None = request.app.state.replica_pool
    if pool is None:
        yield conn
        return
    with pool.connection() as replica, replica.transaction():
        replica.execute("SET TRANSACTION READ ONLY")
        yield replica


def _pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PoolDep = Annotated[ConnectionPool, Depends(_pool)]
ReplicaConnDep = Annotated[Conn, Depends(_replica_conn, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _readable_product(product_id: int, principal: CurrentPrincipal,
                      conn: ConnDep) -> customers.ProductInstance:
    """The product in the path, if the caller may read it (:func:`ensure_may_act_for` on its
    owner). A product nobody owns is fleet data: fleet operators and admins may read it.

    Another customer gets the same 404 as for a product that does not exist.
    """
    try:
        product = customers.get_instance(conn, product_id)
    except NotFound:
        raise NotFound(missing("product", product_id)) from None
    if product.owner_id is None and principal.role in ("fleet_operator", "admin"):
        return product
    if product.owner_id is None and principal.kind == "customer":
        raise NotFound(missing("product", product_id))
    ensure_may_act_for(conn, principal, product.owner_id, thing("product", product_id))
    return product


ReadableProduct = Annotated[customers.ProductInstance, Depends(_readable_product)]
