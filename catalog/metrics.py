"""What a metric is: the catalog's one answer. Pure, no I/O.

A tag reports numbers (``readings``) and, in SenML, strings, booleans and binary data. This
module says, for every name a tag may use:

- **numbers** (:data:`METRICS`): the unit a reading is stored and shown in (a SenML unit
  name, RFC 8428 §12.1 and RFC 8798, but ``L``, which the project has always used for
  litres), its kind, the values it can take, and whether it takes SenML sums (RFC 8428
  §4.2) and in which unit a sum without a unit of its own is;
- **strings, booleans and data** (:data:`SIGNALS`): what such a value becomes — an event of
  a kind the product rules know (an error code is a ``fault``), or a piece of the device's
  state (the last value wins).

The gateway converts with this (``device_gateway/payloads.py``), the timelines show the
units, and the forecasts read the kinds (``replenishment/items.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["METRICS", "SIGNALS", "Kind", "Metric", "Signal", "metric_unit", "signal"]


class Kind(StrEnum):
    GAUGE = "gauge"            # stands alone: a fill level, a temperature, a weight
    CUMULATIVE = "cumulative"  # a running total that may reset: uses, hours run
    INTERVAL = "interval"      # the amount since the previous report: litres through a filter


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: str
    kind: Kind
    description: str
    # A SenML sum of this metric is stored (RFC 8428 §4.2: the integral of the value over
    # time; §10). A cumulative metric stores the sum as its reading; an interval metric the
    # difference between consecutive sums. Metrics without sums ignore one beside a value
    # and refuse a record that has only a sum.
    takes_sums: bool = False
    # The values a reading can take, both ends included (None: any finite number).
    bounds: tuple[float, float] | None = None


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("level", "/", Kind.GAUGE, "fill ratio, 0 empty to 1 full"),
    Metric("count", "count", Kind.CUMULATIVE, "uses since the tag was made"),
    Metric("flow_l", "L", Kind.INTERVAL, "litres through the filter since the last report",
           takes_sums=True),
    Metric("runtime_h", "h", Kind.CUMULATIVE, "hours run since the tag was made",
           takes_sums=True),
    Metric("weight_g", "g", Kind.GAUGE, "weight on the scale"),
    Metric("battery", "%EL", Kind.GAUGE, "remaining battery energy, percent",
           bounds=(0.0, 100.0)),
    Metric("temp_c", "Cel", Kind.GAUGE, "temperature"),
    Metric("error_code", "", Kind.GAUGE, "the device's numeric error code, 0 for none"),
)}

ValueType = Literal["string", "boolean", "data"]


@dataclass(frozen=True, slots=True)
class Signal:
    """A string, boolean or data value the catalog names, and what it becomes."""

    name: str
    value: ValueType
    becomes: Literal["event", "state"]
    description: str
    event_kind: str | None = None  # for an event: its kind
    data_key: str = "value"        # for an event: the key of the value in the event's data


SIGNALS: dict[tuple[str, ValueType], Signal] = {(s.name, s.value): s for s in (
    Signal("error_code", "string", "event", "the device's error code (E12)",
           event_kind="fault", data_key="code"),
    Signal("door_open", "boolean", "state", "the appliance's door switch"),
    Signal("firmware", "string", "state", "the tag's firmware version"),
    Signal("diagnostics", "data", "state", "the tag's last diagnostic record, bytes"),
)}


def signal(name: str, value: ValueType) -> Signal | None:
    return SIGNALS.get((name, value))


def metric_unit(name: str | None) -> str | None:
    """The unit readings of ``name`` are in; None for no metric or an unknown one."""
    metric = METRICS.get(name or "")
    return metric.unit if metric else None
