"""What can be had, where, and how soon: distances, sources, days and their ranking. Pure.

As seen from one store (the kiosk's or assistant's, or a customer's home store), a thing can
be had from three kinds of source:

- **here** — the store itself (a physical one);
- **nearby** — another physical store no further than the radius (the ``nearby_store_km``
  setting), by great-circle distance between the stores' coordinates (:func:`distance_km`,
  the haversine formula: the only distance the project computes);
- **online** — an online store, which delivers.

How soon (:func:`days`), counted in whole days from today:

- here: the store's own ``lead_days`` (0 for a shop floor: today) for a customer standing in
  it; a customer who is not there (an offer on their phone) has it set aside, ready the next
  day (+ ``SET_ASIDE_DAYS``);
- nearby: its ``lead_days`` + ``SET_ASIDE_DAYS`` + one day per started ``KM_PER_DAY`` km: the
  transfer to the store asked about, or the trip to collect it there — the same number;
- online: its ``lead_days``, delivered.

Which source comes first is a :data:`Policy`, an order of the kinds: a customer in a store
takes it here, else has it brought from nearby, else delivered (:data:`IN_STORE`); a
customer at home collects it at their store, else has it delivered, else goes to a nearby
store (:data:`AT_HOME`, the design brief's order for offers). Within a kind: the nearest,
then the soonest, then by store id. The store that has every line (:attr:`Availability.all_at`)
is the nearest one: here, else the nearest nearby store, else online.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["AT_HOME", "HOME_OR_ONLINE", "IN_STORE", "KM_PER_DAY", "SET_ASIDE_DAYS",
           "Availability", "Kind", "LineAvailability", "Policy", "Source", "Store", "answer",
           "days", "distance_km", "rank_key", "reach", "source_at"]

EARTH_RADIUS_KM = 6371.0
KM_PER_DAY = 25.0  # stock moved between stores (or a customer's trip): a day per started 25 km
SET_ASIDE_DAYS = 1  # stock set aside or moved for a customer who is not at its counter

Kind = Literal["here", "nearby", "online"]
Policy = tuple[Kind, ...]

IN_STORE: Policy = ("here", "nearby", "online")  # assistants, kiosks, orders sold in a store
AT_HOME: Policy = ("here", "online", "nearby")  # replenishment offers
HOME_OR_ONLINE: Policy = ("here", "online")  # marketing offers: never a trip to another store


@dataclass(frozen=True, slots=True)
class Store:
    id: str
    name: str
    name_zh: str | None
    online: bool
    lat: float | None
    lon: float | None
    lead_days: int
    timezone: str


@dataclass(frozen=True, slots=True)
class Source:
    """A store as a source, seen from the store asked about."""

    kind: Kind
    store_id: str
    store_name: str
    store_name_zh: str | None
    km: float | None  # from the store asked about (0 here; None online)
    days: int  # until the customer can have it (0: today)


def distance_km(a: Store, b: Store) -> float | None:
    """Great-circle distance (haversine) between two stores; None without coordinates."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def days(kind: Kind, lead_days: int, km: float | None, *, at_store: bool) -> int:
    """Days until the customer can have it from a source of ``kind`` (see the module)."""
    if kind == "online" or (kind == "here" and at_store):
        return lead_days
    return lead_days + SET_ASIDE_DAYS + math.ceil((km or 0.0) / KM_PER_DAY)


def source_at(here: Store | None, there: Store, *, at_store: bool) -> Source:
    """``there`` as a source for a customer of ``here``, whatever the distance (the radius
    decides only what :func:`reach` offers)."""
    if there.online:
        kind: Kind = "online"
        km = None
    elif here is not None and there.id == here.id:
        kind, km = "here", 0.0
    else:
        kind = "nearby"
        km = distance_km(here, there) if here is not None else None
    return Source(kind, there.id, there.name, there.name_zh, km,
                  days(kind, there.lead_days, km, at_store=at_store))


def rank_key(source: Source, policy: Policy) -> tuple[int, float, int, str]:
    """Sort key: the policy's order of kinds, then the nearest, the soonest, the store id."""
    return (policy.index(source.kind), source.km or 0.0, source.days, source.store_id)


