"""Fixtures on real services: the project's PostgreSQL (a test database), a test Mosquitto.

``make test`` starts PostgreSQL with ``homeloop services up``. The tests start their own
Mosquitto on another port under ``.local/test`` so that they can kill and reload it, and so
that provisioning in tests never touches the development broker's password file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import psycopg
import pytest
import redis
import time_machine
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from catalog.seed import restock, seed
from device_gateway.provisioning import Credentials, provision, sync_broker
from homeloop import clock, migrate, services
from homeloop.db import has_timescaledb
from homeloop.settings import PROJECT_ROOT, Settings
from tests.clock import DEFAULT, INSTANTS

T = TypeVar("T")
# HOMELOOP_TEST_SLOT=n gives a test run its own database, broker port, Redis db and state
# folder, so that two runs on one machine (two branches, say) never share data.
SLOT = int(os.environ.get("HOMELOOP_TEST_SLOT", "0"))
TEST_DB = "homeloop_test" + (f"_{SLOT}" if SLOT else "")
# Below Linux's range of ports handed out to outgoing connections (32768-60999), so that no
# client's source port can hold the test broker's port when it starts.
TEST_MQTT_PORT = 21884 + 10 * SLOT
TEST_REDIS_DB = str(1 + SLOT)  # the development stack's Celery uses db 0
TEST_STATE = "test" + (f"-{SLOT}" if SLOT else "")
# The seeded catalog survives between tests; every other table is emptied before each one.
CATALOG_TABLES = ("alembic_version", "skus", "stores", "inventory", "sku_consumables",
                  "sku_services", "offer_kinds", "sku_related")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--instants", action="store_true",
                     help="run the tests marked clock at every instant of tests/clock.py too")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clock: time-sensitive; --instants runs it at every "
                                       "instant of tests/clock.py")
    config.addinivalue_line("markers", "real_clock(why): needs the machine's own clock")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = metafunc.definition.get_closest_marker
    if metafunc.config.getoption("instants") and marked("clock") and not marked("real_clock"):
        instants = {"default": DEFAULT, **INSTANTS}
        metafunc.parametrize("now", list(instants.values()), ids=list(instants), indirect=True)


@pytest.fixture(autouse=True)
def now(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """The instant this test runs at (tests/clock.py); the clock ticks on from there."""
    marker = request.node.get_closest_marker("real_clock")
    if marker is not None:
        assert marker.args, "say why a test needs the real clock: @pytest.mark.real_clock(why)"
        yield clock.now()
        return
    instant: datetime = getattr(request, "param", DEFAULT)
    with time_machine.travel(instant, tick=True):
        yield instant


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)  # noqa: TID251


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment for a homeloop process (gateway, worker) under test settings: in
    development, so that it reads the test install's secrets from the same state folder."""
    return {**os.environ,
            "HOMELOOP_ENV": "development",
            "HOMELOOP_DATABASE_URL": settings.database_url,
            "HOMELOOP_REDIS_URL": settings.redis_url,
            "HOMELOOP_MQTT_PORT": str(settings.mqtt_port),
            "HOMELOOP_STATE_DIR": str(settings.state_dir),
            **{f"HOMELOOP_{k.upper()}": v for k, v in extra.items()}}


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    # Development: the test install makes its own secrets once, under its state folder.
    base = Settings(env="development", state_dir=PROJECT_ROOT / ".local" / TEST_STATE)
    if not services.port_open(base.pg_port):
        pytest.exit("PostgreSQL is not running: run `make test` (it starts the services)", 2)
    url = base.database_url.rsplit("/", 1)[0] + "/" + TEST_DB
    admin = base.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEST_DB}")
    test = base.model_copy(update={
        "database_url": url, "mqtt_port": TEST_MQTT_PORT,
        "redis_url": base.redis_url.rsplit("/", 1)[0] + "/" + TEST_REDIS_DB,
        "gateway_metrics_port": 0,
        # Ids restart in every test, so the same identities come back many times a minute:
        # the rate-limit tests set their own limits.
        "rate_limit": "1000000/minute", "failed_auth_rate_limit": "1000000/minute",
        "anonymous_rate_limit": "1000000/minute"})
    services.mosquitto_down(test)
    services.mosquitto_up(test)
    migrate.upgrade(test)
    with psycopg.connect(url) as conn:
        seed(conn)
    yield test
    services.mosquitto_down(test)


