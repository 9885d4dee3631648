"""SenML packs (RFC 8428) in JSON and CBOR, resolved into records. Pure, no I/O.

This module knows the RFC and nothing of Homeloop; ``payloads.py`` maps resolved records to
readings, events and device state through the catalog. What it does, by section:

- §5 JSON and §6 CBOR: a pack is an array of maps; CBOR labels are the integers of Table 4
  (text labels are read too, so a JSON-shaped map sent as CBOR means the same); CBOR numbers
  may be integers, floats or decimal fractions (tag 4); a CBOR data value is a byte string,
  a JSON one base64url without padding (§4.3). Indefinite-length arrays (SensML, §4.8) are
  read as one pack when the whole message has arrived.
- §4.4: fields this module does not know are ignored, unless their label ends with ``_``,
  which refuses the pack; the caller names the extension labels it understands
  (:func:`resolve`'s ``understood``). Every record must have the same version; a version is
  understood when it is at most 10 or, by RFC 9100 (SenML features), 10 plus the
  feature bits this gateway implements (secondary units, RFC 8798: 26).
- §4.1 and §4.5: base name, time, unit, value and sum apply to the records after them until
  changed; times under 2**28 are relative to "now" (§4.5.3); a record has exactly one value
  (``v``, ``vs``, ``vb``, ``vd``) unless it has a sum (§4.2); base value and value add up,
  as do base sum and sum (§4.5.4).
- §4.5.1: the concatenated name uses only ``A-Z a-z 0-9 - : . / _`` and starts with a letter
  or digit.
- §4.6: :class:`Record` is a resolved record. A record with base fields only (as the first
  record of §5.1.7's example) resolves to none: it sets the bases of the records after it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, NamedTuple

import cbor2
import msgspec

from homeloop.errors import PayloadError

__all__ = ["CBOR_LABELS", "RELATIVE_LIMIT", "Pack", "Record", "decode_cbor", "decode_json",
           "is_cbor_pack", "read_cbor", "read_json", "resolve"]

RELATIVE_LIMIT = 2**28  # §4.5.3: smaller times are relative to "now"
VERSION = 10  # RFC 8428's
SECONDARY_UNITS = 1 << 4  # RFC 9100 §5: the "Secondary Units" feature (RFC 8798)
FEATURES = SECONDARY_UNITS  # the feature bits beyond the base version this gateway implements
CBOR_LABELS: dict[int, str] = {-1: "bver", -2: "bn", -3: "bt", -4: "bu", -5: "bv", -6: "bs",
                               0: "n", 1: "u", 2: "v", 3: "vs", 4: "vb", 5: "s", 6: "t",
                               7: "ut", 8: "vd"}
KNOWN = frozenset(CBOR_LABELS.values())
REGULAR = frozenset({"n", "u", "v", "vs", "vb", "vd", "s", "t", "ut"})
NAME = re.compile(r"[A-Za-z0-9][-A-Za-z0-9:./_]*")
SELF_DESCRIBED = b"\xd9\xd9\xf7"  # RFC 8949 §3.4.6: tag 55799 in front of any CBOR item

ValueField = Literal["v", "vs", "vb", "vd"]


class Record(NamedTuple):
    """A resolved record (§4.6): base fields applied, one value (or a sum), a time."""

    name: str
    unit: str | None
    field: ValueField | None  # which value it has; None: only a sum
    value: float | str | bool | bytes | None
    sum: float | None
    time: float  # seconds since the epoch, or relative to "now" when under 2**28
    update_time: float | None = None

    @property
    def relative(self) -> bool:
        return self.time < RELATIVE_LIMIT


class Pack(NamedTuple):
    records: list[Record]
    version: int
    extensions: dict[str, Any]  # the understood extension fields of the first record


class _Fields(msgspec.Struct):
    """The RFC's fields with their JSON types (Table 2); others are looked at by hand.
    :func:`_resolve` unpacks them in this order."""

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
    vd: Any = None  # base64url text in JSON, bytes in CBOR: checked by hand
    s: float | None = None
    t: float | None = None
    ut: float | None = None


@functools.cache
def _fields_type(understood: frozenset[str]) -> Any:
    """The fields with the caller's extension labels, as attributes ``x0``, ``x1``…"""
    labels = sorted(understood)
    names = {f"x{i}": label for i, label in enumerate(labels)}
    return msgspec.defstruct("Fields", [(name, Any, None) for name in names],
                             bases=(_Fields,), rename=names)


