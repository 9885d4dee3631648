"""``homeloop bench fleet``: credentials and connections of a large fleet on one broker.

One run, on loopback, against a Mosquitto and a database of its own:

provision
    ``--devices`` tags through :func:`device_gateway.provisioning.provision` (instances,
    device ids, PBKDF2 hashes stored in ``devices``) in batches of 10,000, each committed, then
    the broker's password file rendered once (:func:`sync_broker`). As a peer, a few hundred
    tags provisioned one per call, to show what the per-device path would take.
connect
    ``--connected`` tags connect at once, each with its own credentials and TCP connection, from
    several loopback source addresses (127.0.0.x; one address has too few ephemeral ports),
    and publish a reading every ``--period`` seconds at QoS 1; one gateway stores them.
    The tags are a lean asyncio MQTT 3.1.1 client (CONNECT, PUBLISH QoS 1, PUBACK only) in two
    processes: paho's thread per client does not fit 20,000 clients on 2 cores.
revoke
    One connected tag is revoked through the product path (``revoke`` then ``sync_broker``):
    seconds until the broker dropped it and refused its reconnect, and the longest any other
    tag waited for a PUBACK meanwhile (the same figure over a quiet window first, as the peer).
restart
    The broker is stopped (SIGTERM: it saves its persistence) and started again: seconds until
    every tag but the revoked one is connected and has a reading acknowledged again.
lost
    Readings the broker acknowledged (PUBACK) that are not in ``readings`` once the gateway
    has drained.

The container's hard limit on open files (RLIMIT_NOFILE) caps how many tags one broker
process can hold here; ``--connected`` above it is refused.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import struct
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psycopg

from device_gateway.provisioning import provision, revoke, sync_broker
from devtools.bench import db as bench_db
from devtools.bench.ingest import Gateways
from homeloop import services
from homeloop.errors import ServiceError
from homeloop.settings import PROJECT_ROOT, Settings

BENCH_DB = "homeloop_bench_fleet"
BENCH_MQTT_PORT = 51887
SKU = "WP-500"
BATCH = 10_000
PEER_ONE_BY_ONE = 300  # tags provisioned one per call, as the per-device peer
SOURCES = 20  # loopback source addresses 127.0.0.2 ... 127.0.0.21
WORKERS = 2
KEEPALIVE_S = 60
SPARE_FDS = 100  # the broker's own files, the gateway, the listener

# Targets of issue 17 (2 cores).
PROVISION_TARGET_S = 600.0
REVOKE_TARGET_S = 5.0
STALL_TARGET_MS = 1000.0
RECONNECT_TARGET_S = 60.0


def bench_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "database_url": settings.database_url.rsplit("/", 1)[0] + "/" + BENCH_DB,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": BENCH_MQTT_PORT,
        "state_dir": PROJECT_ROOT / ".local" / "bench-fleet",
        "mqtt_password_file": None, "mqtt_acl_file": None, "mqtt_pid_file": None,
        "gateway_metrics_port": 0,
    })


# --- a lean MQTT 3.1.1 client ---------------------------------------------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(username: str, password: str) -> bytes:
    # Clean session, user name and password flags; the client id is the device id.
    body = (_utf8("MQTT") + b"\x04\xc2" + struct.pack("!H", KEEPALIVE_S)
            + _utf8(username) + _utf8(username) + _utf8(password))
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    body = _utf8(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + _varint(len(body)) + body


class Tags:
    """The tags of one worker process and what they saw."""

    def __init__(self, host: str, port: int, devices: list[tuple[str, str]], first_source: int,
                 period: float, victim: str | None) -> None:
        self.host, self.port, self.devices, self.period = host, port, devices, period
        self.first_source, self.victim = first_source, victim
        self.connected: set[int] = set()
        self.inflight: dict[int, float] = {}
        self.acked: list[tuple[str, int]] = []
        self.max_latency = 0.0
        self.mark = float("inf")  # wall clock; first acknowledged reading after it, per tag
        self.back: dict[int, float] = {}
        self.victim_dropped = 0.0
        self.victim_refused = 0.0
        self.publishing = True
        self.stopping = False

    def stats(self) -> dict[str, Any]:
        now = time.monotonic()
        oldest = max((now - t for t in self.inflight.values()), default=0.0)
        return {"connected": len(self.connected), "max_latency": max(self.max_latency, oldest),
                "acked": len(self.acked), "back": len(self.back),
                "back_at": max(self.back.values(), default=0.0),
                "victim_dropped": self.victim_dropped, "victim_refused": self.victim_refused}

    async def tag(self, i: int) -> None:
        device_id, password = self.devices[i]
        topic = f"tags/{device_id}/readings"
        source = f"127.0.0.{2 + (self.first_source + i) % SOURCES}"
        seq, last_ts, pending_ts = 0, 0, 0
        first = True
        while not self.stopping:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    self.host, self.port, local_addr=(source, 0)), 15)
            except (OSError, TimeoutError):
                await asyncio.sleep(random.uniform(0.5, 2.0))
                continue
            try:
                writer.write(connect_packet(device_id, password))
                connack = await asyncio.wait_for(reader.readexactly(4), 15)
                if connack[3] != 0:
                    if device_id == self.victim:
                        self.victim_refused = self.victim_refused or time.time()
                        return
                    raise ConnectionError(f"refused: {connack[3]}")
                self.connected.add(i)
                if first:  # spread the fleet's readings over the period
                    first = False
                    await asyncio.sleep(random.uniform(0, self.period))
                while not self.stopping:
                    if self.publishing or pending_ts:
                        if not pending_ts:
                            seq += 1
                            pending_ts = last_ts = max(int(time.time() * 1000), last_ts + 1)
                        payload = json.dumps({"ts": pending_ts, "seq": seq,
                                              "m": {"flow_l": seq * 0.5}}).encode()
                        started = time.monotonic()
                        self.inflight[i] = started
                        writer.write(publish_packet(topic, payload, seq % 65535 + 1))
                        ack = await reader.readexactly(4)
                        if ack[0] != 0x40:
                            raise ConnectionError(f"expected a PUBACK, got {ack[0]:#x}")
                        self.max_latency = max(self.max_latency, time.monotonic() - started)
                        del self.inflight[i]
                        self.acked.append((device_id, pending_ts))
                        if started + time.time() - time.monotonic() > self.mark:
                            self.back.setdefault(i, time.time())
                        pending_ts = 0
                    # Sleep until the next reading while watching for the broker closing us.
                    try:
                        data = await asyncio.wait_for(
                            reader.read(1), self.period * random.uniform(0.9, 1.1))
                    except TimeoutError:
                        continue
                    if not data:
                        raise ConnectionError("closed by the broker")
            except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
                pass
            finally:
                self.connected.discard(i)
                self.inflight.pop(i, None)
                writer.close()
            if device_id == self.victim and not self.victim_dropped:
                self.victim_dropped = time.time()
                await asyncio.sleep(0.05)
            else:
                await asyncio.sleep(random.uniform(0.1, 1.0))

    async def control(self, pipe: Connection) -> None:
        while True:
            while not pipe.poll():
                await asyncio.sleep(0.02)
            command, arg = pipe.recv()
            if command == "stats":
                pipe.send(self.stats())
            elif command == "reset":
                self.max_latency = 0.0
                pipe.send(None)
            elif command == "mark":
                self.mark, self.back = arg, {}
                pipe.send(None)
            elif command == "quiet":
                self.publishing = False
                pipe.send(None)
            elif command == "acked":
                pipe.send(self.acked)
            elif command == "stop":
                self.stopping = True
                pipe.send(None)
                return

    async def main(self, pipe: Connection) -> None:
        tasks = [asyncio.create_task(self.tag(i)) for i in range(len(self.devices))]
        await self.control(pipe)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def worker_main(host: str, port: int, devices: list[tuple[str, str]], first_source: int,
                period: float, victim: str | None, pipe: Connection) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(Tags(host, port, devices, first_source, period, victim).main(pipe))


@dataclass
class Workers:
    pipes: list[Connection]
    procs: Sequence[mp.process.BaseProcess]

    def ask(self, command: str, arg: Any = None) -> list[Any]:
        for pipe in self.pipes:
            pipe.send((command, arg))
        return [pipe.recv() for pipe in self.pipes]

    def stats(self) -> dict[str, float]:
        every = self.ask("stats")
        for proc in self.procs:
            if not proc.is_alive():
                raise ServiceError(f"a tag worker died (exit {proc.exitcode})")
        return {"connected": sum(s["connected"] for s in every),
                "max_latency": max(s["max_latency"] for s in every),
                "acked": sum(s["acked"] for s in every),
                "back": sum(s["back"] for s in every),
                "back_at": max(s["back_at"] for s in every),
                "victim_dropped": max(s["victim_dropped"] for s in every),
                "victim_refused": max(s["victim_refused"] for s in every)}

    def stop(self) -> None:
        for pipe in self.pipes:
            with suppress(OSError):
                pipe.send(("stop", None))
        for proc in self.procs:
            proc.join(15)
            if proc.is_alive():
                proc.kill()
                proc.join()


def start_workers(bench: Settings, devices: list[tuple[str, str]], period: float,
                  victim: str) -> Workers:
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    share = -(-len(devices) // WORKERS)
    for w in range(WORKERS):
        part = devices[w * share:(w + 1) * share]
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=worker_main, daemon=True, args=(
            bench.mqtt_host, bench.mqtt_port, part, w * share, period, victim, theirs))
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    return Workers(pipes, procs)


# --- the run --------------------------------------------------------------------------------

def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``check`` until true; the wall clock when it was."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.time()


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_fleet_bench(settings: Settings, *, devices: int, connected: int, period: float,
                    keep: bool, say: Callable[[str], None]) -> bool:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the broker inherits it
    if connected > hard - SPARE_FDS:
        raise ServiceError(f"--connected {connected}: the broker may open at most {hard} files "
                           f"here (hard RLIMIT_NOFILE), so at most {hard - SPARE_FDS} tags")
    if not 2 <= connected <= devices:
        raise ServiceError("--connected must be between 2 and --devices")
    bench = bench_settings(settings)
    say(f"fleet bench: {devices:,} devices, {connected:,} connected from {SOURCES} loopback "
        f"addresses, a reading every {period:g} s each ({connected / period:,.0f}/s), QoS 1; "
        f"Mosquitto password file + SIGHUP; {os.cpu_count()} cores; {load()}")
    services.mosquitto_down(bench)
    shutil.rmtree(bench.state_dir, ignore_errors=True)
    (bench.state_dir / "logs").mkdir(parents=True)
    bench_db.recreate(settings, bench)
    with ExitStack() as stack:
        if not keep:
            stack.callback(bench_db.drop, settings, BENCH_DB)
        stack.callback(services.mosquitto_down, bench)
        tags: list[tuple[str, str]] = []

        # Provision.
        started = time.monotonic()
        with psycopg.connect(bench.database_url) as conn:
            for _ in range(min(PEER_ONE_BY_ONE, devices)):
                tags += [(c.device_id, c.password) for c in provision(conn, SKU, 1)]
                conn.commit()
            one_by_one = (time.monotonic() - started) / len(tags)
            made = len(tags)
            shown = 0
            while made < devices:
                batch = provision(conn, SKU, min(BATCH, devices - made))
                conn.commit()
                made += len(batch)
                if len(tags) < connected:
                    tags += [(c.device_id, c.password) for c in batch[:connected - len(tags)]]
                if made // 100_000 > shown:
                    shown = made // 100_000
                    say(f"  {made:,} provisioned, {time.monotonic() - started:.0f} s")
            rendered = time.monotonic()
            sync_broker(conn, bench)
            provision_s = time.monotonic() - started
            render_s = time.monotonic() - rendered
        say(f"provision  {devices:,} in {provision_s:.1f} s ({devices / provision_s:,.0f}/s), "
            f"of which rendering the password file once {render_s:.1f} s; one tag per call: "
            f"{one_by_one * 1000:.2f} ms each, {one_by_one * 1e6 / 60:.1f} min for 1,000,000")

        up = time.monotonic()
        services.mosquitto_up(bench)
        say(f"broker     started with {devices:,} password lines in "
            f"{time.monotonic() - up:.1f} s")
        gateways = Gateways(bench, 1, bench.state_dir / "logs", group="fleet")
        stack.callback(gateways.stop)
        gateways.start()

        victim = tags[1][0]
        workers = start_workers(bench, tags[:connected], period, victim)
        stack.callback(workers.stop)
        t0 = time.monotonic()
        wait_for(lambda: workers.stats()["connected"] >= connected, 600,
                 f"{connected} tags to connect")
        say(f"connect    {connected:,} tags connected in {time.monotonic() - t0:.1f} s; {load()}")
        time.sleep(period * 1.5)  # every tag has published at least once

        workers.ask("reset")
        time.sleep(10)
        quiet_ms = workers.stats()["max_latency"] * 1000
        say(f"quiet      longest PUBACK wait over 10 s without changes: {quiet_ms:,.0f} ms")

        # Revoke.
        workers.ask("reset")
        revoked_at = time.time()
        with psycopg.connect(bench.database_url) as conn:
            revoke(conn, victim)
            conn.commit()
            sync_started = time.monotonic()
            sync_broker(conn, bench)
            sync_s = time.monotonic() - sync_started
        refused = wait_for(lambda: workers.stats()["victim_refused"] > 0, 120,
                           "the revoked tag to be refused")
        time.sleep(2)
        figures = workers.stats()
        revoke_s = refused - revoked_at
        dropped_s = figures["victim_dropped"] - revoked_at
        stall_ms = figures["max_latency"] * 1000
        say(f"revoke     dropped after {dropped_s:.2f} s, refused after {revoke_s:.2f} s "
            f"(render {sync_s:.2f} s, then SIGHUP); longest PUBACK wait of the other "
            f"{connected - 1:,} tags: {stall_ms:,.0f} ms; {load()}")

        # Restart.
        workers.ask("mark", time.time())
        stopped_at = time.time()
        say(f"           (stopping the broker at {stopped_at:.3f})")
        services.mosquitto_down(bench)
        services.mosquitto_up(bench)
        up_s = time.time() - stopped_at
        back = wait_for(lambda: workers.stats()["back"] >= connected - 1, 600,
                        f"{connected - 1} tags to publish again")
        reconnect_s = workers.stats()["back_at"] - stopped_at
        say(f"restart    broker stopped and listening again after {up_s:.1f} s; "
            f"{connected - 1:,} tags back and acknowledged {reconnect_s:.1f} s after the stop "
            f"(seen {back - stopped_at:.1f} s); {load()}")

        # Lost.
        workers.ask("quiet")
        time.sleep(3)
        acked = [row for part in workers.ask("acked") for row in part]
        with psycopg.connect(bench.database_url) as conn:
            conn.execute("CREATE TEMP TABLE acked (device_id text, ms bigint)")
            with conn.cursor() as cur, cur.copy("COPY acked FROM STDIN") as copy:
                for row in acked:
                    copy.write_row(row)

            def missing() -> int:
                row = conn.execute(
                    "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM readings r "
                    "WHERE r.device_id = a.device_id AND r.metric = 'flow_l' "
                    "AND r.time = timestamptz 'epoch' + a.ms * interval '1 millisecond')"
                ).fetchone()
                return int(row[0]) if row else 0
            deadline = time.monotonic() + 60
            lost = missing()
            while lost and time.monotonic() < deadline:
                time.sleep(1)
                lost = missing()
            if lost and keep:
                conn.execute("CREATE TABLE bench_lost AS SELECT * FROM acked a WHERE NOT EXISTS "
                             "(SELECT 1 FROM readings r WHERE r.device_id = a.device_id "
                             "AND r.time = timestamptz 'epoch' + a.ms * interval '1 millisecond')")
                conn.commit()
        say(f"lost       {lost:,} of {len(acked):,} acknowledged readings not in the database")

    ok = {"provision": provision_s < PROVISION_TARGET_S * devices / 1_000_000,
          "revoke": revoke_s < REVOKE_TARGET_S, "stall": stall_ms <= STALL_TARGET_MS,
          "reconnect": reconnect_s < RECONNECT_TARGET_S, "lost": lost == 0}
    say(f"targets    provision {devices:,} < {PROVISION_TARGET_S * devices / 1e6:.0f} s "
        f"(10 min per million): {met(ok['provision'])}; revocation < {REVOKE_TARGET_S:g} s: "
        f"{met(ok['revoke'])}; no other publish stalled > {STALL_TARGET_MS:g} ms: "
        f"{met(ok['stall'])}; back within {RECONNECT_TARGET_S:g} s of a restart: "
        f"{met(ok['reconnect'])}; nothing lost: {met(ok['lost'])}")
    say(f"fleet: devices {devices} provision_s {provision_s:.1f} revoke_s {revoke_s:.2f} "
        f"stall_ms {stall_ms:.0f} reconnect_s {reconnect_s:.1f} lost {lost}")
    return all(ok.values())

