"""What can be had, where, and how soon: the one answer every package asks for.

:func:`availability` answers for some lines (sku, quantity) and a store (the kiosk's or
assistant's, or a customer's home store): here, nearby (within the ``nearby_store_km``
setting), online, each with its days, and the nearest store that has all of it. Offers,
recommendations and search, order fulfilment and bills of materials all take it from here;
the rules (distance, radius, days, ranking) are :mod:`catalog.reach` (pure), the SQL is
:mod:`catalog.store`.

A statement that needs availability for a great many rows at once (the offer evaluation,
over every forecast) cannot call a function per row: :func:`sourcing` gives it the same
answer as a relation to join (:class:`Sourcing`), computed by the same rules here.

Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog import store
from catalog.reach import (
    AT_HOME,
    HOME_OR_ONLINE,
    IN_STORE,
    Availability,
    Kind,
    LineAvailability,
    Policy,
    Source,
    Store,
    answer,
    rank_key,
    reach,
    source_at,
)
from homeloop.db import Conn

__all__ = ["AT_HOME", "HOME_OR_ONLINE", "IN_STORE", "Availability", "LineAvailability",
           "Policy", "Source", "Sourcing", "availability", "days_between", "sourcing",
           "stocked_at"]


def availability(conn: Conn, lines: Sequence[tuple[str, int]], *, store_id: str | None,
                 nearby_km: float, at_store: bool = True) -> Availability:
    """Where ``lines`` (sku, quantity) can be had and when, for a customer of ``store_id``.

    ``at_store``: the customer is in that store (an assistant's tablet, a kiosk, a sale) and
    takes what is here today; False for a customer elsewhere (an offer on their phone), who
    has it set aside for the next day. ``store_id`` None (no store known) leaves online only.
    """
    every = store.stores(conn)
    reached = reach(every, store_id, nearby_km, at_store=at_store)
    stock = store.on_hand(conn, {sku for sku, _ in lines}, [s.store_id for s in reached])
    return answer(lines, reached, stock, store_id=store_id, at_store=at_store)


def days_between(conn: Conn, from_store: str, to_store: str, *, at_store: bool = True) -> int:
    """Days until a customer of ``from_store`` can have what ``to_store`` has, by the same
    rule as :func:`availability`, whatever the distance (a delivery's first day)."""
    here = store.find_store(conn, from_store)
    there = store.find_store(conn, to_store)
    if there is None:
        raise ValueError(f"no store {to_store!r}")
    return source_at(here if here is not None and not here.online else None, there,
                     at_store=at_store).days


def stocked_at(conn: Conn, which: str, store_id: str | None, nearby_km: float) -> list[str]:
    """The stores a search's stock facet means: ``here`` (the store), ``nearby`` (the store
    and the physical stores within the radius), ``online``, ``any`` (every store)."""
    every = store.stores(conn)
    if which == "any":
        return [s.id for s in every]
    kinds: dict[str, tuple[Kind, ...]] = {"here": ("here",), "nearby": ("here", "nearby"),
                                          "online": ("online",)}
    return [s.store_id for s in reach(every, store_id, nearby_km) if s.kind in kinds[which]]


@dataclass(frozen=True, slots=True)
class Sourcing:
    """:func:`availability` as a relation, for one set-based statement.

    Put :attr:`cte` in the statement's ``WITH``, merge :attr:`params` into its parameters,
    and join :meth:`best` (LATERAL) where a row needs its source. Distances, the radius, the
    days and the ranking are applied here, in Python, by :mod:`catalog.reach`; the statement
    only joins the stock to the result.
    """

    params: dict[str, Any]
    stores: dict[str, Store]
    slowest_days: int  # the most days any source in reach takes
    physical: list[str] = field(default_factory=list)  # ids of the physical stores
    cte: str = store.REACH

    def best(self, sku: str, quantity: str, origin: str) -> str:
        """A subquery (store_id, kind, days): the best source in reach of ``origin`` (an SQL
        expression: a store id, or NULL for none) that has ``quantity`` of ``sku``."""
        return store.BEST_SOURCE.format(sku=sku, quantity=quantity, origin=origin)

    def online_with_all(self, skus: str) -> str:
        """An expression: the soonest days of an online store with one of each of ``skus``
        (a text[] expression), NULL if none has them all."""
        return store.ONLINE_WITH_ALL.format(skus=skus)


def sourcing(conn: Conn, *, nearby_km: float, policy: Policy, at_store: bool) -> Sourcing:
    """Every store's reach under ``policy`` (sources of other kinds left out), for
    :class:`Sourcing`; origin '' is a customer without a store (online only)."""
    every = store.stores(conn)
    rows: list[tuple[str, Source]] = []
    for origin in [None, *(s.id for s in every)]:
        reached = [s for s in reach(every, origin, nearby_km, at_store=at_store)
                   if s.kind in policy]
        ranked = sorted(reached, key=lambda s: rank_key(s, policy))
        rows += [(origin or "", s) for s in ranked]
    rank = {id(s): n for n, (_, s) in enumerate(rows)}
    return Sourcing(
        params={"catalog_origin": [o for o, _ in rows],
                "catalog_store": [s.store_id for _, s in rows],
                "catalog_kind": [s.kind for _, s in rows],
                "catalog_days": [s.days for _, s in rows],
                "catalog_rank": [rank[id(s)] for _, s in rows]},
        stores={s.id: s for s in every},
        slowest_days=max((s.days for _, s in rows), default=0),
        physical=[s.id for s in every if not s.online])