@functools.cache
def _layout(understood: frozenset[str]) -> tuple[list[str], int, tuple[None, ...]]:
    """The extension labels in attribute order (``x0``…), where they start in a record's
    tuple, and a tuple of as many ``None``."""
    labels = sorted(understood)
    return labels, len(_Fields.__struct_fields__), (None,) * len(labels)


@functools.cache
def _fields_decoder(understood: frozenset[str]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(list[_fields_type(understood)])  # type: ignore[misc]


_json_pack = msgspec.json.Decoder(list[dict[str, Any]])


def decode_json(payload: bytes) -> list[dict[str, Any]]:
    """A JSON pack (§5) as a list of maps; :class:`PayloadError` if it is not one."""
    try:
        return _json_pack.decode(payload)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"not a SenML pack: {exc} (RFC 8428 §5: an array of objects)") \
            from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc


def is_cbor_pack(payload: bytes) -> bool:
    """Whether the first byte says a CBOR array (major type 4), as a CBOR pack starts."""
    if payload.startswith(SELF_DESCRIBED):
        payload = payload[len(SELF_DESCRIBED):]
    return bool(payload) and 0x80 <= payload[0] <= 0x9F


def _plain(item: Any) -> Any:
    """CBOR numbers as JSON has them: decimal fractions (tag 4) and big integers as floats."""
    if isinstance(item, Decimal):
        return float(item)
    if isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2**63:
        return float(item)
    return item


def decode_cbor(payload: bytes) -> list[dict[str, Any]]:
    """A CBOR pack (§6) as a list of maps with the JSON labels."""
    stream = io.BytesIO(payload)
    try:
        top = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, OverflowError, RecursionError) as exc:
        raise PayloadError(f"not valid CBOR: {exc}") from exc
    if stream.tell() != len(payload):
        raise PayloadError(f"not valid CBOR: {len(payload) - stream.tell()} bytes after the "
                           "pack")
    if not isinstance(top, list | tuple):
        raise PayloadError(f"not a SenML pack: CBOR {type(top).__name__}, not an array "
                           "(RFC 8428 §6)")
    records: list[dict[str, Any]] = []
    for i, raw in enumerate(top):
        if not isinstance(raw, Mapping):
            raise PayloadError(f"record {i} is a CBOR {type(raw).__name__}, not a map "
                               "(RFC 8428 §6)")
        record: dict[str, Any] = {}
        for key, value in raw.items():
            label = CBOR_LABELS.get(key) if isinstance(key, int) else key
            if not isinstance(label, str):
                continue  # an integer label Table 4 does not have: not recognised (§4.4)
            if label in record:
                raise PayloadError(f"record {i} gives {label!r} twice (as a CBOR integer "
                                   "label and as text)")
            record[label] = _plain(value)
        records.append(record)
    return records


def _data(value: object, index: int) -> bytes:
    if isinstance(value, bytes):
        return value  # CBOR: a byte string
    if not isinstance(value, str):
        raise PayloadError(f"record {index}: vd must be base64url text (JSON) or bytes (CBOR)")
    if "=" in value or not re.fullmatch(r"[A-Za-z0-9_-]*", value) or len(value) % 4 == 1:
        raise PayloadError(f"record {index}: vd is not base64url without padding "
                           "(RFC 8428 §4.3, RFC 4648 §5)")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"record {index}: vd is not base64url: {exc}") from exc


