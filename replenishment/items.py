"""What is forecast for a product, and which of its events start a new consumable. Pure.

A device SKU's catalog rows (``sku_consumables``, ``sku_services``) become :class:`Item`
values: the metric whose timeline measures its use, how that metric relates to use, and its
capacity.
The metric follows the capacity: litres are read from ``flow_l``, uses from ``count``, a
level-based consumable from ``level``; a service by use from its ``usage_metric``; an item
with only a time limit needs no timeline at all.

Events are the device's, not the item's, so :func:`applies` decides which items an event
concerns:

- an event naming a part (``data.part``, the SKU, as the tags send it) concerns that item only,
  consumable or service (a technician's tap naming ``SVC-DESCALE`` marks the descaling done);
- an ``nfc_tap`` by a customer (``data.customer_id``) is someone tapping the product itself to
  register or open it: no consumable changed;
- otherwise ``replaced`` and ``nfc_tap`` concern every consumable of the device, and
  ``refill`` only the level-based ones: topping up a tank does not change a filter or a box of
  tablets (a dishwasher's rinse-aid refill says nothing about its tablets);
- services count only events that name them.

The current consumable was fitted at the last event that concerns it; without one, when the
product was registered (``claimed_at``), else when it was made known (``created_at``). An
event older than the registration still wins: registering a product does not change its
filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from catalog.metrics import METRICS, Kind
from replenishment.forecast import CYCLE_EVENTS, Capacity, Event, MetricKind

__all__ = ["CycleEvent", "Item", "ItemKind", "applies", "consumable_item", "fitted_at",
           "service_item"]

ItemKind = Literal["consumable", "service"]

# How a service's usage metric relates to use, as the catalog says what a metric is:
# cumulative counters (uses, hours run) are read like ``count``, interval amounts like
# ``flow_l``; gauges (a level, a temperature) do not add up use.
_READ_AS = {Kind.CUMULATIVE: MetricKind.COUNT, Kind.INTERVAL: MetricKind.FLOW}
SERVICE_METRICS: dict[str, MetricKind] = {
    m.name: _READ_AS[m.kind] for m in METRICS.values() if m.kind in _READ_AS}


@dataclass(frozen=True, slots=True)
class Item:
    """One consumable or service of a device SKU, as the forecast needs it.

    ``metric`` is the ``readings`` metric to read (``None``: by time only); ``metric_kind`` how
    its values relate to use (for an item by time only it does not matter).
    """

    kind: ItemKind
    sku: str
    metric: str | None
    metric_kind: MetricKind
    capacity: Capacity
    level_based: bool = False


@dataclass(frozen=True, slots=True)
class CycleEvent:
    """A ``refill``/``replaced``/``nfc_tap`` event of a device, in epoch seconds."""

    time: float
    kind: str
    part: str | None = None
    by_customer: bool = False


def consumable_item(sku: str, litres: float | None, uses: int | None, months: int | None,
                    level_based: bool) -> Item:
    """The item of a ``sku_consumables`` row; the metric follows the capacity."""
    capacity = Capacity.from_catalog(litres, uses, months, level_based)
    if level_based:
        metric, kind = "level", MetricKind.LEVEL
    elif litres is not None:
        metric, kind = "flow_l", MetricKind.FLOW
    elif uses is not None:
        metric, kind = "count", MetricKind.COUNT
    else:
        metric, kind = None, MetricKind.COUNT
    return Item("consumable", sku, metric, kind, capacity, level_based)


def service_item(sku: str, months: int | None, usage: float | None,
                 usage_metric: str | None) -> Item:
    """The item of a ``sku_services`` row.

    Raises ``ValueError`` for a service by use of a metric that does not add up use (a level,
    a temperature): the catalog row is wrong, and the caller says so.
    """
    if usage is None:
        return Item("service", sku, None, MetricKind.COUNT,
                    Capacity(None, None if months is None else float(months)))
    kind = SERVICE_METRICS.get(usage_metric or "")
    if kind is None:
        raise ValueError(f"service {sku} is due by use of {usage_metric!r}, which is not a "
                         f"metric that adds up use ({', '.join(SERVICE_METRICS)})")
    return Item("service", sku, usage_metric, kind,
                Capacity(float(usage), None if months is None else float(months)))


def applies(event: CycleEvent, item: Item) -> bool:
    """Whether ``event`` starts a new cycle of ``item`` (the rules are in the module doc)."""
    if event.kind not in CYCLE_EVENTS:
        return False
    if event.part is not None:
        return event.part == item.sku
    if item.kind == "service" or (event.kind == "nfc_tap" and event.by_customer):
        return False
    return event.kind != "refill" or item.level_based


def fitted_at(item: Item, events: list[CycleEvent], claimed_at: float | None,
              created_at: float) -> tuple[float, list[Event]]:
    """When the item's current cycle began, and the events that concern it (in time order)."""
    mine = sorted((e for e in events if applies(e, item)), key=lambda e: e.time)
    since = mine[-1].time if mine else claimed_at if claimed_at is not None else created_at
    return since, [Event(e.time, e.kind) for e in mine]