@pytest.fixture
def db(settings: Settings) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """An autocommit connection to a test database emptied of everything but the catalog.

    The test Redis database is emptied too: Celery tasks an earlier test queued (for ids that
    start again at 1) would otherwise reach this test's worker, and rate-limit counters this
    test's identities.
    """
    redis.Redis.from_url(settings.redis_url).flushdb()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        empty_tables(conn)
        yield conn


def empty_tables(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Every table but the seeded catalog's, emptied, its ids starting again at 1; the
    catalog's stock as the seed has it (orders and accepted offers take stock). When there
    were readings, the continuous aggregates are refreshed too (on TimescaleDB), so that
    what they materialized of the readings just truncated goes as well."""
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> ALL(%s)", [list(CATALOG_TABLES)]).fetchall()]
    had_readings = conn.execute("SELECT EXISTS (SELECT 1 FROM readings)").fetchone()
    conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    restock(conn)
    if had_readings and had_readings[0]:
        refresh_rollups(conn)


def refresh_rollups(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """On TimescaleDB, refresh the continuous aggregates as far as their policies go (the
    hourly one to an hour ago, the daily one to yesterday): a reading older than an
    aggregate's watermark is not in its real-time part, so otherwise whether a policy job
    had run would decide what a test sees."""
    if has_timescaledb(conn):
        conn.execute("CALL refresh_continuous_aggregate('readings_hourly', NULL, "
                     "date_trunc('hour', now() - interval '1 hour'))")
        conn.execute("CALL refresh_continuous_aggregate('readings_daily', NULL, "
                     "date_trunc('day', now() - interval '1 day'))")


@pytest.fixture
def provisioned(settings: Settings, db: psycopg.Connection[tuple[Any, ...]],
                ) -> Callable[..., list[Credentials]]:
    def make(sku: str = "WP-500", count: int = 1, batch: str | None = None) -> list[Credentials]:
        with psycopg.connect(settings.database_url) as conn:
            made = provision(conn, sku, count, batch)
            conn.commit()
            sync_broker(conn, settings)
        return made
    return make


@dataclass
class GatewayProcess:
    settings: Settings
    client_id: str
    log: Path
    env: dict[str, str]
    metrics_port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "homeloop", "gateway", "--id", self.client_id],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(lambda: self.log.read_text().count("subscribed (connection 1)") >= self.starts,
                 what="the gateway to subscribe")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(timeout=60)


@pytest.fixture
def gateway(settings: Settings, tmp_path: Path, db: object) -> Iterator[GatewayProcess]:
    group = "t" + uuid.uuid4().hex[:8]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        metrics_port = sock.getsockname()[1]
    env = process_env(settings, gateway_metrics_port=str(metrics_port),
                      gateway_share_group=group)
    gw = GatewayProcess(settings, f"test-gateway-{group}", tmp_path / "gateway.log", env,
                        metrics_port)
    gw.start()
    yield gw
    if gw.proc and gw.proc.poll() is None:
        gw.stop()
    _forget_session(settings, gw.client_id)


def _forget_session(settings: Settings, client_id: str) -> None:
    """Delete a persistent session so that no queue builds up for a finished test."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(settings.gateway_username, settings.gateway_password)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    client.connect("127.0.0.1", settings.mqtt_port, clean_start=True, properties=props)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@dataclass
class Device:
    """A tag publishing with its own credentials over MQTT 5, QoS 1."""

    settings: Settings
    creds: Credentials
    client: mqtt.Client = field(init=False)
    acks: dict[int, int] = field(default_factory=dict)
    connected: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)
    refused: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.creds.device_id,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(self.creds.device_id, self.creds.password)
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = self._on_connect
        self.client.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc.value)
        self.client.on_disconnect = lambda c, u, f, rc, p: self.disconnected.set()

    def _on_connect(self, _c: object, _u: object, _f: object, rc: Any, _p: object) -> None:
        if rc.is_failure:
            self.refused.append(str(rc))
        else:
            self.connected.set()

    @property
    def id(self) -> str:
        return self.creds.device_id

    def connect(self) -> Device:
        self.client.connect("127.0.0.1", self.settings.mqtt_port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), f"{self.id} could not connect: {self.refused}"
        return self

    def publish(self, payload: bytes | str | dict[str, Any] | list[Any], kind: str = "readings",
                topic: str | None = None, content_type: str | None = None,
                ) -> mqtt.MQTTMessageInfo:
        data = json.dumps(payload) if isinstance(payload, dict | list) else payload
        props = None
        if content_type is not None:  # the MQTT 5 Content Type property
            props = Properties(PacketTypes.PUBLISH)
            props.ContentType = content_type
        while True:
            info = self.client.publish(topic or f"tags/{self.id}/{kind}", data, qos=1,
                                       properties=props)
            if info.rc != mqtt.MQTT_ERR_QUEUE_SIZE:
                return info
            time.sleep(0.01)  # noqa: TID251

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def device(settings: Settings,
           provisioned: Callable[[str, int], list[Credentials]],
           ) -> Iterator[Callable[..., Device]]:
    made: list[Device] = []

    def make(sku: str = "WP-500", creds: Credentials | None = None) -> Device:
        dev = Device(settings, creds or provisioned(sku, 1)[0]).connect()
        made.append(dev)
        return dev

    yield make
    for dev in made:
        dev.close()