def _version_understood(version: int) -> bool:
    return version <= VERSION or (version & 0b1111 == VERSION
                                  and version & ~(0b1111 | FEATURES) == 0)


def read_json(payload: bytes, understood: frozenset[str] = frozenset()) -> Pack:
    """A JSON pack (§5), resolved. A label ending in ``_`` is, in UTF-8 JSON, the bytes
    ``_"`` or an escape: a pack with neither is decoded in one typed pass."""
    if b'_"' in payload or b"\\" in payload:
        return resolve(decode_json(payload), understood)
    try:
        fields = _fields_decoder(understood).decode(payload)
    except msgspec.ValidationError as exc:
        if "Expected `array`" in str(exc) or "Expected `object`" in str(exc):
            raise PayloadError(f"not a SenML pack: {exc} (RFC 8428 §5: an array of objects)") \
                from exc
        raise PayloadError(f"invalid field: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
    return _resolve(fields, understood)


def read_cbor(payload: bytes, understood: frozenset[str] = frozenset()) -> Pack:
    """A CBOR pack (§6), resolved."""
    return resolve(decode_cbor(payload), understood)


def resolve(raw: list[dict[str, Any]], understood: frozenset[str] = frozenset()) -> Pack:
    """Resolve a decoded pack (§4.6). ``understood``: the extension labels the caller reads
    (they may end with ``_``); their values in the first record come back in the pack."""
    must = sorted({k for rec in raw for k in rec
                   if k.endswith("_") and k not in understood and k not in KNOWN})
    if must:
        raise PayloadError(f"SenML field {must[0]!r} must be understood (its label ends in "
                           "'_', RFC 8428 §4.4), and this gateway does not know it")
    try:
        fields = msgspec.convert(raw, list[_fields_type(understood)])  # type: ignore[misc]
    except msgspec.ValidationError as exc:
        raise PayloadError(f"invalid field: {exc}") from exc
    return _resolve(fields, understood)


def _bad(label: str, index: int) -> PayloadError:
    return PayloadError(f"record {index}: {label} is not a finite number")


_VALID_NAMES: dict[str, bool] = {}  # names seen, and whether §4.5.1 allows them
_VALID_NAMES_MAX = 100_000


def _valid_name(name: str) -> bool:
    valid = _VALID_NAMES.get(name)
    if valid is None:
        if len(_VALID_NAMES) >= _VALID_NAMES_MAX:
            _VALID_NAMES.clear()
        valid = _VALID_NAMES[name] = NAME.fullmatch(name) is not None
    return valid


def _resolve(fields: list[Any], understood: frozenset[str]) -> Pack:
    if not fields:
        raise PayloadError("SenML pack holds no records (RFC 8428 §11: one or more)")
    isfinite = math.isfinite
    astuple = msgspec.structs.astuple
    new_record = tuple.__new__  # Record(...) without its Python-level __new__
    bn, bt, bu, bv, bs = "", 0.0, None, 0.0, None
    version: int | None = None
    names: set[str] = set()
    records: list[Record] = []
    append = records.append
    labels, width, no_extensions = _layout(understood)
    single = len(labels) == 1
    for i, rec in enumerate(fields):
        # One C call for the fields, in _Fields' order, then the caller's extensions.
        row = astuple(rec)
        if single:  # the usual caller's one extension label: no slicing
            rbn, rbt, rbu, rbv, rbs, bver, n, u, v, vs, vb, vd, s, t, ut, extra = row
            if i and extra is not None:
                raise PayloadError(f"record {i}: {labels[0]!r} belongs on the pack's first "
                                   "record")
        else:
            if labels:
                if i and row[width:] != no_extensions:
                    label = next(labels[k] for k, x in enumerate(row[width:]) if x is not None)
                    raise PayloadError(f"record {i}: {label!r} belongs on the pack's first "
                                       "record")
                row = row[:width]
            rbn, rbt, rbu, rbv, rbs, bver, n, u, v, vs, vb, vd, s, t, ut = row
        if bver is not None:
            if bver < 1 or not _version_understood(bver):
                raise PayloadError(f"record {i}: unsupported SenML version bver={bver} "
                                   "(RFC 8428 §4.4; this gateway reads 10 and, with RFC "
                                   "8798's secondary units, 26)")
            if version is not None and bver != version:
                raise PayloadError(f"record {i}: version {bver} differs from the pack's "
                                   f"{version} (RFC 8428 §4.4: one version per pack)")
            version = bver
        elif version is None:
            version = VERSION
        if rbn is not None or rbt is not None or rbu is not None or rbv is not None \
                or rbs is not None:
            if rbn is not None:
                bn = rbn
            if rbt is not None:
                if not isfinite(rbt):
                    raise _bad("base time bt", i)
                bt = rbt
            if rbu is not None:
                bu = rbu
            if rbv is not None:
                if not isfinite(rbv):
                    raise _bad("base value bv", i)
                bv = rbv
            if rbs is not None:
                if not isfinite(rbs):
                    raise _bad("base sum bs", i)
                bs = rbs
            if (n is None and v is None and vs is None and vb is None and vd is None
                    and s is None and t is None and u is None and ut is None):
                continue  # only base fields (§5.1.7's first record): they apply to what follows
        name = bn if n is None else bn + n
        if name not in names:
            if not name:
                raise PayloadError(f"record {i} has no name (neither bn nor n)")
            if not _valid_name(name):
                raise PayloadError(f"record {i}: name {name!r} has a character RFC 8428 "
                                   "§4.5.1 does not allow (A-Z a-z 0-9 - : . / _, starting "
                                   "with a letter or digit)")
            names.add(name)
        if t is None:
            t = bt
        else:
            t = bt + t
            if not isfinite(t):
                raise _bad("time t", i)
        if ut is not None and not isfinite(ut):
            raise _bad("update time ut", i)
        if s is None and bs is None and vs is None and vb is None and vd is None:
            # The common record: a number, no sum.
            if v is None:
                raise PayloadError(f"record {i} ({name!r}) has no value and no sum "
                                   "(RFC 8428 §4.2)")
            v = bv + v
            if not isfinite(v):
                raise _bad("value bv + v", i)
            append(new_record(Record, (name, bu if u is None else u, "v", v, None, t, ut)))
            continue
        value_sum = None
        if s is not None:
            if not isfinite(s):
                raise _bad("sum s", i)
            value_sum = s if bs is None else bs + s
        elif bs is not None:
            value_sum = bs
        field: ValueField | None = None
        value: float | str | bool | bytes | None = None
        given = (v is not None) + (vs is not None) + (vb is not None) + (vd is not None)
        if given > 1:
            both = " and ".join(f for f, x in (("v", v), ("vs", vs), ("vb", vb), ("vd", vd))
                                if x is not None)
            raise PayloadError(f"record {i} ({name!r}) has {both}: exactly one value field "
                               "(RFC 8428 §4.2)")
        if v is not None:
            number = bv + v
            if not isfinite(number):
                raise _bad("value bv + v", i)
            field, value = "v", number
        elif vs is not None:
            field, value = "vs", vs
        elif vb is not None:
            field, value = "vb", vb
        elif vd is not None:
            field, value = "vd", _data(vd, i)
        elif value_sum is None:
            raise PayloadError(f"record {i} ({name!r}) has no value and no sum "
                               "(RFC 8428 §4.2)")
        append(Record(name, bu if u is None else u, field, value, value_sum, t, ut))
    if not records:
        raise PayloadError("SenML pack holds only base fields, no record")
    extensions = {}
    if labels:
        first = astuple(fields[0])[width:]
        extensions = {label: value for label, value in zip(labels, first, strict=True)
                      if value is not None}
    return Pack(records, version or VERSION, extensions)
