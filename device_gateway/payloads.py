"""Pure converters: (topic, payload bytes, content type, receive time) -> what to store.

No I/O here. Anything that cannot be stored raises :class:`PayloadError` with a reason an
operator understands; the writer turns it into a dead letter with the raw bytes.

Payloads (``ts`` in epoch milliseconds or RFC 3339):
- compact readings: ``{"ts": 1732950000000, "seq": 7, "m": {"level": 0.42, "flow_l": 12.5}}``
- SenML packs (RFC 8428) in JSON or CBOR, on the readings or the events topic: resolved by
  :mod:`device_gateway.senml`, then mapped through the catalog (:mod:`catalog.metrics`) to
  readings, sums of interval metrics, events and device state (:func:`senml_pack`). Names are
  ``<device id>:<metric>`` (``bn`` may carry ``urn:dev:homeloop:`` and the device id, ``n``
  the metric) or the bare metric, the topic naming the device
- events: ``{"ts": ..., "kind": "nfc_tap", "data": {...}}``
- status: ``online`` / ``offline`` (retained; the gateway's last will says ``offline``)

Which format a message is in: its MQTT 5 content type when it has one
(``application/senml+json``, ``application/senml+cbor``, their ``sensml`` streams,
``application/json``), else its first byte (``[`` a SenML JSON pack, a CBOR array a SenML
CBOR pack, anything else JSON).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

from catalog.metrics import METRICS, SIGNALS, Kind, Metric, signal
from device_gateway import senml, units
from homeloop.errors import PayloadError

__all__ = ["EVENT_KINDS", "METRICS", "SEQ_LABEL", "Event", "Limits", "Readings", "SenmlPack",
           "Settled", "State", "Status", "check_time", "convert", "settle", "split_topic"]

EVENT_KINDS = frozenset({"nfc_tap", "fault", "refill", "replaced", "reset", "button", "boot"})
KINDS = ("readings", "events", "status")
MAX_EVENT_DATA_BYTES = 4096
# The pack's sequence number, on its first record: how a tag without a clock sends times
# relative to "now" that stay the same when the pack is delivered again (docs/ARCHITECTURE.md,
# "Tags without a clock"). An extension field (RFC 8428 §4.4) other receivers may ignore.
SEQ_LABEL = "hl_seq"
MAX_SEQ = 2**63 - 1
JSON_TYPES = ("application/json", "application/senml+json", "application/sensml+json")
CBOR_TYPES = ("application/cbor", "application/senml+cbor", "application/sensml+cbor")


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 64 * 1024
    max_age_ms: int = 30 * 86_400_000
    max_future_ms: int = 300_000


@dataclass(slots=True)  # not frozen: a frozen one costs ~1 µs more per message
class Readings:
    device_id: str
    rows: list[tuple[int, str, float]]  # (epoch ms, metric, value)


@dataclass(frozen=True, slots=True)
class Event:
    device_id: str
    ts_ms: int
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Status:
    device_id: str
    online: bool


class _Compact(msgspec.Struct, forbid_unknown_fields=True):
    ts: int | float | str
    m: dict[str, float]
    seq: int | None = None
    id: str | None = None


class _Event(msgspec.Struct, forbid_unknown_fields=True):
    ts: int | float | str
    kind: str
    data: dict[str, Any] = {}
    seq: int | None = None
    id: str | None = None


_compact = msgspec.json.Decoder(_Compact)
_event = msgspec.json.Decoder(_Event)


def split_topic(topic: str) -> tuple[str, str]:
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != "tags" or not parts[1] or parts[2] not in KINDS:
        raise PayloadError(f"unexpected topic {topic!r}: expected tags/<device id>/<kind>")
    return parts[1], parts[2]


def _decode_error(exc: msgspec.DecodeError | msgspec.ValidationError) -> PayloadError:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        return PayloadError(f"invalid field: {text}")
    return PayloadError(f"not valid JSON: {text}")


def _ts_ms(ts: int | float | str, now_ms: int, limits: Limits) -> int:
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError as exc:
            raise PayloadError(f"ts {ts!r} is neither epoch milliseconds nor RFC 3339") from exc
        if parsed.tzinfo is None:
            raise PayloadError(f"ts {ts!r} has no time zone offset")
        ms = round(parsed.timestamp() * 1000)
    else:
        if not math.isfinite(ts):
            raise PayloadError("ts is not a finite number")
        ms = round(ts)
    return check_time(ms, now_ms, limits)


def check_time(ms: int, now_ms: int, limits: Limits) -> int:
    if ms > now_ms + limits.max_future_ms:
        raise PayloadError(
            f"timestamp {ms} ms is {(ms - now_ms) / 1000:.0f} s in the future "
            f"(limit {limits.max_future_ms / 1000:.0f} s)")
    if ms < now_ms - limits.max_age_ms:
        raise PayloadError(
            f"timestamp {ms} ms is older than the accepted backlog of "
            f"{limits.max_age_ms / 86_400_000:.0f} days")
    return ms


def _bounds_error(metric: Metric, value: float) -> str | None:
    if metric.bounds is not None and not metric.bounds[0] <= value <= metric.bounds[1]:
        low, high = metric.bounds
        return f"{metric.name!r} {value:g} {metric.unit} is outside {low:g}..{high:g}"
    return None


def _value(metric: str, value: float) -> float:
    known = METRICS.get(metric)
    if known is None:
        raise PayloadError(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    if not math.isfinite(value):
        raise PayloadError(f"metric {metric!r} has a non-finite value {value!r}")
    if error := _bounds_error(known, value):
        raise PayloadError(error)
    return value


def _metric_value_error(payload: bytes) -> PayloadError | None:
    """Name the metric whose value is wrong (msgspec says only ``$.m[...]``)."""
    try:
        loose = msgspec.json.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    metrics = loose.get("m") if isinstance(loose, dict) else None
    if isinstance(metrics, dict):
        for name, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                return PayloadError(f"invalid field: metric {name!r} must be a number, "
                                    f"got {type(value).__name__} {str(value)[:40]!r}")
    return None


def _compact_readings(device_id: str, payload: bytes, now_ms: int, limits: Limits) -> Readings:
    try:
        msg = _compact.decode(payload)
    except msgspec.ValidationError as exc:
        raise (_metric_value_error(payload) or _decode_error(exc)) from exc
    except msgspec.DecodeError as exc:
        raise _decode_error(exc) from exc
    if msg.id is not None and msg.id != device_id:
        raise PayloadError(f"payload id {msg.id!r} does not match topic device {device_id!r}")
    if not msg.m:
        raise PayloadError("field 'm' holds no metrics")
    ts = _ts_ms(msg.ts, now_ms, limits)
    return Readings(device_id, [(ts, k, _value(k, v)) for k, v in msg.m.items()])


@dataclass(frozen=True, slots=True)
class State:
    """A piece of a device's state (the catalog's :data:`~catalog.metrics.SIGNALS`)."""

    device_id: str
    ts_ms: int
    key: str
    value: Any


RELATIVE_MS = senml.RELATIVE_LIMIT * 1000  # below: milliseconds from the pack's anchor


@dataclass(slots=True)  # not frozen: a frozen one costs ~1 µs more per message
class SenmlPack:
    """What a SenML pack says, as the catalog reads it. Times are epoch milliseconds, or,
    below :data:`RELATIVE_MS`, milliseconds from the pack's anchor (its first receipt)."""

    device_id: str
    readings: list[tuple[int, str, float]]  # (ms, metric, value)
    sums: list[tuple[int, str, float]]  # (ms, interval metric, running sum)
    events: list[tuple[int, str, dict[str, Any]]]  # (ms, kind, data)
    states: list[tuple[int, str, Any]]  # (ms, key, JSON value)
    seq: int | None  # the pack's sequence (SEQ_LABEL), None when it has none
    relative: bool  # some times are relative to the anchor


