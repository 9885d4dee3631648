"""SenML units and exact conversion between the units of one quantity. Pure, no I/O.

Every unit known here is a linear function of a base unit: ``base = value * scale +
offset``, with ``scale`` and ``offset`` exact rationals, as RFC 8798 §3 writes its
secondary units. The bases are RFC 8428's own units (§12.1), with the pairs that measure one
quantity joined: ``g`` is 1/1000 ``kg``, ``Cel`` is ``K`` less 273.15, ``l`` is 1/1000
``m3``, ``%`` is ``/`` (§12.1 Note 2: a ratio, *not* a percentage). ``%EL`` is taken as a
percentage of ``/`` (the remaining share of the battery's energy). ``L`` is not a SenML unit:
it is the name the project's timelines have always shown for litres, accepted as ``l``.

A conversion is computed in rationals from the decimal a number was written as (the
shortest decimal that gives the same double: ``291.4`` K is 291.4, not
291.399999999999977…) and rounded once, so 291.4 K is 18.25 Cel exactly and 87 ``/100`` is
0.87 ``/``.

Sums (RFC 8428 §4.2) are in the record's unit times seconds: ``l/s`` sums to litres, ``/``
(a switch that is on) to seconds, ``W`` to joules (:data:`INTEGRAL`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["INTEGRAL", "PRIMARY", "SECONDARY", "UnitError", "convert", "convert_sum", "known"]

F = Fraction


@dataclass(frozen=True, slots=True)
class Linear:
    base: str
    scale: Fraction = Fraction(1)
    offset: Fraction = Fraction(0)


class UnitError(ValueError):
    pass


# RFC 8428 §12.1 (Table 6) and RFC 8798 §2 (new primary units). Each is its own base but
# the ones joined to another unit of the same quantity.
_OWN = ("m", "kg", "s", "A", "K", "cd", "mol", "Hz", "rad", "sr", "N", "Pa", "J", "W", "C",
        "V", "F", "Ohm", "S", "Wb", "T", "H", "lx", "lm", "Bq", "Gy", "Sv", "kat", "m2", "m3",
        "m/s", "m/s2", "m3/s", "W/m2", "cd/m2", "bit", "bit/s", "lat", "lon", "pH", "dB",
        "dBW", "Bspl", "count", "/", "%RH", "EL", "1/s", "beats", "S/m",
        "B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg")
PRIMARY: dict[str, Linear] = {u: Linear(u) for u in _OWN} | {
    "g": Linear("kg", F(1, 1000)),
    "Cel": Linear("K", F(1), F(27315, 100)),
    "l": Linear("m3", F(1, 1000)),
    "l/s": Linear("m3/s", F(1, 1000)),
    "%": Linear("/"),
    "%EL": Linear("/", F(1, 100)),
    "1/min": Linear("1/s", F(1, 60)),
    "beat/min": Linear("1/s", F(1, 60)),
    "L": Linear("m3", F(1, 1000)),  # not a SenML unit: the project's name for litres
}

# RFC 8798 §3, Table 2: secondary unit -> (SenML unit, scale, offset).
SECONDARY: dict[str, tuple[str, Fraction, Fraction]] = {
    "ms": ("s", F(1, 1000), F(0)),
    "min": ("s", F(60), F(0)),
    "h": ("s", F(3600), F(0)),
    "MHz": ("Hz", F(1_000_000), F(0)),
    "kW": ("W", F(1000), F(0)),
    "kVA": ("VA", F(1000), F(0)),
    "kvar": ("var", F(1000), F(0)),
    "Ah": ("C", F(3600), F(0)),
    "Wh": ("J", F(3600), F(0)),
    "kWh": ("J", F(3_600_000), F(0)),
    "varh": ("vars", F(3600), F(0)),
    "kvarh": ("vars", F(3_600_000), F(0)),
    "kVAh": ("VAs", F(3_600_000), F(0)),
    "Wh/km": ("J/m", F(36, 10), F(0)),
    "KiB": ("B", F(1024), F(0)),
    "GB": ("B", F(10**9), F(0)),
    "Mbit/s": ("bit/s", F(1_000_000), F(0)),
    "B/s": ("bit/s", F(8), F(0)),
    "MB/s": ("bit/s", F(8_000_000), F(0)),
    "mV": ("V", F(1, 1000), F(0)),
    "mA": ("A", F(1, 1000), F(0)),
    "dBm": ("dBW", F(1), F(-30)),
    "ug/m3": ("kg/m3", F(1, 10**9), F(0)),
    "mm/h": ("m/s", F(1, 3_600_000), F(0)),
    "m/h": ("m/s", F(1, 3600), F(0)),
    "ppm": ("/", F(1, 1_000_000), F(0)),
    "/100": ("/", F(1, 100), F(0)),
    "/1000": ("/", F(1, 1000), F(0)),
    "hPa": ("Pa", F(100), F(0)),
    "mm": ("m", F(1, 1000), F(0)),
    "cm": ("m", F(1, 100), F(0)),
    "km": ("m", F(1000), F(0)),
    "km/h": ("m/s", F(10, 36), F(0)),
}


def _linear(unit: str) -> Linear | None:
    if unit in PRIMARY:
        return PRIMARY[unit]
    if unit in SECONDARY:
        senml, scale, offset = SECONDARY[unit]
        to = PRIMARY[senml]
        return Linear(to.base, scale * to.scale, offset * to.scale + to.offset)
    return None


UNITS: dict[str, Linear] = {u: lin for u in (*PRIMARY, *SECONDARY)
                            if (lin := _linear(u)) is not None}

# What a rate sums to over time, RFC 8428 §4.2 (base units): the sum of ``l/s`` is litres.
INTEGRAL: dict[str, str] = {"m3/s": "m3", "/": "s", "1/s": "count", "W": "J", "A": "C",
                            "VA": "VAs", "var": "vars", "m/s": "m", "bit/s": "bit"}


def known(unit: str) -> bool:
    return unit in UNITS


def _exact(value: float) -> Fraction:
    return Fraction(repr(value))  # the decimal it was written as


def convert(value: float, unit: str, to: str) -> float:
    """``value`` in ``unit``, in ``to``; :class:`UnitError` when they measure different
    quantities or ``unit`` is not known."""
    if unit == to:
        return float(value)
    src, dst = UNITS.get(unit), UNITS[to]
    if src is None:
        raise UnitError(f"unit {unit!r} is neither a SenML unit (RFC 8428 §12.1) nor an "
                        "RFC 8798 secondary unit")
    if src.base != dst.base:
        raise UnitError(f"unit {unit!r} does not measure what {to!r} measures")
    if src == dst:
        return float(value)
    return float((_exact(value) * src.scale + src.offset - dst.offset) / dst.scale)


def convert_sum(value: float, unit: str, to: str) -> float:
    """A sum (RFC 8428 §4.2) given with the record's ``unit`` (its sum is in ``unit``
    times seconds) in ``to``; :class:`UnitError` when that is not a quantity ``to`` measures."""
    src, dst = UNITS.get(unit), UNITS[to]
    if src is None:
        raise UnitError(f"unit {unit!r} is neither a SenML unit (RFC 8428 §12.1) nor an "
                        "RFC 8798 secondary unit")
    integral = INTEGRAL.get(src.base)
    if src.offset != 0 or integral != dst.base:
        raise UnitError(f"a sum is in the record's unit times seconds (RFC 8428 §4.2), and "
                        f"{unit!r} times s is not what {to!r} measures")
    return float((_exact(value) * src.scale - dst.offset) / dst.scale)
