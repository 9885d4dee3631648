"""SenML packs through the gateway's own writer into the real database: tags without a clock,
sums of litres, fault codes and device state, each counted once however often it comes.

The writer is the one the gateway runs; messages are handed to it as the broker delivers
them, with the receive times a test states (a redelivery minutes later, a backlog).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import cbor2
import psycopg
import pytest

from device_gateway.gateway import limits_from
from device_gateway.provisioning import Credentials
from device_gateway.writer import BatchWriter, Incoming
from homeloop.settings import Settings
from tests.conftest import count

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def tag(provisioned: Callable[..., list[Credentials]]) -> str:
    return provisioned("WP-500", 1)[0].device_id


@pytest.fixture
def deliver(settings: Settings, db: Conn) -> Iterator[Callable[..., list[str]]]:
    """Hand messages to the gateway's writer as one batch; the dead letters' reasons."""
    writer = BatchWriter(settings.database_url, limits_from(settings))
    mid = iter(range(1, 1_000_000))

    def send(device_id: str, *packs: tuple[float, list[dict[str, Any]] | bytes],
             content_type: str | None = None) -> list[str]:
        typed = {"content_type": content_type} if content_type else {}
        batch = [Incoming(next(mid), f"tags/{device_id}/readings",
                          pack if isinstance(pack, bytes) else json.dumps(pack).encode(), 1,
                          received_at, **typed)
                 for received_at, pack in packs]
        return writer.write(batch).dead_reasons

    yield send
    writer.close()


def readings(db: Conn, device_id: str, metric: str) -> list[tuple[int, float]]:
    return [(int(t.timestamp() * 1000), v) for t, v in db.execute(
        "SELECT time, value FROM readings WHERE device_id = %s AND metric = %s ORDER BY time",
        (device_id, metric)).fetchall()]


def ms(at: datetime, seconds: float = 0) -> int:
    return round((at.timestamp() + seconds) * 1000)


# --- A tag without a clock --------------------------------------------------------------------

def test_a_clockless_tags_pack_keeps_the_times_of_its_first_receipt(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    pack = [{"bn": f"urn:dev:homeloop:{tag}:", "hl_seq": 7, "n": "temp_c", "t": -120, "v": 18},
            {"n": "temp_c", "t": -60, "v": 18.5}, {"n": "temp_c", "v": 19}]
    first = now.timestamp() - 700
    assert deliver(tag, (first, pack)) == []
    # The broker delivers it again five minutes later (the batch's commit was not acked),
    # and twice in one batch after that: the same three readings, at the same times.
    assert deliver(tag, (first + 300, pack)) == []
    assert deliver(tag, (first + 301, pack), (first + 302, pack)) == []
    expected = [(ms(now, -820), 18.0), (ms(now, -760), 18.5), (ms(now, -700), 19.0)]
    assert readings(db, tag, "temp_c") == expected
    assert count(db, "SELECT sum(n) FROM readings_hourly WHERE device_id = %s", tag) == 3
    # The tag's next pack (another number) is new readings, whatever its times say.
    assert deliver(tag, (first + 600, [{**pack[0], "hl_seq": 8}, *pack[1:]])) == []
    assert readings(db, tag, "temp_c") == [
        *expected, (ms(now, -220), 18.0), (ms(now, -160), 18.5), (ms(now, -100), 19.0)]


def test_the_first_receipt_in_a_batch_anchors_every_copy_of_it(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    pack = cbor2.dumps([{-2: f"{tag}:", "hl_seq": 1, 0: "count", 2: 41}])
    assert deliver(tag, (now.timestamp() - 5, pack), (now.timestamp() - 9, pack)) == []
    assert readings(db, tag, "count") == [(ms(now, -9), 41.0)]


def test_a_clockless_pack_without_a_sequence_is_a_dead_letter(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    [reason] = deliver(tag, (now.timestamp(), [{"bn": f"{tag}:", "n": "temp_c", "v": 18}]))
    assert "relative to now (RFC 8428 §4.5.3)" in reason and "'hl_seq'" in reason
    assert count(db, "SELECT count(*) FROM readings") == 0
    assert count(db, "SELECT count(*) FROM dead_letters WHERE reason = %s", reason) == 1


# --- Sums of litres -------------------------------------------------------------------------

def test_a_filters_litres_reported_as_sums_reach_the_timeline_once(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    bt = now.timestamp() - 600

    def pack(*sums: tuple[int, float]) -> list[dict[str, Any]]:
        return [{"bn": f"urn:dev:homeloop:{tag}:", "bt": bt, "bu": "l/s"},
                *({"n": "flow_l", "t": t, "s": s} for t, s in sums)]

    t = now.timestamp()
    assert deliver(tag, (t, pack((0, 1000), (60, 1002.5), (120, 1004)))) == []
    assert deliver(tag, (t + 1, pack((0, 1000), (60, 1002.5), (120, 1004)))) == []  # again
    assert deliver(tag, (t + 2, pack((-120, 995), (-60, 998)))) == []  # the tag's backlog
    assert deliver(tag, (t + 3, pack((90, 1003.5)))) == []  # late, between counted sums
    assert deliver(tag, (t + 4, pack((180, 3)))) == []  # the tag's counter was reset
    at = round(bt * 1000)
    assert readings(db, tag, "flow_l") == [
        (at - 60_000, 3.0), (at, 2.0), (at + 60_000, 2.5), (at + 120_000, 1.5),
        (at + 180_000, 3.0)]
    # From 995 to 1004 litres, then 3 after the reset: 12 litres, counted once in the
    # rollups the forecasts read.
    assert count(db, "SELECT sum(total) FROM readings_daily WHERE device_id = %s", tag) == 12


def test_sums_of_a_cumulative_metric_are_its_readings(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    pack = [{"bn": f"{tag}:", "bt": now.timestamp() - 60, "n": "runtime_h", "u": "/",
             "v": 1, "s": 5400}]
    assert deliver(tag, (now.timestamp(), pack)) == []
    assert readings(db, tag, "runtime_h") == [(ms(now, -60), 1.5)]


# --- Strings, booleans, data ------------------------------------------------------------------

def test_error_codes_are_fault_events_and_switches_are_the_devices_state(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    t = now.timestamp()
    bn = f"urn:dev:homeloop:{tag}:"
    assert deliver(tag, (t, [{"bn": bn, "bt": t - 120, "n": "error_code", "vs": "E12"},
                             {"n": "door_open", "vb": True},
                             {"n": "firmware", "vs": "1.4.2"},
                             {"n": "diagnostics", "vd": "aGkgCg"}]),
                   (t, [{"bn": bn, "bt": t - 60, "n": "door_open", "vb": False}])) == []
    # A backlog pack from ten minutes ago arrives last: the door stays closed.
    assert deliver(tag, (t + 1, [{"bn": bn, "bt": t - 600, "n": "door_open", "vb": True}])) == []
    events = db.execute("SELECT time, kind, data FROM events WHERE device_id = %s",
                        (tag,)).fetchall()
    assert [(int(e[0].timestamp() * 1000), e[1], e[2]) for e in events] == [
        (ms(now, -120), "fault", {"code": "E12"})]
    state = {k: (v, int(at.timestamp() * 1000)) for k, v, at in db.execute(
        "SELECT key, value, at FROM device_state WHERE device_id = %s", (tag,)).fetchall()}
    assert state == {"door_open": (False, ms(now, -60)), "firmware": ("1.4.2", ms(now, -120)),
                     "diagnostics": ("aGkgCg", ms(now, -120))}


def test_a_pack_with_a_value_the_catalog_does_not_name_is_a_dead_letter_whole(
        deliver: Callable[..., list[str]], tag: str, db: Conn, now: datetime) -> None:
    pack = [{"bn": f"{tag}:", "bt": now.timestamp(), "n": "temp_c", "v": 18},
            {"n": "colour", "vs": "red"}]
    [reason] = deliver(tag, (now.timestamp(), pack))
    assert "record 1: the catalog names no string value 'colour'" in reason
    assert count(db, "SELECT count(*) FROM readings") == 0
    raw = db.execute("SELECT payload FROM dead_letters").fetchone()
    assert raw is not None and json.loads(bytes(raw[0])) == pack  # kept as it came