@dataclass(slots=True)  # not frozen: a frozen one costs ~1 µs more per message
class Settled:
    """A SenML pack at absolute times: what the writer stores."""

    readings: Readings
    sums: list[tuple[int, str, float]]  # (epoch ms, interval metric, running sum)
    events: list[Event]
    states: list[State]


def _under(name: str, device_id: str) -> bool:
    return name == device_id or name.endswith((":" + device_id, "/" + device_id))


def _senml_name(name: str, device_id: str) -> str:
    """The metric a record's name (``...:<device id>:<metric>`` or ``<metric>``) names."""
    if _under(name, device_id):
        raise PayloadError(f"SenML name {name!r} names the device but no metric: append "
                           f"':<metric>' (known: {', '.join(sorted(METRICS))})")
    cut = max(name.rfind(":"), name.rfind("/"))
    if cut < 0:
        return name  # the bare metric: the topic names the device
    prefix, metric = name[:cut], name[cut + 1:]
    if not _under(prefix, device_id):
        owner = prefix.replace("/", ":").rsplit(":", 1)[-1]
        raise PayloadError(f"SenML name {name!r} belongs to {owner or prefix!r}, "
                           f"not to {device_id!r}")
    if not metric:
        raise PayloadError(f"SenML name {name!r} names the device but no metric")
    return metric


