"""SenML as RFC 8428 says, section by section, with the RFC's own examples; and RFC 8798's
units. Pure: the resolution (``device_gateway.senml``) and what the gateway makes of a pack
(``device_gateway.payloads``); the store and the broker are in test_senml_store.py and
test_gateway.py.

The RFC's examples name sensors the catalog does not know (voltage, current, humidity):
each is resolved exactly as the RFC means it, and the gateway says why it stores none of it.
The same shapes with the catalog's names are stored.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import cbor2
import pytest

from device_gateway import senml
from device_gateway.payloads import Limits, SenmlPack, Settled, convert, settle
from device_gateway.units import SECONDARY
from homeloop.errors import PayloadError

OW = "10e2073a01080063"  # the 1-wire address of the RFC's examples, as a device id
NOW = 1_764_500_000_000  # 2025-11-30T10:53:20Z
BT = NOW // 1000
DEV = "hl-abc"
BN = f"urn:dev:homeloop:{DEV}:"
OLD = Limits(max_age_ms=20 * 365 * 86_400_000)  # the RFC's examples are from 2010 and 2011


def resolved(payload: bytes | list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    raw = senml.decode_json(payload) if isinstance(payload, bytes) else payload
    return [(r.name, r.unit, r.value, r.sum, r.time) for r in senml.resolve(raw).records]


def stored(payload: bytes | list[dict[str, Any]], *, dev: str = DEV, now: int = NOW,
           anchor: int | None = None, content_type: str | None = None,
           limits: Limits = OLD, kind: str = "readings") -> Settled:
    data = json.dumps(payload).encode() if isinstance(payload, list) else payload
    item = convert(f"tags/{dev}/{kind}", data, now, limits, content_type)
    assert isinstance(item, SenmlPack)
    return settle(item, anchor, now, limits)


def rows(payload: bytes | list[dict[str, Any]], **kw: Any) -> list[tuple[int, str, float]]:
    return stored(payload, **kw).readings.rows


def refused(payload: bytes | list[dict[str, Any]], *, dev: str = DEV, now: int = NOW,
            content_type: str | None = None, kind: str = "readings") -> str:
    data = json.dumps(payload).encode() if isinstance(payload, list) else payload
    with pytest.raises(PayloadError) as err:
        item = convert(f"tags/{dev}/{kind}", data, now, OLD, content_type)
        assert isinstance(item, SenmlPack)
        settle(item, None, now, OLD)
    return err.value.reason


# --- §1, §2: the overview's examples ---------------------------------------------------

def test_1_overview_a_temperature_now() -> None:
    example = b'[\n  {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}\n]'
    assert resolved(example) == [("urn:dev:ow:10e2073a01080063", "Cel", 23.1, None, 0.0)]
    assert "names the device but no metric" in refused(example, dev=OW)


def test_2_two_measurements_at_different_times_and_a_base_name() -> None:
    long = (b'[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","t":1.276020076e+09,"v":23.5},'
            b'{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","t":1.276020091e+09,"v":23.6}]')
    short = (b'[{"bn":"urn:dev:ow:10e2073a01080063","u":"Cel","t":1.276020076e+09,"v":23.5},'
             b'{"u":"Cel","t":1.276020091e+09,"v":23.6}]')
    assert resolved(long) == resolved(short) == [
        ("urn:dev:ow:10e2073a01080063", "Cel", 23.5, None, 1276020076.0),
        ("urn:dev:ow:10e2073a01080063", "Cel", 23.6, None, 1276020091.0)]
    # The same shape in the catalog's names: a temperature of this device.
    assert rows([{"bn": f"{BN}temp_c", "u": "Cel", "t": BT, "v": 23.5},
                 {"u": "Cel", "t": BT + 15, "v": 23.6}]) == [
        (NOW, "temp_c", 23.5), (NOW + 15_000, "temp_c", 23.6)]


# --- §4.1, §4.5: base fields, names, units, times, values ---------------------------------

def test_4_1_base_fields_apply_to_later_records_until_the_next_one_sets_them() -> None:
    pack = [{"bn": BN, "bt": BT, "bu": "Cel", "bv": 10, "n": "temp_c", "v": 8.5},
            {"n": "temp_c", "t": 60, "v": 9},
            {"bt": BT - 600, "bu": "K", "bv": 273, "n": "temp_c", "v": 18.25},
            {"n": "temp_c", "u": "Cel", "t": 60, "v": 1}]
    assert rows(pack) == [(NOW, "temp_c", 18.5), (NOW + 60_000, "temp_c", 19.0),
                          (NOW - 600_000, "temp_c", 18.1), (NOW - 540_000, "temp_c", 274.0)]


def test_4_5_1_names_use_the_rfc_characters_and_name_this_device() -> None:
    assert "RFC 8428 §4.5.1" in refused([{"bn": BN, "bt": BT, "n": "temp c", "v": 1}])
    assert "RFC 8428 §4.5.1" in refused([{"bt": BT, "n": "_temp_c", "v": 1}])
    assert "belongs to 'hl-other'" in refused(
        [{"bn": "urn:dev:homeloop:hl-other:", "bt": BT, "n": "temp_c", "v": 1}])
    assert "names the device but no metric" in refused([{"bn": BN, "bt": BT, "v": 1}])
    # The topic names the device: a bare metric is this device's.
    assert rows([{"bt": BT, "n": "temp_c", "v": 1}]) == [(NOW, "temp_c", 1.0)]
    assert rows([{"bn": f"x/{DEV}/", "bt": BT, "n": "temp_c", "v": 2}]) == [
        (NOW, "temp_c", 2.0)]


def test_4_5_2_without_a_unit_the_catalog_says_it() -> None:
    assert rows([{"bn": BN, "bt": BT, "n": "flow_l", "v": 2.5}]) == [(NOW, "flow_l", 2.5)]
    reason = refused([{"bn": BN, "bt": BT, "n": "temp_c", "u": "degF", "v": 70}])
    assert "unit 'degF' for 'temp_c'" in reason
    assert "neither a SenML unit (RFC 8428 §12.1) nor an RFC 8798 secondary unit" in reason


def test_4_5_3_times_relative_to_now_need_the_packs_sequence() -> None:
    clockless = [{"bn": BN, "n": "temp_c", "t": -60, "v": 18.0}, {"n": "temp_c", "v": 18.5}]
    reason = refused(clockless)
    assert "relative to now (RFC 8428 §4.5.3)" in reason and "'hl_seq'" in reason
    numbered = [{**clockless[0], "hl_seq": 41}, clockless[1]]
    first_receipt = NOW - 5_000
    assert rows(numbered, anchor=first_receipt) == [
        (first_receipt - 60_000, "temp_c", 18.0), (first_receipt, "temp_c", 18.5)]
    assert "belongs on the pack's first record" in refused(
        [clockless[0], {**clockless[1], "hl_seq": 41}])
    assert "'hl_seq' must be an integer" in refused([{**clockless[0], "hl_seq": "41"}])
    assert "'hl_seq' must be an integer" in refused([{**clockless[0], "hl_seq": -1}])


def test_4_5_3_a_relative_time_that_reaches_2_28_is_absolute() -> None:
    # "care must be taken to ensure that the sum does not inadvertently reach 2**28"
    pack = [{"bn": BN, "bt": 2**28 - 10, "n": "temp_c", "t": 20, "v": 1, "hl_seq": 1}]
    with pytest.raises(PayloadError, match="older than the accepted backlog"):
        convert(f"tags/{DEV}/readings", json.dumps(pack).encode(), NOW, Limits())


def test_4_5_4_base_value_and_value_add_up_and_so_do_base_sum_and_sum() -> None:
    assert resolved([{"bn": "a:", "bv": 100, "bs": 5, "n": "x", "v": 1},
                     {"n": "x", "s": 2}, {"n": "x", "v": 3}]) == [
        ("a:x", None, 101.0, 5.0, 0.0), ("a:x", None, None, 7.0, 0.0),
        ("a:x", None, 103.0, 5.0, 0.0)]
    assert rows([{"bn": BN, "bt": BT, "bv": 100, "n": "count", "v": 5}]) == [
        (NOW, "count", 105.0)]


# --- §4.2: one value, or a sum ------------------------------------------------------------

def test_4_2_a_record_has_exactly_one_value_unless_it_has_a_sum() -> None:
    assert "has v and vs: exactly one value field (RFC 8428 §4.2)" in refused(
        [{"bn": BN, "bt": BT, "n": "error_code", "v": 1, "vs": "E1"}])
    assert "has no value and no sum (RFC 8428 §4.2)" in refused(
        [{"bn": BN, "bt": BT, "n": "temp_c"}])
    assert rows([{"bn": BN, "bt": BT, "n": "runtime_h", "s": 12.5}]) == [
        (NOW, "runtime_h", 12.5)]


# --- §4.3, §5: labels and their JSON types ------------------------------------------------

@pytest.mark.parametrize(("record", "expected"), [
    ({"bn": 42, "n": "temp_c", "v": 1}, "Expected `str | null`, got `int` - at `$[0].bn`"),
    ({"bn": BN, "bt": "noon", "n": "temp_c", "v": 1}, "Expected `float | null`, got `str`"),
    ({"bn": BN, "bt": BT, "n": "door_open", "vb": "true"}, "Expected `bool | null`"),
    ({"bn": BN, "bt": BT, "bver": 10.5, "n": "temp_c", "v": 1}, "Expected `int | null`"),
])
def test_4_3_each_label_has_its_json_type(record: dict[str, Any], expected: str) -> None:
    assert expected in refused([record])


def test_5_json_is_an_array_of_objects_in_utf_8() -> None:
    assert "not a SenML pack" in refused(b'[1, 2]')
    assert "not valid JSON" in refused(b'[{"bn": "x", "v": NaN}]')
    assert "not valid UTF-8" in refused(b'[{"n": "\xff"}]')
    assert "holds no records" in refused(b"[]")
    # Any IEEE double (§5): the largest finite one is a temperature like any other.
    assert rows([{"bn": BN, "bt": BT, "n": "temp_c", "v": 1.7976931348623157e308}]) == [
        (NOW, "temp_c", 1.7976931348623157e308)]
    # Base time with better than millisecond precision: times are kept to the millisecond.
    assert rows([{"bn": BN, "bt": BT + 0.0014, "n": "temp_c", "v": 1}])[0][0] == NOW + 1


def test_5_data_values_are_base64url_without_padding() -> None:
    pack = [{"bn": BN, "bt": BT, "n": "diagnostics", "vd": "aGkgCg"}]
    state = stored(pack).states[0]
    assert (state.key, state.value) == ("diagnostics", "aGkgCg")
    assert resolved(pack)[0][2] == b"hi \n"
    assert "not base64url without padding" in refused([{**pack[0], "vd": "aGkgCg=="}])
    assert "not base64url without padding" in refused([{**pack[0], "vd": "aGk+Cg"}])


# --- §4.4: extensibility and versions -------------------------------------------------------

def test_4_4_unknown_fields_are_ignored() -> None:
    pack = [{"bn": BN, "bt": BT, "bfoo": "x", "n": "temp_c", "v": 18.5, "foo": [1, {"a": 2}],
             "Location": "kitchen"}]
    assert rows(pack) == [(NOW, "temp_c", 18.5)]


def test_4_4_unknown_fields_ending_in_underscore_are_refused() -> None:
    reason = refused([{"bn": BN, "bt": BT, "n": "temp_c", "v": 18.5, "unit_scale_": 10}])
    assert "SenML field 'unit_scale_' must be understood" in reason
    assert "RFC 8428 §4.4" in reason


@pytest.mark.parametrize("version", [5, 10, 26])
def test_4_4_versions_understood(version: int) -> None:
    # 5: the RFC's own example (§5.1.2); 26: 10 plus secondary units (RFC 9100, RFC 8798).
    assert rows([{"bn": BN, "bt": BT, "bver": version, "n": "temp_c", "v": 1}]) == [
        (NOW, "temp_c", 1.0)]


@pytest.mark.parametrize("version", [0, 11, 42, 1024 + 10])
def test_4_4_versions_not_understood_are_not_used(version: int) -> None:
    assert f"unsupported SenML version bver={version}" in refused(
        [{"bn": BN, "bt": BT, "bver": version, "n": "temp_c", "v": 1}])


def test_4_4_one_version_per_pack() -> None:
    assert "version 26 differs from the pack's 10" in refused(
        [{"bn": BN, "bt": BT, "n": "temp_c", "v": 1}, {"bver": 26, "n": "temp_c", "v": 2}])


# --- §4.6 and §5.1: the RFC's examples --------------------------------------------------------

EX_5_1_2_NOW = b"""[
  {"bn":"urn:dev:ow:10e2073a01080063:","n":"voltage","u":"V","v":120.1},
  {"n":"current","u":"A","v":1.2}
]"""

EX_5_1_2 = b"""[
     {"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
      "bu":"A","bver":5,
      "n":"voltage","u":"V","v":120.1},
     {"n":"current","t":-5,"v":1.2},
     {"n":"current","t":-4,"v":1.3},
     {"n":"current","t":-3,"v":1.4},
     {"n":"current","t":-2,"v":1.5},
     {"n":"current","t":-1,"v":1.6},
     {"n":"current","v":1.7}
   ]"""

EX_5_1_3 = b"""[
     {"bn":"urn:dev:ow:10e2073a01080063","bt":1.320067464e+09,
      "bu":"%RH","v":20},
     {"u":"lon","v":24.30621},
     {"u":"lat","v":60.07965},
     {"t":60,"v":20.3},
     {"u":"lon","t":60,"v":24.30622},
     {"u":"lat","t":60,"v":60.07965},
     {"t":120,"v":20.7},
     {"u":"lon","t":120,"v":24.30623},
     {"u":"lat","t":120,"v":60.07966},
     {"u":"%EL","t":150,"v":98},
     {"t":180,"v":21.2},
     {"u":"lon","t":180,"v":24.30628},
     {"u":"lat","t":180,"v":60.07967}
   ]"""

EX_5_1_4 = b"""[
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067464e+09,
      "v":20},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067464e+09,
      "v":24.30621},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067464e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067524e+09,
      "v":20.3},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067524e+09,
      "v":24.30622},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067524e+09,
      "v":60.07965},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067584e+09,
      "v":20.7},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067584e+09,
      "v":24.30623},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067584e+09,
      "v":60.07966},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%EL","t":1.320067614e+09,
      "v":98},
     {"n":"urn:dev:ow:10e2073a01080063","u":"%RH","t":1.320067644e+09,
      "v":21.2},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lon","t":1.320067644e+09,
      "v":24.30628},
     {"n":"urn:dev:ow:10e2073a01080063","u":"lat","t":1.320067644e+09,
      "v":60.07967}
   ]"""


def test_5_1_2_multiple_data_points() -> None:
    assert resolved(EX_5_1_2_NOW) == [
        ("urn:dev:ow:10e2073a01080063:voltage", "V", 120.1, None, 0.0),
        ("urn:dev:ow:10e2073a01080063:current", "A", 1.2, None, 0.0)]
    assert "relative to now" in refused(EX_5_1_2_NOW, dev=OW)  # no clock and no sequence
    bt = 1.276020076001e+09
    assert resolved(EX_5_1_2) == [
        ("urn:dev:ow:10e2073a0108006:voltage", "V", 120.1, None, bt),
        *[("urn:dev:ow:10e2073a0108006:current", "A", v, None, bt + t)
          for t, v in ((-5, 1.2), (-4, 1.3), (-3, 1.4), (-2, 1.5), (-1, 1.6), (0, 1.7))]]
    assert "unknown metric 'voltage'" in refused(
        EX_5_1_2, dev="10e2073a0108006", now=1_276_020_076_001)
    # The same pack in the catalog's names: a base unit, a version, relative record times.
    ours = [{"bn": BN, "bt": BT + 0.001, "bu": "l", "bver": 5, "n": "weight_g", "u": "g",
             "v": 120.1}, *[{"n": "flow_l", "t": -k, "v": 1.2 + (5 - k) / 10}
                            for k in (5, 4, 3, 2, 1, 0)]]
    assert rows(ours) == [(NOW + 1, "weight_g", 120.1), *[
        (NOW + 1 - k * 1000, "flow_l", 1.2 + (5 - k) / 10) for k in (5, 4, 3, 2, 1, 0)]]


def test_5_1_3_and_5_1_4_a_pack_resolves_to_the_rfcs_resolved_records() -> None:
    assert resolved(EX_5_1_3) == resolved(EX_5_1_4)
    assert len(resolved(EX_5_1_4)) == 13
    assert "names the device but no metric" in refused(EX_5_1_3, dev=OW)
    # In the catalog's names: temperature, battery at 150 s (the RFC's %EL), bare names.
    ours = [{"bn": f"urn:dev:homeloop:{DEV}/", "bt": BT, "bu": "Cel", "n": "temp_c",
             "v": 20}, {"n": "temp_c", "t": 60, "v": 20.3},
            {"n": "battery", "u": "%EL", "t": 150, "v": 98}]
    assert rows(ours) == [(NOW, "temp_c", 20.0), (NOW + 60_000, "temp_c", 20.3),
                          (NOW + 150_000, "battery", 98.0)]


def test_5_1_5_multiple_data_types() -> None:
    example = b"""[
    {"bn":"urn:dev:ow:10e2073a01080063:","n":"temp","u":"Cel","v":23.1},
    {"n":"label","vs":"Machine Room"},
    {"n":"open","vb":false},
    {"n":"nfv-reader","vd":"aGkgCg"}
  ]"""
    assert [(name, value) for name, _, value, _, _ in resolved(example)] == [
        (f"urn:dev:ow:{OW}:temp", 23.1), (f"urn:dev:ow:{OW}:label", "Machine Room"),
        (f"urn:dev:ow:{OW}:open", False), (f"urn:dev:ow:{OW}:nfv-reader", b"hi \n")]
    numbered = json.loads(example)
    numbered[0]["hl_seq"] = 1
    assert "unknown metric 'temp'" in refused(numbered, dev=OW)
    # In the catalog's names: a number, an error code (a fault), a door switch, bytes.
    ours = stored([{"bn": BN, "bt": BT, "n": "temp_c", "u": "Cel", "v": 23.1},
                   {"n": "error_code", "vs": "E12"}, {"n": "door_open", "vb": False},
                   {"n": "diagnostics", "vd": "aGkgCg"}], kind="events")
    assert ours.readings.rows == [(NOW, "temp_c", 23.1)]
    assert [(e.ts_ms, e.kind, e.data) for e in ours.events] == [(NOW, "fault", {"code": "E12"})]
    assert [(s.ts_ms, s.key, s.value) for s in ours.states] == [
        (NOW, "door_open", False), (NOW, "diagnostics", "aGkgCg")]


def test_5_1_6_a_collection_of_resources_from_two_devices() -> None:
    example = b"""[
     {"bn":"2001:db8::2/","bt":1.320078429e+09,
      "n":"temperature","u":"Cel","v":25.2},
     {"n":"humidity","u":"%RH","v":30},
     {"bn":"2001:db8::1/","n":"temperature","u":"Cel","v":12.3},
     {"n":"humidity","u":"%RH","v":67}
   ]"""
    # "the last record would use the Base Name from the 3rd record but the Base Time from
    # the first record"
    assert resolved(example) == [
        ("2001:db8::2/temperature", "Cel", 25.2, None, 1320078429.0),
        ("2001:db8::2/humidity", "%RH", 30.0, None, 1320078429.0),
        ("2001:db8::1/temperature", "Cel", 12.3, None, 1320078429.0),
        ("2001:db8::1/humidity", "%RH", 67.0, None, 1320078429.0)]
    assert "unknown metric 'temperature'" in refused(example, dev="2001:db8::2",
                                                     now=1_320_078_429_000)
    # A tag's topic is its own: another device's records refuse the pack.
    ours = [{"bn": f"{DEV}/", "bt": BT, "n": "temp_c", "v": 25.2},
            {"bn": "hl-neighbour/", "n": "temp_c", "v": 12.3}]
    assert "belongs to 'hl-neighbour'" in refused(ours)


def test_5_1_7_actuator_packs_are_read_but_set_nothing() -> None:
    thermostat = b"""[
     {"bn":"urn:dev:ow:10e2073a01080063:"},
     {"n":"temp","u":"Cel","v":23.1},
     {"n":"heat","u":"/","v":1},
     {"n":"fan","u":"/","v":0}
   ]"""
    # The first record sets the base name and nothing else: it resolves to no record.
    assert resolved(thermostat) == [(f"urn:dev:ow:{OW}:temp", "Cel", 23.1, None, 0.0),
                                    (f"urn:dev:ow:{OW}:heat", "/", 1.0, None, 0.0),
                                    (f"urn:dev:ow:{OW}:fan", "/", 0.0, None, 0.0)]
    assert "relative to now" in refused(thermostat, dev=OW)
    lights = b"""[
     {"bt":1.320078429e+09,"bu":"/","n":"2001:db8::3","v":0.5},
     {"n":"2001:db8::4","v":0.5},
     {"n":"2001:db8::3","t":0.1,"v":0},
     {"n":"2001:db8::4","t":0.1,"v":0}
   ]"""
    assert resolved(lights) == [("2001:db8::3", "/", 0.5, None, 1320078429.0),
                                ("2001:db8::4", "/", 0.5, None, 1320078429.0),
                                ("2001:db8::3", "/", 0.0, None, 1320078429.1),
                                ("2001:db8::4", "/", 0.0, None, 1320078429.1)]
    assert "names the device but no metric" in refused(lights, dev="2001:db8::3")


# --- §6: CBOR -----------------------------------------------------------------------------------

EX_6_DUMP = """\
 0000 87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a |..!x.urn:dev:ow:|
 0010 31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a |10e2073a0108006:|
 0020 22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00 |".A...[..b#aA ..|
 0030 67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06 |gvoltage.aV..@^.|
 0040 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06 |fffff..gcurrent.|
 0050 24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75 |$..?.333333..gcu|
 0060 72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc |rrent.#..?......|
 0070 cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f |...gcurrent."..?|
 0080 f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e |.ffffff..gcurren|
 0090 74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e |t.!..>...gcurren|
 00a0 74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67 |t. ..?.........g|
 00b0 63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33 |current....?.333|
 00c0 33 33 33                                        |333|