def reach(stores: Iterable[Store], here_id: str | None, nearby_km: float, *,
          at_store: bool = True) -> list[Source]:
    """Every store that can supply a customer of ``here_id``, in :data:`IN_STORE` order: the
    store itself (if physical), the physical stores within ``nearby_km`` of it, the online
    stores. Without a physical store to start from, only the online stores."""
    every = list(stores)
    here = next((s for s in every if s.id == here_id and not s.online), None)
    found = []
    for store in every:
        if not store.online and here is None:
            continue
        source = source_at(here, store, at_store=at_store)
        if source.kind == "nearby" and (source.km is None or source.km > nearby_km):
            continue  # beyond the radius (or nowhere known): never nearby
        found.append(source)
    return sorted(found, key=lambda s: rank_key(s, IN_STORE))


@dataclass(frozen=True, slots=True)
class LineAvailability:
    """One line: every store in reach with what it has on hand (here even with none)."""

    sku: str
    quantity: int
    stock: tuple[tuple[Source, int], ...]  # (source, on hand), in IN_STORE order

    def on_hand_at(self, store_id: str) -> int:
        return next((n for s, n in self.stock if s.store_id == store_id), 0)

    def sources(self, policy: Policy = IN_STORE) -> list[Source]:
        """The sources with the whole quantity, best first under ``policy``."""
        found = [s for s, n in self.stock if n >= self.quantity and s.kind in policy]
        return sorted(found, key=lambda s: rank_key(s, policy))

    def best(self, policy: Policy = IN_STORE) -> Source | None:
        found = self.sources(policy)
        return found[0] if found else None

    @property
    def here(self) -> Source | None:
        return self.best(("here",))

    @property
    def nearby(self) -> Source | None:
        """The nearest other physical store within the radius with the whole quantity."""
        return self.best(("nearby",))

    @property
    def online(self) -> Source | None:
        return self.best(("online",))


@dataclass(frozen=True, slots=True)
class Availability:
    """Where ``lines`` can be had and when, for a customer of ``store_id``."""

    store_id: str | None
    at_store: bool
    reach: tuple[Source, ...]  # in IN_STORE order
    lines: tuple[LineAvailability, ...]

    def line(self, sku: str) -> LineAvailability:
        return next(line for line in self.lines if line.sku == sku)

    def missing_at(self, store_id: str) -> list[str]:
        """The lines ``store_id`` does not have in their quantity (all, if out of reach)."""
        return [line.sku for line in self.lines if line.on_hand_at(store_id) < line.quantity]

    def with_all(self, policy: Policy = IN_STORE) -> list[Source]:
        """The stores in reach that have every line, best first under ``policy``."""
        found = [s for s in self.reach if s.kind in policy and not self.missing_at(s.store_id)]
        return sorted(found, key=lambda s: rank_key(s, policy))

    def source(self, store_id: str) -> Source | None:
        """``store_id`` as a source, if it is in reach and has every line."""
        return next((s for s in self.with_all() if s.store_id == store_id), None)

    @property
    def all_at(self) -> Source | None:
        """The nearest store with every line: here, else the nearest nearby one, else online."""
        found = self.with_all()
        return found[0] if found else None


def answer(lines: Sequence[tuple[str, int]], reached: Sequence[Source],
           on_hand: Mapping[tuple[str, str], int], *, store_id: str | None,
           at_store: bool) -> Availability:
    """The availability of ``lines`` (sku, quantity; one SKU twice counts once, added up)
    from the stores ``reached`` and their stock ``on_hand`` by (store id, sku)."""
    wanted: dict[str, int] = {}
    for sku, quantity in lines:
        wanted[sku] = wanted.get(sku, 0) + quantity
    ordered = tuple(sorted(reached, key=lambda s: rank_key(s, IN_STORE)))
    return Availability(
        store_id=store_id, at_store=at_store, reach=ordered,
        lines=tuple(LineAvailability(sku, quantity, tuple(
            (s, on_hand.get((s.store_id, sku), 0)) for s in ordered))
            for sku, quantity in wanted.items()))
