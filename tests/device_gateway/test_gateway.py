"""Tags to timelines on the real broker and database, with a real gateway process."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from device_gateway.provisioning import Credentials
from homeloop import services
from homeloop.settings import Settings
from tests.conftest import Device, GatewayProcess, count, now_ms, wait_for

pytestmark = pytest.mark.real_clock(
    "the gateway is another process, on the machine's clock, and judges readings' age by it")

Conn = psycopg.Connection[tuple[Any, ...]]


def test_a_reading_reaches_the_timeline_and_duplicates_are_stored_once(
        gateway: GatewayProcess, device: Any, db: Conn) -> None:
    tag: Device = device("WP-500")
    ts = now_ms()
    for _ in range(3):  # a tag retrying the same report
        tag.publish({"ts": ts, "seq": 1, "m": {"flow_l": 1.25, "temp_c": 18.0}})
    tag.publish({"ts": ts + 1000, "seq": 2, "m": {"flow_l": 0.75}})
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") == 3, what="3 readings")
    rows = db.execute("SELECT metric, value FROM readings WHERE device_id = %s "
                      "ORDER BY time, metric", (tag.id,)).fetchall()
    assert rows == [("flow_l", 1.25), ("temp_c", 18.0), ("flow_l", 0.75)]
    hourly = db.execute("SELECT sum(n), sum(total) FROM readings_hourly "
                        "WHERE device_id = %s AND metric = 'flow_l'", (tag.id,)).fetchone()
    assert hourly == (2, 2.0)  # the rollup counted the duplicate once too


def test_senml_packs_store_every_record(gateway: GatewayProcess, device: Any, db: Conn) -> None:
    tag: Device = device("CM-100")
    bt = now_ms() / 1000 - 600
    pack = [{"bn": f"urn:dev:homeloop:{tag.id}:", "bt": bt, "n": "count", "v": 100 + i,
             "t": i * 60} for i in range(10)]
    tag.publish(pack)
    tag.publish(pack)  # redelivered
    wait_for(lambda: count(db, "SELECT count(*) FROM readings WHERE metric = 'count'") == 10,
             what="10 SenML readings")
    assert count(db, "SELECT max(value) FROM readings") == 109


def test_senml_in_cbor_and_json_with_the_rfcs_extensions(gateway: GatewayProcess, device: Any,
                                                         db: Conn) -> None:
    """Constrained tags send CBOR (RFC 8428 §6), told by the MQTT 5 content type or by the
    first byte; fields the gateway does not know are ignored, unless they end in '_'."""
    import cbor2

    tag: Device = device("WP-500")
    bt = now_ms() / 1000 - 60
    bn = f"urn:dev:homeloop:{tag.id}:"
    tag.publish(cbor2.dumps([{-2: bn, -3: bt, 0: "temp_c", 1: "K", 2: 291.4}]),
                content_type="application/senml+cbor")
    tag.publish(cbor2.dumps([{-2: bn, -3: bt, 0: "battery", 1: "/100", 2: 87}]))
    tag.publish([{"bn": bn, "bt": bt, "n": "flow_l", "v": 1.5, "vendor": {"fw": "2.1"}}],
                content_type="application/senml+json")
    tag.publish([{"bn": bn, "bt": bt, "n": "level", "v": 0.5, "calibrated_": True}])
    tag.publish([{"bn": bn, "bt": bt, "n": "error_code", "vs": "E12"}], kind="events")
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") == 3
             and count(db, "SELECT count(*) FROM dead_letters") == 1
             and count(db, "SELECT count(*) FROM events") == 1, what="3 readings, 1 event "
             "and the dead letter")
    assert dict(db.execute("SELECT metric, value FROM readings").fetchall()) == {
        "temp_c": 18.25, "battery": 87.0, "flow_l": 1.5}
    assert db.execute("SELECT kind, data FROM events").fetchone() == ("fault", {"code": "E12"})
    reason = db.execute("SELECT reason FROM dead_letters").fetchone()
    assert reason is not None and "SenML field 'calibrated_' must be understood" in reason[0]


def test_a_tag_without_a_clock_retrying_its_pack_is_counted_once(
        gateway: GatewayProcess, device: Any, db: Conn) -> None:
    tag: Device = device("CM-100")
    pack = [{"bn": f"urn:dev:homeloop:{tag.id}:", "hl_seq": 3, "n": "count", "t": -60, "v": 41},
            {"n": "count", "v": 42}]
    before = now_ms()
    tag.publish(pack).wait_for_publish(5)
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") == 2, what="the pack")
    after = now_ms()
    tag.publish(pack).wait_for_publish(5)  # the tag got no PUBACK and sends it again
    tag.publish([{**pack[0], "hl_seq": 4, "v": 43}]).wait_for_publish(5)
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") == 3, what="the next pack")
    times = [int(t.timestamp() * 1000) for (t,) in db.execute(
        "SELECT time FROM readings WHERE value IN (41, 42) ORDER BY time").fetchall()]
    assert len(times) == 2 and times[1] - times[0] == 60_000
    assert before <= times[1] <= after  # the first receipt's "now"


MALFORMED: list[tuple[str, bytes, str]] = [
    ("readings", b"not json at all", "not valid JSON"),
    ("readings", b'{"ts": %d, "m": {"level": "full"}}', "must be a number"),
    ("readings", b'{"ts": %d, "m": {"level": NaN}}', "not valid JSON"),
    ("readings", b'{"ts": %d, "m": {"level": 1e400}}', "out of range"),
    ("readings", b'{"m": {"level": 0.5}}', "missing required field `ts`"),
    ("readings", b"{" + b" " * (1024 * 1024) + b"}", "exceeds the 65536-byte limit"),
    ("readings", b'{"ts": %d, "m": {"humidity": 0.5}}', "unknown metric"),
    ("readings", b'{"ts": %d, "id": "hl-someoneelse", "m": {"level": 0.5}}',
     "does not match topic"),
    ("readings", b'{"ts": 4102444800000, "m": {"level": 0.5}}', "in the future"),
    ("readings", b'[{"bn": "hl-wrong:", "bt": 1764500000, "n": "level", "v": 1}]',
     "belongs to 'hl-wrong'"),
    ("readings", b'[{"bn": 42, "n": "level", "v": 1}]', "Expected `str"),
    ("readings", b'\xc3\x28{"ts": 1}', "not valid UTF-8"),
    ("events", b'{"ts": %d, "kind": "teleport"}', "unknown event kind"),
    ("status", b"sleepy", "'online' or 'offline'"),
]


def test_malformed_messages_become_dead_letters_while_valid_traffic_flows(
        gateway: GatewayProcess, device: Any, db: Conn) -> None:
    tag: Device = device("DW-60")
    base = now_ms()
    for i, (kind, payload, _) in enumerate(MALFORMED):
        tag.publish({"ts": base + i, "m": {"level": 0.5}})
        tag.publish(payload.replace(b"%d", str(base).encode()), kind=kind)
    tag.publish({"ts": base + 999, "m": {"level": 0.4}})
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters") == len(MALFORMED)
             and count(db, "SELECT count(*) FROM readings") == len(MALFORMED) + 1,
             what="every dead letter and every valid reading")
    letters = db.execute("SELECT topic, payload, payload_size, reason FROM dead_letters "
                         "ORDER BY id").fetchall()
    for (kind, payload, expected), (topic, raw, size, reason) in zip(MALFORMED, letters,
                                                                     strict=True):
        assert topic == f"tags/{tag.id}/{kind}"
        assert expected in reason, (payload[:60], reason)
        sent = payload.replace(b"%d", str(base).encode())
        assert size == len(sent)
        assert bytes(raw) == sent[:64 * 1024]  # raw bytes kept (large ones cut at 64 KiB)
    assert gateway.proc is not None and gateway.proc.poll() is None  # still running


def test_a_device_cannot_publish_as_another(gateway: GatewayProcess, device: Any,
                                           provisioned: Any, db: Conn) -> None:
    mallory: Device = device("WP-500")
    victim: Credentials = provisioned("WP-500", 1)[0]
    info = mallory.publish({"ts": now_ms(), "m": {"flow_l": 999}},
                           topic=f"tags/{victim.device_id}/readings")
    info.wait_for_publish(5)
    wait_for(lambda: info.mid in mallory.acks, what="the broker's answer")
    assert mallory.acks[info.mid] == 135  # MQTT 5 reason code: Not authorized
    # paho drops the connection after a refused publish and reconnects by itself; the drop
    # may come after is_connected() last said yes, so publish until the broker takes it (the
    # same reading each time: stored once).
    own = {"ts": now_ms(), "m": {"flow_l": 1}}

    def published() -> bool:
        if not mallory.client.is_connected():
            return False
        try:
            mallory.publish(own).wait_for_publish(5)
        except RuntimeError:  # the drop came in between
            return False
        return True
    wait_for(published, what="mallory to reconnect and publish its own reading")
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") == 1, what="mallory's own")
    assert count(db, "SELECT count(*) FROM readings WHERE device_id = %s", victim.device_id) == 0


def test_revoking_a_device_cuts_it_off_without_a_broker_restart(
        settings: Settings, device: Any, db: Conn) -> None:
    from device_gateway.provisioning import revoke, sync_broker

    tag: Device = device("LD-DISP")
    pid_before = settings.broker_pid_file.read_text()
    with psycopg.connect(settings.database_url) as conn:
        revoke(conn, tag.id)
        conn.commit()
        sync_broker(conn, settings)
    assert tag.disconnected.wait(10), "the broker kept the revoked device connected"
    again = Device(settings, tag.creds)
    again.client.connect("127.0.0.1", settings.mqtt_port)
    again.client.loop_start()
    wait_for(lambda: again.refused, what="the broker to refuse the revoked device")
    again.client.loop_stop()
    assert "Not authorized" in again.refused[0] or "Bad user name" in again.refused[0]
    assert settings.broker_pid_file.read_text() == pid_before  # same broker process


def test_unknown_devices_and_nfc_claims(gateway: GatewayProcess, device: Any, db: Conn) -> None:
    tag: Device = device("WP-500")
    customer = db.execute("INSERT INTO customers (display_name) VALUES ('Li') RETURNING id"
                          ).fetchone()
    assert customer is not None
    tag.publish({"ts": now_ms(), "kind": "nfc_tap", "data": {"customer_id": customer[0]}},
                kind="events")
    wait_for(lambda: count(db, "SELECT count(*) FROM product_instances WHERE owner_id = %s",
                           customer[0]) == 1, what="the tap to register the product")
    event = db.execute("SELECT kind, data FROM events").fetchone()
    assert event == ("nfc_tap", {"customer_id": customer[0], "claim": "ok"})


def _publish_many(devices: list[Device], per_device: int, start_ms: int) -> None:
    def run(dev: Device, offset: int) -> None:
        for i in range(per_device):
            dev.publish({"ts": start_ms + i * 10 + offset, "m": {"flow_l": 0.5}})
        wait_for(lambda: len(dev.acks) >= per_device, timeout=180,
                 what=f"{dev.id} to get every PUBACK")

    threads = [threading.Thread(target=run, args=(dev, i)) for i, dev in enumerate(devices)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _exactly(db: Conn, expected: int) -> None:
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") >= expected, timeout=180,
             interval=0.5, what=f"{expected} readings")
    assert count(db, "SELECT count(*) FROM readings") == expected
    # Nothing counted twice in the rollups either.
    assert count(db, "SELECT sum(n) FROM readings_hourly") == expected
    assert count(db, "SELECT sum(n) FROM readings_daily") == expected


def test_kill_9_of_the_gateway_mid_stream_loses_nothing_and_counts_nothing_twice(
        gateway: GatewayProcess, provisioned: Any, settings: Settings, db: Conn) -> None:
    devices = [Device(settings, c).connect() for c in provisioned("WP-500", 10)]
    total, start = 50_000, now_ms() - 3_600_000
    publisher = threading.Thread(target=_publish_many, args=(devices, total // 10, start))
    publisher.start()
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") > 8_000, timeout=120,
             what="the stream to be under way")
    gateway.kill()
    gateway.start()
    publisher.join()
    _exactly(db, total)
    for dev in devices:
        dev.close()


def test_a_database_restart_mid_stream_loses_nothing(
        gateway: GatewayProcess, provisioned: Any, settings: Settings, db: Conn) -> None:
    devices = [Device(settings, c).connect() for c in provisioned("WP-500", 10)]
    total, start = 50_000, now_ms() - 3_600_000
    publisher = threading.Thread(target=_publish_many, args=(devices, total // 10, start))
    publisher.start()
    wait_for(lambda: count(db, "SELECT count(*) FROM readings") > 8_000, timeout=120,
             what="the stream to be under way")
    db.close()
    server = Settings()  # the project's PostgreSQL server, which holds the test database
    services.postgres_down(server, mode="immediate")  # a crash, as far as clients can tell
    services.postgres_up(server)
    publisher.join()
    with psycopg.connect(settings.database_url, autocommit=True) as fresh:
        _exactly(fresh, total)
    assert gateway.proc is not None and gateway.proc.poll() is None
    for dev in devices:
        dev.close()


def test_a_clean_shutdown_under_steady_traffic_exits_0_and_loses_nothing(
        gateway: GatewayProcess, device: Any, db: Conn) -> None:
    tag: Device = device("CM-100")
    done = threading.Event()
    infos: list[Any] = []
    start = now_ms() - 600_000

    def publish_until_done() -> None:  # a steady 2,000 messages/s that never pauses
        while not done.is_set() and len(infos) < 200_000:
            infos.append(tag.publish({"ts": start + len(infos), "m": {"count": len(infos)}}))
            if len(infos) % 20 == 0:
                done.wait(0.01)

    publisher = threading.Thread(target=publish_until_done)
    publisher.start()
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM readings") > 1000, what="the stream")
        assert gateway.proc is not None
        gateway.proc.terminate()
        assert gateway.proc.wait(timeout=15) == 0  # while the tag keeps publishing
    finally:
        done.set()
        publisher.join()
    for info in infos:
        info.wait_for_publish(10)
    gateway.start()
    _exactly(db, len(infos))


def test_the_broker_keeps_every_message_while_the_gateway_is_away(
        gateway: GatewayProcess, device: Any, db: Conn) -> None:
    """Mosquitto's default max_queued_messages (1000) would drop most of these."""
    assert gateway.stop() == 0
    tag: Device = device("WP-500")
    start = now_ms() - 3_600_000
    infos = [tag.publish({"ts": start + i, "m": {"flow_l": 0.1}}) for i in range(20_000)]
    for info in infos:
        info.wait_for_publish(30)
    gateway.start()
    _exactly(db, 20_000)


