"""``homeloop bench ingest``: sustained readings per second, published to committed.

One run, on loopback, QoS 1, every simulated device with its own credentials (user name =
device id, its own password, its own MQTT connection), measures in turn:

broker
    The broker's own QoS 1 limit with Mosquitto's C clients only: one ``mosquitto_pub -l`` per
    device reading a prepared file, one ``mosquitto_sub -q 1 -C <n>`` writing to /dev/null,
    timed from starting the publishers to the subscriber's exit. A short probe sizes the run.
naive
    A naive gateway: one process whose paho ``on_message`` does one INSERT and one COMMIT per
    message into the same ``readings`` table (paho acknowledges after the callback returns).
ours
    ``gateways`` processes of ``python -m homeloop gateway`` on one shared subscription.
latency
    Ours, offered 80 % of the rate just measured by a rate-limited publisher. Each message
    carries its wall-clock publish time in ``ts``; PostgreSQL (``track_commit_timestamp``)
    says when its row committed, so latency = ``pg_xact_commit_timestamp(xmin) - time``.
packs
    Ours with SenML packs (RFC 8428) of 10 records per message, in readings per second.

The load for the last four: one ``mosquitto_pub -l`` per device whose stdin is a pipe this
process writes lines to, ``{"ts": <epoch ms>, "seq": n, "m": {"flow_l": v}}`` on
``tags/<device id>/readings`` (a PUBLISH of about 100 bytes), or one SenML pack per line.
For the throughput phases the writer is closed-loop: it keeps at most a window of messages
published but not yet committed (the gateways' Prometheus counters, or the naive process's
own counter, say what is committed), so no backlog grows in the broker and the figure is a
rate the whole chain sustains. Rates are counted from commit timestamps over the steady part
of each phase (after a warm-up), and each phase checks that everything published was stored.

The machine's cores are shared by everyone in the chain, so each phase also prints how many
cores the gateways, the broker, PostgreSQL, the publishers and this process used, and how
much went to anything else on the machine: that says what limited a figure.

Isolation: a separate database (``homeloop_bench``, dropped and re-created) and a separate
Mosquitto (port 51885, state under ``.local/bench``, the developer's broker settings), stopped
at the end. Every wait is bounded by a count and a time.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import IO

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql

from catalog.seed import seed
from device_gateway.provisioning import provision, sync_broker
from homeloop import migrate, services
from homeloop.db import has_timescaledb
from homeloop.errors import ServiceError
from homeloop.settings import PROJECT_ROOT, Settings, secrets_environment

BENCH_DB = "homeloop_bench"
BENCH_MQTT_PORT = 51885
SKU = "WP-500"  # a water purifier: reports litres through its filter
METRIC, UNIT = "flow_l", "L"
PACK_RECORDS = 10
LATENCY_SHARE = 0.8
WARMUP_S = 2.0
DRAIN_TIMEOUT_S = 60.0
TICK_S = 0.005
LINES_PER_WRITE = 16  # to one publisher's pipe at a time: one wake-up of mosquitto_pub
SCRAPE_EVERY_S = 0.1  # how often the closed-loop writer reads the gateways' counters
BROKER_PROBE_LINES = 150  # per device: the probe that sizes the broker phase
MAX_LINES_PER_DEVICE = 25_000  # mosquitto_pub -l gives up near 38,000 lines at QoS 1
PUB_MAX_INFLIGHT = 100
NAIVE_WINDOW = 1_000  # messages; one at a time is all the naive gateway takes anyway
# The gateways' settings for this benchmark (the rest are the usual HOMELOOP_* defaults).
GATEWAY_BATCH_SIZE = 5_000
GATEWAY_ENV = {"HOMELOOP_GATEWAY_BATCH_SIZE": str(GATEWAY_BATCH_SIZE),
               "HOMELOOP_GATEWAY_BATCH_MS": "50"}

NAIVE_INSERT = ("INSERT INTO readings (time, device_id, metric, value) "
                "VALUES (timestamptz 'epoch' + %s * interval '1 millisecond', %s, %s, %s) "
                "ON CONFLICT DO NOTHING")


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    password: str


# --- CPU accounting -------------------------------------------------------------------------
# From /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU): /proc/<pid>/stat counts in
# clock ticks and misses most of a process that runs in short bursts, like mosquitto_pub.

def cpu_by_pid() -> dict[int, float]:
    """CPU seconds of every process on the machine, summed over its live threads."""
    used: dict[int, float] = {}
    for proc in os.scandir("/proc"):
        if not proc.name.isdigit():
            continue
        total = 0
        try:
            tasks = list(os.scandir(f"{proc.path}/task"))
        except OSError:
            continue  # gone
        for task in tasks:
            try:
                with open(f"{task.path}/schedstat") as fh:
                    total += int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        used[int(proc.name)] = total / 1e9
    return used


def bench_postgres_pids() -> list[int]:
    """The server's own processes and the backends connected to the bench database."""
    pids = []
    for proc in os.scandir("/proc"):
        if not proc.name.isdigit():
            continue
        try:
            with open(f"{proc.path}/comm") as fh:
                if fh.read().strip() != "postgres":
                    continue
            with open(f"{proc.path}/cmdline", "rb") as fb:
                cmdline = fb.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if BENCH_DB in cmdline or "(" not in cmdline:  # backends show their client address
            pids.append(int(proc.name))
    return pids


