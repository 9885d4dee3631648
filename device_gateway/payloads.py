"""Pure converters: (topic, payload bytes, receive time) -> readings, an event or a status.

No I/O here. Anything that cannot be stored raises :class:`PayloadError` with a reason an
operator understands; the writer turns it into a dead letter with the raw bytes.

Payloads (``ts`` in epoch milliseconds or RFC 3339):
- compact readings: ``{"ts": 1732950000000, "seq": 7, "m": {"level": 0.42, "flow_l": 12.5}}``
- SenML JSON (RFC 8428) readings: a list of records with base name/time/unit/value,
  relative times, names ``<device id>:<metric>`` (``bn`` may carry ``urn:dev:homeloop:`` and
  the device id, ``n`` the metric)
- events: ``{"ts": ..., "kind": "nfc_tap", "data": {...}}``
- status: ``online`` / ``offline`` (retained; the gateway's last will says ``offline``)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from homeloop.errors import PayloadError

# metric -> the SenML unit it is reported in (RFC 8428 / 8798 names where they exist)
METRICS: dict[str, str] = {
    "level": "/",        # fill ratio 0..1
    "count": "count",    # cumulative uses
    "flow_l": "L",       # litres through a filter
    "runtime_h": "h",
    "weight_g": "g",
    "battery": "%EL",
    "temp_c": "Cel",
    "error_code": "",
}
EVENT_KINDS = frozenset({"nfc_tap", "fault", "refill", "replaced", "reset", "button", "boot"})
KINDS = ("readings", "events", "status")
SENML_RELATIVE_LIMIT = 2**28  # RFC 8428 §4.5.3: smaller times are relative to now
MAX_EVENT_DATA_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 64 * 1024
    max_age_ms: int = 30 * 86_400_000
    max_future_ms: int = 300_000


@dataclass(frozen=True, slots=True)
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


class _Senml(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    bn: str | None = None
    bt: float | None = None
    bu: str | None = None
    bv: float | None = None
    bs: float | None = None
    bver: int | None = None
    n: str | None = None
    u: str | None = None
    v: float | None = None
    vs: str | None = None
    vb: bool | None = None
    vd: str | None = None
    s: float | None = None
    t: float | None = None
    ut: float | None = None


_compact = msgspec.json.Decoder(_Compact)
_event = msgspec.json.Decoder(_Event)
_senml = msgspec.json.Decoder(list[_Senml])


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


def _value(metric: str, value: float) -> float:
    if metric not in METRICS:
        raise PayloadError(f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}")
    if not math.isfinite(value):
        raise PayloadError(f"metric {metric!r} has a non-finite value {value!r}")
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


def _senml_name(name: str, device_id: str) -> str:
    cut = max(name.rfind(":"), name.rfind("/"))
    if cut <= 0:
        raise PayloadError(f"SenML name {name!r} does not name a device and a metric")
    owner = name[:cut].replace("/", ":").rsplit(":", 1)[-1]
    if owner != device_id:
        raise PayloadError(f"SenML name {name!r} belongs to {owner!r}, not to {device_id!r}")
    return name[cut + 1:]


def _senml_readings(device_id: str, payload: bytes, now_ms: int, limits: Limits) -> Readings:
    try:
        records = _senml.decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _decode_error(exc) from exc
    if not records:
        raise PayloadError("SenML pack holds no records")
    bn, bt, bu, bv = "", 0.0, None, 0.0
    rows: list[tuple[int, str, float]] = []
    for i, rec in enumerate(records):
        if rec.bver is not None and rec.bver > 10:
            raise PayloadError(f"record {i}: unsupported SenML version bver={rec.bver}")
        if rec.bn is not None:
            bn = rec.bn
        if rec.bt is not None:
            if not math.isfinite(rec.bt):
                raise PayloadError(f"record {i}: base time bt is not finite")
            bt = rec.bt
        if rec.bu is not None:
            bu = rec.bu
        if rec.bv is not None:
            if not math.isfinite(rec.bv):
                raise PayloadError(f"record {i}: base value bv is not finite")
            bv = rec.bv
        name = bn + (rec.n or "")
        if not name:
            raise PayloadError(f"record {i} has no name (neither bn nor n)")
        if rec.v is None:
            if rec.vs is not None or rec.vb is not None or rec.vd is not None:
                raise PayloadError(f"record {i}: only numeric values (v) are timeline readings")
            raise PayloadError(f"record {i} ({name!r}) has no value")
        metric = _senml_name(name, device_id)
        unit = rec.u if rec.u is not None else bu
        if unit is not None and metric in METRICS and unit != METRICS[metric]:
            raise PayloadError(
                f"record {i}: unit {unit!r} for {metric!r}, expected {METRICS[metric]!r}")
        t = bt + (rec.t or 0.0)
        if not math.isfinite(t):
            raise PayloadError(f"record {i}: time is not finite")
        if abs(t) < SENML_RELATIVE_LIMIT:
            # Relative to "now" would give a redelivered pack new times: it would count twice.
            raise PayloadError(f"record {i}: time {t} is relative to now; send an absolute "
                               "base time (bt) so that redelivery stays idempotent")
        rows.append((check_time(round(t * 1000), now_ms, limits), metric,
                     _value(metric, bv + rec.v)))
    return Readings(device_id, rows)


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


def convert(topic: str, payload: bytes, now_ms: int, limits: Limits) -> Readings | Event | Status:
    if len(payload) > limits.max_payload_bytes:
        raise PayloadError(
            f"payload of {len(payload)} bytes exceeds the {limits.max_payload_bytes}-byte limit")
    device_id, kind = split_topic(topic)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not valid UTF-8: {exc.reason} at byte {exc.start}") from exc
    if kind == "status":
        state = payload.strip().strip(b'"').lower()
        if state not in (b"online", b"offline"):
            raise PayloadError("status must be 'online' or 'offline'")
        return Status(device_id, state == b"online")
    if kind == "events":
        return _event_of(device_id, payload, now_ms, limits)
    if payload.lstrip()[:1] == b"[":
        return _senml_readings(device_id, payload, now_ms, limits)
    return _compact_readings(device_id, payload, now_ms, limits)