def test_prometheus_metrics_count_what_happened(gateway: GatewayProcess, device: Any,
                                                db: Conn) -> None:
    import urllib.request

    tag: Device = device("WP-500")
    ts = now_ms()
    tag.publish({"ts": ts, "m": {"flow_l": 1.0, "temp_c": 17.0}})
    tag.publish({"ts": ts, "m": {"flow_l": 1.0, "temp_c": 17.0}})
    tag.publish(b"garbage")
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters") == 1, what="the dead letter")

    def scrape() -> dict[str, float]:
        url = f"http://127.0.0.1:{gateway.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                if line.startswith("homeloop_gateway_") and " " in line}

    found = wait_for(lambda: (m := scrape()).get(
        "homeloop_gateway_dead_letters_total") == 1 and m, what="the counters")
    # Retained status messages of earlier tests' devices count as received too.
    assert found["homeloop_gateway_messages_received_total"] >= 3
    assert found["homeloop_gateway_readings_written_total"] == 2
    assert found["homeloop_gateway_readings_duplicate_total"] == 2
    assert found["homeloop_gateway_dead_letters_total"] == 1
    assert found["homeloop_gateway_batch_seconds_count"] >= 1


def test_a_retained_status_left_by_a_removed_device_is_not_an_error(
        gateway: GatewayProcess, device: Any, db: Conn) -> None:
    assert gateway.stop() == 0
    tag: Device = device("WP-500")
    tag.client.publish(f"tags/{tag.id}/status", b"offline", qos=1, retain=True).wait_for_publish(5)
    db.execute("DELETE FROM devices WHERE id = %s", (tag.id,))
    gateway.start()  # subscribing again brings the retained status
    tag.publish({"ts": now_ms(), "m": {"flow_l": 1.0}})
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters") >= 1,
             what="the reading of the removed device to be refused")
    reasons = [r[0] for r in db.execute("SELECT reason FROM dead_letters").fetchall()]
    assert reasons == [f"device {tag.id!r} is not provisioned or was revoked"]