def _in_unit(value: float, unit: str | None, metric: Metric, index: int, *,
             is_sum: bool = False) -> float:
    if unit is None or (unit == metric.unit and not is_sum):
        return value  # RFC 8428 §4.5.2: no unit, the catalog's (the application's context)
    if not units.known(metric.unit):
        raise PayloadError(f"record {index}: unit {unit!r} for {metric.name!r}, which has no "
                           "unit")
    try:
        if is_sum:
            return units.convert_sum(value, unit, metric.unit)
        return units.convert(value, unit, metric.unit)
    except units.UnitError as exc:
        raise PayloadError(f"record {index}: unit {unit!r} for {metric.name!r}, expected "
                           f"{metric.unit!r} or a unit that converts to it exactly (RFC 8428 "
                           f"§12.1, RFC 8798 §3): {exc}") from exc


def _number(rec: senml.Record, index: int, name: str) -> tuple[bool, float]:
    """(is an interval metric's sum, value in the catalog's unit) of a numeric record."""
    metric = METRICS.get(name)
    if metric is None:
        raise PayloadError(f"record {index}: unknown metric {name!r}; known: "
                           f"{', '.join(sorted(METRICS))}")
    is_sum = False
    if rec.sum is not None and metric.takes_sums:
        # The sum is the reading; a value beside it is the rate at that moment (RFC 8428
        # §10), which is no reading of this metric.
        value = _in_unit(rec.sum, rec.unit, metric, index, is_sum=True)
        is_sum = metric.kind is Kind.INTERVAL
    elif rec.field == "v":
        assert isinstance(rec.value, float)
        value = _in_unit(rec.value, rec.unit, metric, index)
    else:
        raise PayloadError(f"record {index}: {name!r} takes no sum (the catalog stores sums "
                           "of " + ", ".join(m for m in METRICS if METRICS[m].takes_sums)
                           + "; RFC 8428 §10: a running count is sent as the value)")
    if not math.isfinite(value):
        raise PayloadError(f"record {index}: {name!r} is not finite in {metric.unit!r}")
    if error := _bounds_error(metric, value):
        hint = ""
        if rec.unit == "%":
            hint = ("; '%' is a ratio in SenML, not a percentage (RFC 8428 §12.1 Note 2): "
                    "send '/100' (RFC 8798) or the catalog's unit")
        raise PayloadError(f"record {index}: {error}{hint}")
    return is_sum, value


_VALUE_TYPES: dict[str, Literal["string", "boolean", "data"]] = {
    "vs": "string", "vb": "boolean", "vd": "data"}


def _json_value(value: float | str | bool | bytes | None) -> Any:
    if isinstance(value, bytes):
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()  # as SenML JSON has it
    return value