DISTURBED_CORES = 0.15  # "anything else" using more than this makes a phase's figure suspect
CpuGroups = Callable[[], dict[str, list[int]]]


@dataclass(frozen=True, slots=True)
class CpuSample:
    at: float
    by_pid: dict[int, float]


def sample_cpu() -> CpuSample:
    return CpuSample(time.monotonic(), cpu_by_pid())


def cores_between(first: CpuSample, last: CpuSample,
                  groups: dict[str, list[int]]) -> dict[str, float]:
    """Cores each group used between two samples; the rest of the machine as one more."""
    seconds = last.at - first.at
    used = {pid: t - first.by_pid.get(pid, 0.0) for pid, t in last.by_pid.items()}
    cores = {name: sum(used.pop(pid, 0.0) for pid in pids) / seconds
             for name, pids in groups.items()}
    cores["anything else"] = sum(used.values()) / seconds
    return cores


def describe_cores(cores: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {used:.2f}" for name, used in cores.items())
    text = f"cores used (of {os.cpu_count()}): {parts}"
    if cores["anything else"] >= DISTURBED_CORES:
        text += " -- other work on this machine disturbed this phase: run it again"
    return text


# --- set-up ---------------------------------------------------------------------------------

def bench_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "database_url": settings.database_url.rsplit("/", 1)[0] + "/" + BENCH_DB,
        "mqtt_host": "127.0.0.1",  # the bench broker listens on loopback only
        "mqtt_port": BENCH_MQTT_PORT,
        "state_dir": PROJECT_ROOT / ".local" / "bench",
        "mqtt_password_file": None, "mqtt_acl_file": None, "mqtt_pid_file": None,
        "gateway_metrics_port": 0,
    })


def prepare(settings: Settings, bench: Settings, devices: int) -> list[Device]:
    """A fresh database and a fresh broker, and ``devices`` provisioned tags."""
    if not services.port_open(settings.pg_port):
        raise ServiceError("PostgreSQL is not running: run `homeloop services up` first")
    services.mosquitto_down(bench)
    shutil.rmtree(bench.state_dir, ignore_errors=True)
    admin = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        name = sql.Identifier(BENCH_DB)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    migrate.upgrade(bench)
    services.mosquitto_up(bench)
    made: list[Device] = []
    with psycopg.connect(bench.database_url) as conn:
        seed(conn)
        while len(made) < devices:
            batch = provision(conn, SKU, min(devices - len(made), 10_000))
            made += [Device(c.device_id, c.password) for c in batch]
        conn.commit()
        sync_broker(conn, bench)
    return made