"""
EX_6_CBOR = bytes.fromhex("".join(line[5:53] for line in EX_6_DUMP.splitlines()))


def test_6_the_rfcs_cbor_example_is_its_json_example() -> None:
    assert len(EX_6_CBOR) == 0xC3  # the dump ends at 00c3
    assert resolved(senml.decode_cbor(EX_6_CBOR)) == resolved(EX_5_1_2)
    assert "unknown metric 'voltage'" in refused(EX_6_CBOR, dev="10e2073a0108006",
                                                 now=1_276_020_076_001)


def _cbor_pack(device: str = DEV) -> list[dict[int | str, Any]]:
    return [{-2: f"urn:dev:homeloop:{device}:", -3: BT, -4: "Cel", 0: "temp_c", 2: 18.5},
            {0: "temp_c", 6: 60, 2: cbor2.CBORTag(4, [-2, 1925])},  # 19.25 as a decimal
            {0: "error_code", 3: "E12", 6: 90},
            {0: "diagnostics", 8: b"hi \n", 6: 90}]


def test_6_cbor_with_integer_labels_decimal_fractions_and_byte_strings() -> None:
    expected = [(NOW, "temp_c", 18.5), (NOW + 60_000, "temp_c", 19.25)]
    for content_type in ("application/senml+cbor", None, "application/sensml+cbor"):
        pack = stored(cbor2.dumps(_cbor_pack()), content_type=content_type)
        assert pack.readings.rows == expected
        assert [(e.kind, e.data) for e in pack.events] == [("fault", {"code": "E12"})]
        assert [(s.key, s.value) for s in pack.states] == [("diagnostics", "aGkgCg")]
    # Self-described CBOR (RFC 8949 §3.4.6), an indefinite-length array (SensML, §4.8),
    # and text labels for the RFC's fields.
    assert rows(b"\xd9\xd9\xf7" + cbor2.dumps(_cbor_pack())) == expected
    items = b"".join(cbor2.dumps(r) for r in _cbor_pack())
    assert rows(b"\x9f" + items + b"\xff") == expected
    text = [{"bn": BN, "bt": BT, "n": "temp_c", "v": 18.5, 99: "unknown", "ext": 1}]
    assert rows(cbor2.dumps(text)) == [(NOW, "temp_c", 18.5)]


def test_6_cbor_that_is_no_pack_is_refused() -> None:
    pack = cbor2.dumps(_cbor_pack())
    assert "2 bytes after the pack" in refused(pack + b"\x00\x00")
    assert "not valid CBOR" in refused(pack[:-3])
    assert "not valid CBOR" in refused(b"\x81" * 1000 + b"\xa0")  # nesting too deep
    assert "not an array" in refused(cbor2.dumps({"n": "x"}),
                                     content_type="application/senml+cbor")
    assert "record 0 is a CBOR int, not a map" in refused(cbor2.dumps([1]))
    assert "'bn' twice" in refused(cbor2.dumps([{-2: BN, "bn": BN, 0: "temp_c", 2: 1}]))
    assert "vd must be base64url text (JSON) or bytes (CBOR)" in refused(
        cbor2.dumps([{-2: BN, -3: BT, 0: "diagnostics", 8: 17}]))
    assert "not a finite number" in refused(
        cbor2.dumps([{-2: BN, -3: BT, 0: "temp_c", 2: float("nan")}]))
    # The content type decides over the first byte.
    assert "not valid UTF-8" in refused(pack, content_type="application/senml+json")
    assert "not a SenML pack" in refused(b'{"ts": 1}', content_type="application/senml+json")
    assert "content type 'text/csv' is not one the gateway reads" in refused(
        b"1,2", content_type="text/csv")


def test_the_content_type_decides_whatever_its_parameters_and_case() -> None:
    compact = b'{"ts": %d, "m": {"temp_c": 18.5}}' % NOW
    assert "not a SenML pack" in refused(
        compact, content_type="Application/SenML+JSON; charset=utf-8")
    item = convert(f"tags/{DEV}/readings", compact, NOW, OLD, "application/json; charset=utf-8")
    assert not isinstance(item, SenmlPack) and item.device_id == DEV


# --- §10: sums ------------------------------------------------------------------------------------

def test_10_a_cumulative_metric_stores_its_sum() -> None:
    # A motor's switch ("/", 1 when on) integrated over time is the seconds it ran.
    assert rows([{"bn": BN, "bt": BT, "n": "runtime_h", "u": "/", "v": 1, "s": 7200}]) == [
        (NOW, "runtime_h", 2.0)]
    assert rows([{"bn": BN, "bt": BT, "bs": 100, "n": "runtime_h", "s": 2.5}]) == [
        (NOW, "runtime_h", 102.5)]


def test_10_an_interval_metric_takes_sums_as_running_totals() -> None:
    pack = stored([{"bn": BN, "bt": BT, "n": "flow_l", "u": "l/s", "v": 0.02, "s": 1234.5},
                   {"n": "flow_l", "u": "m3/s", "t": 60, "s": 1.2365}])
    assert pack.readings.rows == []  # the differences come from the store (sums.py)
    assert pack.sums == [(NOW, "flow_l", 1234.5), (NOW + 60_000, "flow_l", 1236.5)]


def test_10_sums_follow_the_rfcs_units_and_the_catalog() -> None:
    reason = refused([{"bn": BN, "bt": BT, "n": "flow_l", "u": "l", "s": 1234.5}])
    assert "unit 'l' for 'flow_l'" in reason
    assert "a sum is in the record's unit times seconds (RFC 8428 §4.2)" in reason
    assert "'count' takes no sum" in refused([{"bn": BN, "bt": BT, "n": "count", "s": 3}])
    assert "RFC 8428 §10" in refused([{"bn": BN, "bt": BT, "n": "count", "s": 3}])
    # A value beside a sum of a metric that takes none is the reading; the sum is not.
    assert rows([{"bn": BN, "bt": BT, "n": "temp_c", "v": 18, "s": 3600}]) == [
        (NOW, "temp_c", 18.0)]


# --- §12.1 and RFC 8798: units --------------------------------------------------------------------

def test_12_1_percent_is_a_ratio_not_a_percentage() -> None:
    assert rows([{"bn": BN, "bt": BT, "n": "battery", "u": "%", "v": 0.87}]) == [
        (NOW, "battery", 87.0)]
    assert rows([{"bn": BN, "bt": BT, "n": "level", "u": "%", "v": 0.42}]) == [
        (NOW, "level", 0.42)]
    reason = refused([{"bn": BN, "bt": BT, "n": "battery", "u": "%", "v": 87}])
    assert "'battery' 8700 %EL is outside 0..100" in reason
    assert "'%' is a ratio in SenML, not a percentage (RFC 8428 §12.1 Note 2)" in reason


@pytest.mark.parametrize(("metric", "unit", "value", "expected"), [
    ("temp_c", "K", 291.4, 18.25),       # exactly: not 18.249999999999977
    ("temp_c", "K", 0, -273.15),
    ("weight_g", "kg", 1.1, 1100.0),
    ("flow_l", "m3", 0.0123, 12.3),
    ("flow_l", "l", 2.5, 2.5),
    ("battery", "/", 0.87, 87.0),
    ("level", "%EL", 42, 0.42),
])
def test_12_1_units_of_one_quantity_convert_exactly(metric: str, unit: str, value: float,
                                                    expected: float) -> None:
    assert rows([{"bn": BN, "bt": BT, "n": metric, "u": unit, "v": value}]) == [
        (NOW, metric, expected)]


# What each RFC 8798 secondary unit is, in the catalog's metrics: the metric and the value
# 12.5 of the unit becomes, or None where no metric measures its quantity.
SECONDARY_IN_METRICS: dict[str, tuple[str, float] | None] = {
    "ms": ("runtime_h", 12.5 / 3_600_000), "min": ("runtime_h", 12.5 / 60),
    "h": ("runtime_h", 12.5), "ppm": ("level", 0.0000125), "/100": ("level", 0.125),
    "/1000": ("level", 0.0125),
}


@pytest.mark.parametrize("unit", sorted(SECONDARY))
def test_rfc_8798_secondary_units_convert_exactly_or_are_refused_by_name(unit: str) -> None:
    found = SECONDARY_IN_METRICS.get(unit)
    for metric in ("runtime_h", "level", "temp_c", "flow_l", "weight_g"):
        pack = [{"bn": BN, "bt": BT, "bver": 26, "n": metric, "u": unit, "v": 12.5}]
        if found is not None and found[0] == metric:
            assert rows(pack) == [(NOW, metric, found[1])]
        else:
            assert f"unit {unit!r} for {metric!r}" in refused(pack)
            assert f"unit {unit!r} does not measure what" in refused(pack)


def test_rfc_8798_the_examples_of_its_section_3() -> None:
    # "100 ms ... leading to a quantity of 0.1 s"; in hours that is 0.1 / 3600.
    assert rows([{"bn": BN, "bt": BT, "n": "runtime_h", "u": "ms", "v": 100}]) == [
        (NOW, "runtime_h", 1 / 36_000)]
    assert rows([{"bn": BN, "bt": BT, "n": "battery", "u": "/100", "v": 87}]) == [
        (NOW, "battery", 87.0)]


# --- Strings, booleans and data the catalog does not name ---------------------------------------

@pytest.mark.parametrize(("record", "expected"), [
    ({"n": "colour", "vs": "red"}, "the catalog names no string value 'colour'; known: "),
    ({"n": "door_open", "vs": "yes"}, "'door_open' takes a boolean value, not a string (vs)"),
    ({"n": "error_code", "vb": True}, "'error_code' takes a string value, not a boolean (vb)"),
    ({"n": "level", "vb": True}, "'level' is a number (v); a boolean value (vb) is none"),
    ({"n": "error_code", "vs": "E" * 5000}, "is over 4096 bytes"),
])
def test_values_the_catalog_does_not_name_are_refused(record: dict[str, Any],
                                                      expected: str) -> None:
    assert expected in refused([{"bn": BN, "bt": BT, **record}])


def test_a_numeric_error_code_is_still_a_reading() -> None:
    assert rows([{"bn": BN, "bt": BT, "n": "error_code", "v": 12}]) == [
        (NOW, "error_code", 12.0)]


def test_data_values_are_kept_as_base64url_text() -> None:
    raw = bytes(range(256))
    pack = stored(cbor2.dumps([{-2: BN, -3: BT, 0: "diagnostics", 8: raw}]))
    text = pack.states[0].value
    assert "=" not in text and base64.urlsafe_b64decode(text + "==") == raw