def _signal(rec: senml.Record, index: int, name: str) -> tuple[Literal["event", "state"], str,
                                                                Any]:
    assert rec.field is not None
    kind = _VALUE_TYPES[rec.field]
    sig = signal(name, kind)
    if sig is None:
        takes = sorted(t for n, t in SIGNALS if n == name)
        if takes:
            raise PayloadError(f"record {index}: {name!r} takes a {' or '.join(takes)} value, "
                               f"not a {kind} ({rec.field})")
        if name in METRICS:
            raise PayloadError(f"record {index}: {name!r} is a number (v); a {kind} value "
                               f"({rec.field}) is none of its readings")
        raise PayloadError(f"record {index}: the catalog names no {kind} value {name!r}; "
                           "known: " + ", ".join(sorted(f"{n} ({t})" for n, t in SIGNALS)))
    value = _json_value(rec.value)
    if len(msgspec.json.encode(value)) > MAX_EVENT_DATA_BYTES:
        raise PayloadError(f"record {index}: the {kind} value of {name!r} is over "
                           f"{MAX_EVENT_DATA_BYTES} bytes")
    if sig.becomes == "event":
        assert sig.event_kind is not None
        return "event", sig.event_kind, {sig.data_key: value}
    return "state", sig.name, value


def _seq(extensions: dict[str, Any]) -> int | None:
    seq = extensions.get(SEQ_LABEL)
    if seq is None:
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise PayloadError(f"{SEQ_LABEL!r} must be an integer from 0 to 2**63-1, got {seq!r}")
    return seq


# metric -> (the units its numbers are stored in as they come: none, RFC 8428 §4.5.2, or the
# catalog's own; its bounds): what :func:`_number` would do to them, without the call.
_AS_IT_COMES: dict[str, tuple[frozenset[str | None], float, float]] = {
    name: (frozenset({None, m.unit}), *(m.bounds or (-math.inf, math.inf)))
    for name, m in METRICS.items()}
_NOT_AS_IT_COMES: tuple[frozenset[str | None], float, float] = (frozenset(), 0.0, 0.0)
_UNDERSTOOD = frozenset({SEQ_LABEL})


def senml_pack(device_id: str, payload: bytes, cbor: bool, now_ms: int,
               limits: Limits) -> SenmlPack:
    """A SenML pack (JSON or CBOR) as the catalog reads it. Absolute times are checked
    against the limits here; relative ones in :func:`settle`, once anchored."""
    pack = (senml.read_cbor(payload, _UNDERSTOOD) if cbor
            else senml.read_json(payload, _UNDERSTOOD))
    seq = _seq(pack.extensions)
    readings: list[tuple[int, str, float]] = []
    sums: list[tuple[int, str, float]] = []
    events: list[tuple[int, str, dict[str, Any]]] = []
    states: list[tuple[int, str, Any]] = []
    # record name -> (metric, the units it is stored in as it comes, its bounds), once per
    # name; a number in such a unit and within the bounds is a reading as it came.
    metrics: dict[str, tuple[str, frozenset[str | None], float, float]] = {}
    append = readings.append
    relative = False
    earliest, latest = now_ms - limits.max_age_ms, now_ms + limits.max_future_ms
    for i, rec in enumerate(pack.records):
        rname, unit, field, value, value_sum, time, _ = rec
        known = metrics.get(rname)
        if known is None:
            name = _senml_name(rname, device_id)
            known = metrics[rname] = (name, *_AS_IT_COMES.get(name, _NOT_AS_IT_COMES))
        name, as_it_comes, low, high = known
        ms = round(time * 1000)
        if ms < RELATIVE_MS:
            if seq is None:
                raise PayloadError(
                    f"record {i}: time {time:g} is relative to now (RFC 8428 §4.5.3), "
                    f"and the pack has no sequence: a redelivered pack would get new times. "
                    f"A tag without a clock numbers its packs with {SEQ_LABEL!r} on the first "
                    "record; a tag with one sends an absolute base time (bt)")
            relative = True
        elif not earliest <= ms <= latest:
            check_time(ms, now_ms, limits)
        if (field == "v" and value_sum is None and unit in as_it_comes
                and low <= value <= high):  # type: ignore[operator]
            append((ms, name, value))  # type: ignore[arg-type]
        elif field is None or field == "v":
            is_sum, number = _number(rec, i, name)
            (sums if is_sum else readings).append((ms, name, number))
        else:
            what, key, value = _signal(rec, i, name)
            if what == "event":
                events.append((ms, key, value))
            else:
                states.append((ms, key, value))
    return SenmlPack(device_id, readings, sums, events, states, seq, relative)


