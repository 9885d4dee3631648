"""The pure converters: what a tag may send, and the reason it is told when it may not."""

from __future__ import annotations

import math

import pytest

from device_gateway.payloads import Event, Limits, Readings, SenmlPack, Status, convert, settle
from homeloop.errors import PayloadError

NOW = 1_764_500_000_000  # 2025-11-30T10:53:20Z
DEV = "hl-abc"
LIMITS = Limits()


def readings(payload: bytes, topic: str = f"tags/{DEV}/readings") -> list[tuple[int, str, float]]:
    item = convert(topic, payload, NOW, LIMITS)
    if isinstance(item, SenmlPack):
        item = settle(item, None, NOW, LIMITS).readings
    assert isinstance(item, Readings)
    assert item.device_id == DEV
    return item.rows


def reason(payload: bytes, topic: str = f"tags/{DEV}/readings") -> str:
    with pytest.raises(PayloadError) as err:
        convert(topic, payload, NOW, LIMITS)
    return err.value.reason


def test_compact_json_with_epoch_ms_and_rfc3339() -> None:
    assert readings(b'{"ts": %d, "seq": 3, "m": {"level": 0.42, "flow_l": 12}}' % NOW) == [
        (NOW, "level", 0.42), (NOW, "flow_l", 12.0)]
    assert readings(b'{"ts": "2025-11-30T10:53:20+00:00", "m": {"temp_c": 18.5}}') == [
        (NOW, "temp_c", 18.5)]


def test_senml_pack_with_base_name_time_unit_and_relative_times() -> None:
    bt = NOW / 1000
    pack = (b'[{"bn": "urn:dev:homeloop:hl-abc:", "bt": %f, "bu": "L", "n": "flow_l", "v": 1.5},'
            b' {"n": "flow_l", "t": 60, "v": 2.5},'
            b' {"n": "temp_c", "u": "Cel", "t": -30, "v": 17.25}]') % bt
    assert readings(pack) == [(NOW, "flow_l", 1.5), (NOW + 60_000, "flow_l", 2.5),
                              (NOW - 30_000, "temp_c", 17.25)]


def test_senml_base_value_is_added() -> None:
    pack = b'[{"bn": "hl-abc:", "bt": %d, "bv": 100, "n": "count", "v": 5}]' % (NOW // 1000)
    assert readings(pack) == [(NOW, "count", 105.0)]


def test_events_and_status() -> None:
    event = convert(f"tags/{DEV}/events",
                    b'{"ts": %d, "kind": "nfc_tap", "data": {"customer_id": 7}}' % NOW, NOW, LIMITS)
    assert event == Event(DEV, NOW, "nfc_tap", {"customer_id": 7})
    assert convert(f"tags/{DEV}/status", b"offline", NOW, LIMITS) == Status(DEV, False)
    assert convert(f"tags/{DEV}/status", b'"online"', NOW, LIMITS) == Status(DEV, True)


@pytest.mark.parametrize(("payload", "expected"), [
    (b"not json", "not valid JSON"),
    (b'{"ts": %d, "m": {"level": "high"}}' % NOW, "metric 'level' must be a number, got str"),
    (b'{"ts": %d, "m": {"level": true}}' % NOW, "metric 'level' must be a number, got bool"),
    (b'{"ts": %d, "m": [0.5]}' % NOW, "Expected `object`, got `array` - at `$.m`"),
    (b'{"ts": %d, "m": {"level": NaN}}' % NOW, "not valid JSON"),
    (b'{"ts": %d, "m": {"level": 1e999}}' % NOW, "Number out of range"),
    (b'{"m": {"level": 0.5}}', "missing required field `ts`"),
    (b'{"ts": %d}' % NOW, "missing required field `m`"),
    (b'{"ts": %d, "m": {}}' % NOW, "holds no metrics"),
    (b'{"ts": %d, "m": {"humidity": 0.5}}' % NOW, "unknown metric 'humidity'"),
    (b'{"ts": %d, "id": "hl-other", "m": {"level": 0.5}}' % NOW, "does not match topic"),
    (b'{"ts": %d, "m": {"level": 0.5}}' % (NOW + 3_600_000), "in the future"),
    (b'{"ts": %d, "m": {"level": 0.5}}' % (NOW - 40 * 86_400_000), "older than the accepted"),
    (b'{"ts": "yesterday", "m": {"level": 0.5}}', "neither epoch milliseconds nor RFC 3339"),
    (b'{"ts": "2025-11-30T10:53:20", "m": {"level": 0.5}}', "no time zone"),
    (b'\xff\xfe{"ts": 1}', "not valid UTF-8"),
    (b'{"ts": %d, "m": {"level": 0.5}, "extra": 1}' % NOW, "unknown field `extra`"),
    (b"[]", "holds no records"),
    (b'[{"bn": "hl-abc:", "n": "level", "v": 0.5}]', "relative to now"),
    (b'[{"bn": "hl-other:", "bt": %d, "n": "level", "v": 0.5}]' % (NOW // 1000),
     "belongs to 'hl-other'"),
    (b'[{"bn": "hl-abc:", "bt": "noon", "n": "level", "v": 0.5}]', "Expected `float"),
    (b'[{"bn": "hl-abc:", "bt": %d, "bver": 99, "n": "level", "v": 0.5}]' % (NOW // 1000),
     "unsupported SenML version"),
    (b'[{"bn": "hl-abc:", "bt": %d, "n": "flow_l", "u": "gal", "v": 1}]' % (NOW // 1000),
     "unit 'gal' for 'flow_l'"),
    (b'[{"bn": "hl-abc:", "bt": %d, "n": "level", "vs": "full"}]' % (NOW // 1000),
     "'level' is a number (v); a string value (vs) is none of its readings"),
    (b'[{"bt": %d, "v": 1}]' % (NOW // 1000), "has no name"),
    (b"x" * (LIMITS.max_payload_bytes + 1), "exceeds the 65536-byte limit"),
])
def test_malformed_readings_are_refused_with_a_reason(payload: bytes, expected: str) -> None:
    assert expected in reason(payload)


def test_bad_topics_and_events() -> None:
    assert "unexpected topic" in reason(b"{}", topic="tags/hl-abc/firmware")
    assert "unexpected topic" in reason(b"{}", topic="other/hl-abc/readings")
    assert "unknown event kind 'explode'" in reason(
        b'{"ts": %d, "kind": "explode"}' % NOW, topic=f"tags/{DEV}/events")
    assert "over 4096 bytes" in reason(
        b'{"ts": %d, "kind": "fault", "data": {"x": "%s"}}' % (NOW, b"y" * 5000),
        topic=f"tags/{DEV}/events")
    assert "'online' or 'offline'" in reason(b"maybe", topic=f"tags/{DEV}/status")


def test_values_stay_finite() -> None:
    for _, _, value in readings(b'{"ts": %d, "m": {"level": 0.5, "count": 3}}' % NOW):
        assert math.isfinite(value)