def reset_tables(bench: Settings) -> None:
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        rollups = [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relname IN ('readings_hourly', 'readings_daily') "
            "AND relkind = 'r'").fetchall()]
        conn.execute(f"TRUNCATE {', '.join(('readings', 'dead_letters', *rollups))}")
        conn.execute("CHECKPOINT")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """Wait for processes that were asked to finish; kill those still there at the deadline."""
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- payloads -------------------------------------------------------------------------------

class CompactLines:
    """``{"ts": <publish time, epoch ms>, "seq": n, "m": {"flow_l": v}}``, one per line.

    ``ts`` is the wall clock when the line is handed to the publisher, made strictly
    increasing per device (the natural key is device, metric and time in milliseconds): the
    lines of one write end at "now", so a latency is never understated.
    """

    readings_per_message = 1

    def __init__(self, devices: int) -> None:
        self._seq = [0] * devices
        self._last_ms = [0] * devices

    def __call__(self, device: int, count: int) -> bytes:
        ts = max(int(time.time() * 1000) - count + 1, self._last_ms[device] + 1)
        seq = self._seq[device]
        lines = [f'{{"ts": {ts + k}, "seq": {seq + k}, "m": {{"{METRIC}": '
                 f'{(seq + k) % 1000 / 1000}}}}}\n' for k in range(count)]
        self._seq[device] = seq + count
        self._last_ms[device] = ts + count - 1
        return "".join(lines).encode()


class SenmlLines:
    """SenML packs of ``PACK_RECORDS`` records one second apart, one pack per line.

    The base time is absolute (the gateway refuses times relative to now: a redelivered pack
    would get new times) and starts two days back, like a tag uploading its backlog.
    """

    readings_per_message = PACK_RECORDS

    def __init__(self, devices: Sequence[Device]) -> None:
        self._bn = [f"urn:dev:homeloop:{d.id}:" for d in devices]
        self._next_s = [int(time.time()) - 2 * 86_400] * len(devices)

    def __call__(self, device: int, count: int) -> bytes:
        bn, bt = self._bn[device], self._next_s[device]
        lines = []
        for k in range(count):
            base = bt + k * PACK_RECORDS
            rest = "".join(f', {{"n": "{METRIC}", "t": {t}, "v": {(base + t) % 997 / 100}}}'
                           for t in range(1, PACK_RECORDS))
            lines.append(f'[{{"bn": "{bn}", "bt": {base}, "n": "{METRIC}", "u": "{UNIT}", '
                         f'"v": {base % 997 / 100}}}{rest}]\n')
        self._next_s[device] = bt + count * PACK_RECORDS
        return "".join(lines).encode()


Lines = CompactLines | SenmlLines


def publish_size(device: Device, payload: bytes) -> int:
    """Bytes of an MQTT 5 QoS 1 PUBLISH of ``payload`` on the device's readings topic."""
    remaining = 2 + len(f"tags/{device.id}/readings") + 2 + 1 + len(payload)
    return 1 + (1 if remaining < 128 else 2) + remaining


# --- publishers -----------------------------------------------------------------------------

def publisher_command(bench: Settings, device: Device) -> list[str]:
    return ["mosquitto_pub", "-h", bench.mqtt_host, "-p", str(bench.mqtt_port), "-V", "mqttv5",
            "-q", "1", "-M", str(PUB_MAX_INFLIGHT), "-i", device.id, "-u", device.id,
            "-P", device.password, "-t", f"tags/{device.id}/readings", "-l"]