def in_two_transactions_at_once(settings: Settings,
                                 work: Callable[[psycopg.Connection[tuple[Any, ...]]], T],
                                 ) -> list[T]:
    """Run ``work`` in two threads, each in its own transaction, released together.

    What two workers do when beat fires twice or a task is redelivered. A thread's error
    fails the test.
    """
    barrier = threading.Barrier(2)
    results: list[T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with psycopg.connect(settings.database_url) as conn, conn.transaction():
                barrier.wait(timeout=10)
                results.append(work(conn))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    return results


def now_ms() -> int:
    return int(time.time() * 1000)


def count(conn: psycopg.Connection[tuple[Any, ...]], sql: str, *args: Any) -> int:
    row = conn.execute(sql, args).fetchone()
    return int(row[0]) if row else 0


def write_through_gateway(db: psycopg.Connection[tuple[Any, ...]], device_id: str,
                          readings: Iterable[tuple[datetime, dict[str, float]]] = (),
                          events: Iterable[tuple[datetime, str, dict[str, Any]]] = (),
                          *, max_age_days: int | None = None) -> None:
    """Put readings and events in through the gateway's own writer, as the broker delivers them.

    ``max_age_days`` lets older backlog in than the gateway's setting does, for a history
    that arrived in time long ago. Any dead letter fails the test. The rollups are then
    refreshed (:func:`refresh_rollups`).
    """
    from device_gateway.gateway import limits_from
    from device_gateway.writer import BatchWriter, Incoming

    limits = limits_from(Settings(env="development"))
    if max_age_days is not None:
        limits = replace(limits, max_age_ms=max_age_days * 86_400_000)
    messages = [(f"tags/{device_id}/readings", t, {"ts": int(t.timestamp() * 1000), "m": m})
                for t, m in readings]
    messages += [(f"tags/{device_id}/events", t,
                  {"ts": int(t.timestamp() * 1000), "kind": kind, "data": data})
                 for t, kind, data in events]
    writer = BatchWriter(db.info.dsn + " password=homeloop", limits)
    try:
        for start in range(0, len(messages), 2000):
            batch = [Incoming(start + i, topic, json.dumps(body).encode(), 1, t.timestamp())
                     for i, (topic, t, body) in enumerate(messages[start:start + 2000])]
            result = writer.write(batch)
            assert result.dead_letters == 0, result.dead_reasons[:3]
    finally:
        writer.close()
    refresh_rollups(db)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_server(settings: Settings, emulator_address: str, log_name: str,
               **extra: str) -> Iterator[str]:
    """A real ``homeloop api`` process on a free port under test settings; its base URL.

    It trusts the session's Auth emulator stand-in, and ``extra`` settings (HOMELOOP_*)."""
    import requests

    port = free_port()
    env = process_env(settings, api_port=str(port), **extra)
    env["FIREBASE_AUTH_EMULATOR_HOST"] = emulator_address
    log = settings.state_dir / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "homeloop", "api"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=1).ok
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a busy machine
            return False

    try:
        wait_for(up, timeout=30, what="the API server")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