def settle(pack: SenmlPack, anchor_ms: int | None, now_ms: int, limits: Limits) -> Settled:
    """The pack at absolute times: relative ones from ``anchor_ms``, the time the pack
    ``(device, seq)`` was first received, whichever delivery this is."""
    dev = pack.device_id
    if not pack.relative:
        return Settled(Readings(dev, pack.readings), pack.sums,
                       [Event(dev, ms, kind, data) for ms, kind, data in pack.events],
                       [State(dev, ms, key, value) for ms, key, value in pack.states])
    if anchor_ms is None:
        raise PayloadError("a pack with times relative to now has no anchor")

    def at(ms: int) -> int:
        return ms if ms >= RELATIVE_MS else check_time(anchor_ms + ms, now_ms, limits)

    return Settled(Readings(dev, [(at(ms), m, v) for ms, m, v in pack.readings]),
                   [(at(ms), m, v) for ms, m, v in pack.sums],
                   [Event(dev, at(ms), kind, data) for ms, kind, data in pack.events],
                   [State(dev, at(ms), key, value) for ms, key, value in pack.states])


def _event_of(device_id: str, payload: bytes, now_ms: int, limits: Limits) -> Event:
    try:
        msg = _event.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _decode_error(exc) from exc
    if msg.id is not None and msg.id != device_id:
        raise PayloadError(f"payload id {msg.id!r} does not match topic device {device_id!r}")
    if msg.kind not in EVENT_KINDS:
        raise PayloadError(f"unknown event kind {msg.kind!r}; known: {sorted(EVENT_KINDS)}")
    if len(msgspec.json.encode(msg.data)) > MAX_EVENT_DATA_BYTES:
        raise PayloadError(f"event data is over {MAX_EVENT_DATA_BYTES} bytes")
    return Event(device_id, _ts_ms(msg.ts, now_ms, limits), msg.kind, msg.data)


def _format(content_type: str | None, payload: bytes) -> Literal["senml", "cbor", "json"]:
    """``senml``: a SenML JSON pack; ``cbor``: a SenML CBOR pack; ``json``: JSON, a SenML
    pack when it is an array (``[``), else the compact format or an event."""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in CBOR_TYPES:
            return "cbor"
        if media in JSON_TYPES:
            return "json" if media == "application/json" else "senml"
        raise PayloadError(f"content type {content_type!r} is not one the gateway reads: "
                           f"{', '.join(JSON_TYPES + CBOR_TYPES)}")
    return "cbor" if senml.is_cbor_pack(payload) else "json"


def convert(topic: str, payload: bytes, now_ms: int, limits: Limits,
            content_type: str | None = None) -> Readings | Event | Status | SenmlPack:
    if len(payload) > limits.max_payload_bytes:
        raise PayloadError(
            f"payload of {len(payload)} bytes exceeds the {limits.max_payload_bytes}-byte limit")
    device_id, kind = split_topic(topic)
    if kind == "status":
        state = payload.strip().strip(b'"').lower()
        if state not in (b"online", b"offline"):
            raise PayloadError("status must be 'online' or 'offline'")
        return Status(device_id, state == b"online")
    form = _format(content_type, payload)
    if form == "cbor":
        return senml_pack(device_id, payload, True, now_ms, limits)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not valid UTF-8: {exc.reason} at byte {exc.start}"
                           + ("" if content_type else "; nor is it a SenML CBOR pack (its first "
                              "byte is not a CBOR array's)")) from exc
    if form == "senml" or payload.lstrip()[:1] == b"[":
        return senml_pack(device_id, payload, False, now_ms, limits)
    if kind == "events":
        return _event_of(device_id, payload, now_ms, limits)
    return _compact_readings(device_id, payload, now_ms, limits)