@dataclass(frozen=True, slots=True)
class Feed:
    """What the publishers did in one phase, and the cores used over its steady part."""

    messages: int
    readings: int
    seconds: float
    waited_s: float  # the writer had nothing to do: window full, or ahead of the rate
    limit: str  # what it waited for: "the window" or "the clock"
    steady_from: float  # wall clock, after the warm-up
    ended_at: float  # wall clock
    cores: dict[str, float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def describe(self) -> str:
        return (f"publishers sent {self.rate:,.0f} msg/s and waited for {self.limit} "
                f"{self.waited_s / self.seconds:.0%} of the time")


class Fleet:
    """One ``mosquitto_pub -l`` per device, fed through its stdin pipe by :meth:`feed`."""

    def __init__(self, bench: Settings, devices: Sequence[Device], log_file: IO[bytes]) -> None:
        self.devices = devices
        self.procs = [subprocess.Popen(publisher_command(bench, d), stdin=subprocess.PIPE,
                                       stdout=log_file, stderr=log_file) for d in devices]
        self._fds = [p.stdin.fileno() for p in self.procs if p.stdin is not None]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()  # mosquitto_pub sends what it has read, then disconnects
        stop_processes(self.procs, 15)

    def feed(self, lines: Lines, seconds: float, cpu: CpuGroups, *,
             rate: float | None = None, progress: Callable[[], int] | None = None,
             window: int = 0) -> Feed:
        """Publish for ``WARMUP_S + seconds``: at ``rate`` messages per second or, closed-loop,
        as fast as keeps the messages published minus ``progress()`` (those committed) under
        ``window``. Lines go round-robin to the devices, ``LINES_PER_WRITE`` at a time.
        """
        if (rate is None) == (progress is None):
            raise ValueError("give either a rate or a progress counter")
        for proc in self.procs:
            if proc.poll() is not None:
                raise ServiceError(f"a publisher exited early (code {proc.returncode})")
        n = len(self._fds)
        sent, cursor, waited = 0, 0, 0.0
        started_wall, started = time.time(), time.monotonic()
        steady: CpuSample | None = None
        end = started + WARMUP_S + seconds
        while (now := time.monotonic()) < end:
            if steady is None and now >= started + WARMUP_S:
                steady = sample_cpu()
            if rate is not None:
                budget = int(rate * (now - started)) - sent
            else:
                assert progress is not None
                budget = progress() + window - sent
            if budget < LINES_PER_WRITE:
                time.sleep(TICK_S)
                waited += time.monotonic() - now
                continue
            for _ in range(min(budget // LINES_PER_WRITE, n)):  # back to the clock now and then
                os.write(self._fds[cursor], lines(cursor, LINES_PER_WRITE))
                sent += LINES_PER_WRITE
                cursor = (cursor + 1) % n
        took = time.monotonic() - started
        last = sample_cpu()
        return Feed(messages=sent, readings=sent * lines.readings_per_message, seconds=took,
                    waited_s=waited, limit="the window" if rate is None else "the clock",
                    steady_from=started_wall + WARMUP_S,
                    ended_at=started_wall + took,
                    cores=cores_between(steady or last, last, cpu()))


# --- the broker's limit, C clients only -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class BrokerRun:
    messages: int
    delivered_s: float
    published_s: float
    cores: dict[str, float]

    @property
    def rate(self) -> float:
        return self.messages / self.delivered_s

    @property
    def publish_rate(self) -> float:
        return self.messages / self.published_s


def broker_pid(bench: Settings) -> int:
    return int(bench.broker_pid_file.read_text().strip())


def broker_run(bench: Settings, devices: Sequence[Device], per_device: int,
               log_file: IO[bytes]) -> BrokerRun:
    """``per_device`` lines per device through the broker to one discarding subscriber."""
    lines_dir = bench.state_dir / "lines"
    lines_dir.mkdir(parents=True, exist_ok=True)
    render = CompactLines(len(devices))
    paths = []
    for i in range(len(devices)):
        paths.append(lines_dir / f"{i}.txt")
        paths[-1].write_bytes(render(i, per_device))
    total = per_device * len(devices)
    limit_s = 60 + total / 2_000
    sub = subprocess.Popen(
        ["mosquitto_sub", "-h", bench.mqtt_host, "-p", str(bench.mqtt_port), "-V", "mqttv5",
         "-q", "1", "-u", bench.gateway_username, "-P", bench.gateway_password,
         "-i", "bench-broker-sub", "-t", "tags/+/readings", "-C", str(total),
         "-W", str(int(limit_s))], stdout=subprocess.DEVNULL, stderr=log_file)
    time.sleep(1.0)  # let the subscription settle before anything is published
    broker = broker_pid(bench)
    with ExitStack() as files:
        # The clients end before the last sample: their CPU comes from the kernel's account
        # of reaped children instead.
        clients_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        first = sample_cpu()
        started = time.monotonic()
        pubs = [subprocess.Popen(publisher_command(bench, d),
                                 stdin=files.enter_context(path.open("rb")),
                                 stdout=log_file, stderr=log_file)
                for d, path in zip(devices, paths, strict=True)]
        stop_processes(pubs, limit_s)
        published = time.monotonic() - started
        stop_processes([sub], limit_s)
        delivered = time.monotonic() - started
        last = sample_cpu()
        clients_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if sub.returncode != 0:
        raise ServiceError(f"mosquitto_sub did not receive all {total} messages "
                           f"(exit {sub.returncode})")
    clients = (clients_after.ru_utime + clients_after.ru_stime
               - clients_before.ru_utime - clients_before.ru_stime)
    cores = cores_between(first, last, {"broker": [broker]})
    cores = {"broker": cores["broker"],
             "mosquitto_pub + mosquitto_sub": clients / (last.at - first.at),
             "anything else": cores["anything else"]}
    return BrokerRun(total, delivered, published, cores)


def broker_limit(bench: Settings, devices: Sequence[Device], seconds: float,
                 log_file: IO[bytes]) -> BrokerRun:
    """A short probe sizes the real run to about ``seconds``."""
    probe = broker_run(bench, devices, BROKER_PROBE_LINES, log_file)
    per_device = int(probe.rate * seconds / len(devices))
    per_device = max(BROKER_PROBE_LINES, min(MAX_LINES_PER_DEVICE, per_device))
    return broker_run(bench, devices, per_device, log_file)


# --- the naive gateway ----------------------------------------------------------------------

def naive_main(database_url: str, host: str, port: int, username: str, password: str,
               done: Synchronized[int], ready: EventType, stop: EventType) -> None:
    """One INSERT and one COMMIT per message in the paho callback; paho acks afterwards."""
    conn = psycopg.connect(database_url)

    def on_connect(client: mqtt.Client, _u: object, _f: object, _reason: object,
                   _p: object) -> None:
        client.subscribe("tags/+/readings", qos=1)

    def on_subscribe(*_args: object) -> None:
        ready.set()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        device_id = msg.topic.split("/")[1]
        doc = json.loads(msg.payload)
        for metric, value in doc["m"].items():
            conn.execute(NAIVE_INSERT, (doc["ts"], device_id, metric, value))
        conn.commit()
        with done.get_lock():
            done.value += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-naive",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(host, port, keepalive=30)
    client.loop_start()
    stop.wait(timeout=3_600)
    client.disconnect()
    client.loop_stop()
    conn.close()


@dataclass(frozen=True, slots=True)
class Naive:
    pid: int
    committed: Callable[[], int]  # messages


@contextmanager
def naive_gateway(bench: Settings) -> Iterator[Naive]:
    """Run the naive gateway in a process of its own while the block runs."""
    ctx = mp.get_context("spawn")
    done = ctx.Value(ctypes.c_int64, 0)
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=naive_main, name="bench-naive", daemon=True, args=(
        bench.database_url, bench.mqtt_host, bench.mqtt_port, bench.gateway_username,
        bench.gateway_password, done, ready, stop))
    proc.start()
    try:
        wait_until(lambda: ready.is_set() or not proc.is_alive(), 30,
                   "the naive gateway to subscribe")
        if not ready.is_set():
            raise ServiceError(f"the naive gateway exited (code {proc.exitcode})")

        def committed() -> int:
            if not proc.is_alive():
                raise ServiceError(f"the naive gateway died (exit {proc.exitcode})")
            return int(done.value)

        assert proc.pid is not None
        yield Naive(proc.pid, committed)
    finally:
        stop.set()
        proc.join(15)
        if proc.is_alive():
            proc.kill()
            proc.join()


# --- our gateways ---------------------------------------------------------------------------

def subscribed(gateway_log: Path) -> bool:
    # Older gateways logged "connected" right after subscribing, newer ones on the SUBACK.
    text = gateway_log.read_text()
    return "subscribed (connection 1)" in text or "connected (connection 1)" in text


def scrape_readings(port: int) -> int:
    """Readings a gateway committed, new or already stored, from its Prometheus endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(("homeloop_gateway_readings_written_total ",
                            "homeloop_gateway_readings_duplicate_total ")):
            total += float(line.split()[1])
    return int(total)


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return kb / 1024


@dataclass
class Gateways:
    """``python -m homeloop gateway`` processes on one shared subscription."""

    bench: Settings
    count: int
    log_dir: Path
    group: str = field(default_factory=lambda: f"bench{os.getpid()}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    _cached: tuple[float, int] = (0.0, 0)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def start(self) -> None:
        env = {**os.environ, **GATEWAY_ENV, **secrets_environment(self.bench),
               "HOMELOOP_DATABASE_URL": self.bench.database_url,
               "HOMELOOP_MQTT_HOST": self.bench.mqtt_host,
               "HOMELOOP_MQTT_PORT": str(self.bench.mqtt_port),
               "HOMELOOP_STATE_DIR": str(self.bench.state_dir),
               "HOMELOOP_GATEWAY_SHARE_GROUP": self.group,
               "HOMELOOP_GATEWAY_METRICS_HOST": "127.0.0.1"}
        logs = []
        for i in range(1, self.count + 1):
            self.ports.append(free_port())
            logs.append(self.log_dir / f"gateway-{i}.log")
            with logs[-1].open("wb") as out:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "homeloop", "gateway", "--id", f"{self.group}-{i}"],
                    env={**env, "HOMELOOP_GATEWAY_METRICS_PORT": str(self.ports[-1])},
                    cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT))
        for path in logs:
            wait_until(partial(subscribed, path), 30, f"the gateway logging to {path} to subscribe")

    def readings(self) -> int:
        """Readings the gateways committed so far (at most ``SCRAPE_EVERY_S`` old)."""
        at, value = self._cached
        if time.monotonic() - at < SCRAPE_EVERY_S:
            return value
        for proc in self.procs:
            if proc.poll() is not None:
                raise ServiceError(f"a gateway died (exit {proc.returncode}); see {self.log_dir}")
        value = sum(scrape_readings(port) for port in self.ports)
        self._cached = (time.monotonic(), value)
        return value

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the gateway flushes, acks, disconnects
        stop_processes(self.procs, 30)


# --- measurements ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Committed:
    """Readings a phase stored, counted from their commit timestamps."""

    total: int
    steady: int  # committed between the end of the warm-up and the end of publishing
    steady_s: float

    @property
    def rate(self) -> float:
        return self.steady / self.steady_s


def committed(bench: Settings, feed: Feed) -> Committed:
    with psycopg.connect(bench.database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE c >= to_timestamp(%s) "
            "AND c < to_timestamp(%s)) "
            "FROM (SELECT pg_xact_commit_timestamp(xmin) AS c FROM readings) s",
            (feed.steady_from, feed.ended_at)).fetchone()
        dead = conn.execute("SELECT count(*), min(reason) FROM dead_letters").fetchone()
    assert row is not None and dead is not None
    if dead[0]:
        raise ServiceError(f"{dead[0]} messages became dead letters, e.g.: {dead[1]}")
    if row[0] != feed.readings:
        raise ServiceError(f"published {feed.readings} readings but {row[0]} are stored")
    return Committed(int(row[0]), int(row[1]), feed.ended_at - feed.steady_from)


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def latency(bench: Settings, feed: Feed) -> Latency:
    """Commit time minus publish time of the readings published after the warm-up."""
    with psycopg.connect(bench.database_url) as conn:
        row = conn.execute(
            "SELECT count(*), percentile_disc(ARRAY[0.5, 0.99, 1.0]) WITHIN GROUP (ORDER BY ms) "
            "FROM (SELECT 1000 * extract(epoch FROM pg_xact_commit_timestamp(xmin) - time) AS ms "
            "FROM readings WHERE time >= to_timestamp(%s)) s", (feed.steady_from,)).fetchone()
    if row is None or row[1] is None:
        raise ServiceError("no readings were committed after the warm-up")
    p50, p99, worst = (float(x) for x in row[1])
    return Latency(int(row[0]), p50, p99, worst)


def drain(readings: Callable[[], int], expected: int, what: str) -> None:
    wait_until(lambda: readings() >= expected, DRAIN_TIMEOUT_S,
               f"{what} to commit all {expected} readings published")


# --- the command ----------------------------------------------------------------------------

def say(text: str) -> None:
    print(text, flush=True)


def run_ingest_bench(settings: Settings, *, devices: int, seconds: float, gateways: int) -> None:
    """Run every phase and print its figures; the last line sums them up."""
    if devices < 1 or gateways < 1 or seconds <= 0:
        raise ValueError("devices and gateways must be at least 1, seconds positive")
    bench = bench_settings(settings)
    fleet_devices = prepare(settings, bench, devices)
    log_dir = bench.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(bench.database_url) as conn:
        storage = ("TimescaleDB hypertable" if has_timescaledb(conn)
                   else "plain table, rollups kept in the same statement")
    sample = fleet_devices[0]
    compact = CompactLines(1)(0, 1).rstrip(b"\n")
    pack = SenmlLines([sample])(0, 1).rstrip(b"\n")
    say(f"ingest bench: {devices} devices, each its own credentials and connection; "
        f"{gateways} gateway processes; QoS 1 on loopback; {os.cpu_count()} cores; "
        f"{seconds:g} s per phase after {WARMUP_S:g} s warm-up; readings table: {storage}")
    say(f"  a reading: {len(compact)}-byte payload, {publish_size(sample, compact)}-byte "
        f"PUBLISH; a SenML pack of {PACK_RECORDS}: {len(pack)}-byte payload")

    with ExitStack() as stack:
        stack.callback(services.mosquitto_down, bench)
        pub_log = stack.enter_context((log_dir / "publishers.log").open("wb"))
        broker_cpu = partial(broker_pid, bench)

        broker = broker_limit(bench, fleet_devices, seconds, pub_log)
        say(f"broker   {devices} x mosquitto_pub -l -> mosquitto -> mosquitto_sub -q 1 "
            f"> /dev/null: {broker.rate:,.0f} msg/s delivered ({broker.messages:,} messages; "
            f"the publishers were done at {broker.publish_rate:,.0f} msg/s)")
        say(f"         {describe_cores(broker.cores)}")

        fleet = Fleet(bench, fleet_devices, pub_log)
        stack.callback(fleet.close)

        with naive_gateway(bench) as naive_gw:
            def naive_cpu() -> dict[str, list[int]]:
                return {"naive gateway": [naive_gw.pid], "broker": [broker_cpu()],
                        "postgres": bench_postgres_pids(), "mosquitto_pub": fleet.pids,
                        "this process": [os.getpid()]}

            feed = fleet.feed(CompactLines(devices), seconds, naive_cpu,
                              progress=naive_gw.committed, window=NAIVE_WINDOW)
            drain(naive_gw.committed, feed.messages, "the naive gateway")
        naive = committed(bench, feed)
        say(f"naive    one INSERT + COMMIT per message in the paho callback: "
            f"{naive.rate:,.0f} readings/s ({feed.describe()})")
        say(f"         {describe_cores(feed.cores)}")
        reset_tables(bench)

        gws = Gateways(bench, gateways, log_dir)
        stack.callback(gws.stop)
        gws.start()

        def ours_cpu() -> dict[str, list[int]]:
            return {"gateways": gws.pids, "broker": [broker_cpu()],
                    "postgres": bench_postgres_pids(), "mosquitto_pub": fleet.pids,
                    "this process": [os.getpid()]}

        def since(base: int, per: int = 1) -> Callable[[], int]:
            return lambda: (gws.readings() - base) // per

        window = 2 * gateways * GATEWAY_BATCH_SIZE
        lines = CompactLines(devices)
        progress = since(gws.readings())
        feed = fleet.feed(lines, seconds, ours_cpu, progress=progress, window=window)
        drain(progress, feed.readings, "the gateways")
        ours = committed(bench, feed)
        say(f"ours     {gateways} x homeloop gateway, shared subscription: {ours.rate:,.0f} "
            f"readings/s ({feed.describe()})")
        say(f"         {describe_cores(feed.cores)}")
        say(f"         = {ours.rate / naive.rate:.1f} x naive (target >= 5 x), "
            f"{ours.rate / broker.rate:.0%} of the broker's limit (target >= 50 %)")
        reset_tables(bench)

        offered = LATENCY_SHARE * ours.rate
        progress = since(gws.readings())
        feed = fleet.feed(lines, seconds, ours_cpu, rate=offered)
        drain(progress, feed.readings, "the gateways")
        lat = latency(bench, feed)
        say(f"latency  at {LATENCY_SHARE:.0%} of ours, {offered:,.0f} msg/s offered, "
            f"{feed.rate:,.0f} msg/s published: publish -> committed p50 {lat.p50_ms:,.0f} "
            f"ms, p99 {lat.p99_ms:,.0f} ms, max {lat.max_ms:,.0f} ms over {lat.count:,} "
            f"readings (target p99 < 1,000 ms)")
        say(f"         {describe_cores(feed.cores)}")
        reset_tables(bench)

        base = gws.readings()
        feed = fleet.feed(SenmlLines(fleet_devices), seconds, ours_cpu,
                          progress=since(base, PACK_RECORDS), window=window)
        drain(since(base), feed.readings, "the gateways")
        packs = committed(bench, feed)
        say(f"packs    SenML, {PACK_RECORDS} records per message: {packs.rate:,.0f} "
            f"readings/s = {packs.rate / PACK_RECORDS:,.0f} msg/s ({feed.describe()}) "
            f"(target >= 100,000 readings/s)")
        say(f"         {describe_cores(feed.cores)}")

        rss = [peak_rss_mb(pid) for pid in gws.pids]
        say("memory   gateway peak RSS (VmHWM): " + ", ".join(f"{mb:,.0f} MB" for mb in rss)
            + " (target < 300 MB each)")
    checks = [("ours >= 5 x naive", ours.rate >= 5 * naive.rate),
              ("ours >= 50 % of the broker", ours.rate >= 0.5 * broker.rate),
              ("p99 < 1 s at 80 %", lat.p99_ms < 1_000),
              ("packs >= 100,000 readings/s", packs.rate >= 100_000),
              ("gateway RSS < 300 MB", max(rss) < 300)]
    say("targets  " + "; ".join(f"{name}: {'met' if ok else 'NOT MET'}" for name, ok in checks))
    say(f"ingest: {ours.rate:.0f}/s naive: {naive.rate:.0f}/s broker: {broker.rate:.0f}/s "
        f"vs_naive: {ours.rate / naive.rate:.1f} of_broker: {ours.rate / broker.rate:.2f} "
        f"p99_ms: {lat.p99_ms:.0f} packs: {packs.rate:.0f}/s")
