"""A fleet simulator: tags that behave like real products, publishing with their own credentials.

Each device first replays ``history_days`` of its past (a tag's offline backlog, with the
original timestamps, one report per 15 minutes), then reports live. Behaviour by category:
a purifier's daily flow with a morning/evening and weekend pattern, a dishwasher's cumulative
cycle count and falling rinse-aid level with refills, a detergent dispenser's level falling
per wash with refills, a coffee machine's cumulative cup count, a smart toilet's flushes;
battery decay everywhere and rare faults.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from homeloop.settings import Settings

log = logging.getLogger(__name__)
STEP_MS = 15 * 60 * 1000
TAGGED_SKUS = ("WP-500", "DW-60", "LD-DISP", "CM-100", "WC-300-SMART")
HOUR_PROFILE = [0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 1.8, 1.2, 0.6, 0.5, 0.7, 1.3, 0.9, 0.5,
                0.5, 0.6, 0.9, 1.6, 1.9, 1.4, 1.0, 0.6, 0.3]


@dataclass(slots=True)
class Device:
    device_id: str
    password: str
    sku: str
    rng: random.Random
    state: dict[str, float] = field(default_factory=dict)

    def step(self, ts_ms: int, dt_ms: int = STEP_MS) -> tuple[dict[str, float],
                                                              list[dict[str, Any]]]:
        """Advance ``dt_ms`` to ``ts_ms``; return the readings and any events.

        Rates are per 15-minute slot and scaled by ``dt_ms``, so live reports a fraction of a
        second apart carry a fraction of a second's use: the pace stays a household's.
        """
        s, rng = self.state, self.rng
        f = dt_ms / STEP_MS
        hour = (ts_ms // 3_600_000 + 8) % 24  # the fleet lives in UTC+8
        weekday = ((ts_ms // 86_400_000) + 3) % 7  # 1970-01-01 was a Thursday
        activity = HOUR_PROFILE[hour] * (1.3 if weekday >= 5 else 1.0)
        s["battery"] = max(0.05, s.get("battery", 1.0) - (0.00002 + rng.random() * 0.00001) * f)
        m: dict[str, float] = {"battery": round(s["battery"], 4)}
        events: list[dict[str, Any]] = []
        if self.sku == "WP-500":
            daily = s.setdefault("daily_l", rng.uniform(6, 16))
            flow = max(0.0, daily / 96 * f * activity * rng.lognormvariate(0, 0.35))
            m["flow_l"] = round(flow, 3)
            m["temp_c"] = round(17 + 3 * math.sin(ts_ms / 86_400_000 * 2 * math.pi)
                                + rng.gauss(0, 0.3), 2)
            s["filter_l"] = s.get("filter_l", rng.uniform(0, 1500)) + flow
            if s["filter_l"] > 2000:
                s["filter_l"] = 0.0
                events.append({"kind": "replaced", "data": {"part": "FLT-PP-1"}})
        elif self.sku in ("DW-60", "LD-DISP"):
            per_slot = (0.9 if self.sku == "DW-60" else 0.7) / 96 * f * activity
            level = s.setdefault("level", rng.uniform(0.3, 1.0))
            if rng.random() < per_slot:
                s["count"] = s.get("count", rng.randint(0, 300)) + 1
                level -= rng.uniform(0.015, 0.03)
            if level < 0.08 and rng.random() < 0.05 * f:
                level = 1.0
                events.append({"kind": "refill", "data": {"level": 1.0}})
            s["level"] = max(0.0, level)
            m["level"] = round(s["level"], 4)
            if "count" in s:
                m["count"] = s["count"]
        elif self.sku == "CM-100":
            cups = int(rng.random() < 0.04 * f * activity)  # about 3 cups a day
            s["count"] = s.get("count", rng.randint(0, 2000)) + cups
            m["count"] = s["count"]
        elif self.sku == "WC-300-SMART":
            flushes = int(rng.random() < 0.2 * f * activity)  # about 15 flushes a day
            s["count"] = s.get("count", rng.randint(0, 5000)) + flushes
            m["count"] = s["count"]
            m["flow_l"] = round(flushes * rng.uniform(3.5, 4.5), 2)
        if rng.random() < 0.0005 * f:
            code = rng.choice([11, 23, 42])
            m["error_code"] = code
            events.append({"kind": "fault", "data": {"code": code}})
        return m, events


def _load_credentials(path: Path) -> list[tuple[str, str, str]]:
    rows = json.loads(path.read_text())
    return [(r["device_id"], r["password"], r["sku"]) for r in rows]


def provision_fleet(settings: Settings, devices: int) -> list[tuple[str, str, str]]:
    from device_gateway.provisioning import provision, sync_broker
    from homeloop.db import connect

    made: list[tuple[str, str, str]] = []
    with connect(settings) as conn:
        for i, sku in enumerate(TAGGED_SKUS):
            n = devices // len(TAGGED_SKUS) + (1 if i < devices % len(TAGGED_SKUS) else 0)
            # two production batches of each product, as a factory ships them
            for batch, size in (("L2026-10", n - n // 2), ("L2026-11", n // 2)):
                if size:
                    made += [(c.device_id, c.password, c.sku)
                             for c in provision(conn, sku, size, batch)]
        conn.commit()
        sync_broker(conn, settings)
    return made


class Publisher:
    """One MQTT client per device, flow-controlled so QoS 1 never outruns the broker."""

    def __init__(self, settings: Settings, device: Device) -> None:
        self.device = device
        self.connected = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device.device_id,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(device.device_id, device.password)
        self.client.max_inflight_messages_set(50)
        self.client.max_queued_messages_set(500)
        self.client.will_set(f"tags/{device.device_id}/status", b"offline", qos=1, retain=True)
        self.client.on_connect = lambda c, u, f, rc, p: (
            self.connected.set() if not rc.is_failure
            else log.error("%s: %s", device.device_id, rc))
        self.client.connect_async(settings.mqtt_host, settings.mqtt_port, keepalive=30)
        self.client.loop_start()

    def publish(self, kind: str, payload: dict[str, Any] | bytes, retain: bool = False) -> bool:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(f"tags/{self.device.device_id}/{kind}", data, qos=1,
                                   retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def close(self) -> None:
        self.publish("status", b"offline", retain=True)
        self.client.disconnect()
        self.client.loop_stop()


def _messages(device: Device, start_ms: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """The device's backlog (15-minute steps up to now), then live reports."""
    ts = start_ms
    while True:
        now = int(time.time() * 1000)
        previous = ts
        ts = ts + STEP_MS if ts + STEP_MS <= now else max(now, ts + 1)
        m, events = device.step(ts, ts - previous)
        yield "readings", {"ts": ts, "m": m}
        for i, event in enumerate(events):
            yield "events", {"ts": ts + i, **event}


def run_simulation(settings: Settings, *, devices: int, rate: float, duration: float,
                   credentials: Path | None = None, history_days: float = 0.0,
                   stop: threading.Event | None = None, seed: int = 7,
                   fleet: list[tuple[str, str, str]] | None = None) -> int:
    """Publish until ``duration`` seconds pass (0: until ``stop`` is set); return the count."""
    if fleet is None:
        fleet = (_load_credentials(credentials) if credentials
                 else provision_fleet(settings, devices))
    creds = fleet[:devices]
    rng = random.Random(seed)
    pubs = [Publisher(settings, Device(d, p, s, random.Random(rng.random())))
            for d, p, s in creds]
    for pub in pubs:
        if not pub.connected.wait(10):
            raise RuntimeError(f"{pub.device.device_id} could not connect to the broker")
        pub.publish("status", b"online", retain=True)
    start_ms = int(time.time() * 1000 - history_days * 86_400_000)
    streams = [_messages(pub.device, start_ms) for pub in pubs]
    stop = stop or threading.Event()
    sent, began = 0, time.monotonic()
    interval = 1.0 / rate if rate > 0 else 0.0
    try:
        while not stop.is_set() and (duration <= 0 or time.monotonic() - began < duration):
            for pub, stream in zip(pubs, streams, strict=True):
                kind, payload = next(stream)
                while not pub.publish(kind, payload):
                    time.sleep(0.01)  # the client's queue is full: let it drain
                sent += 1
                lag = began + sent * interval - time.monotonic()
                if lag > 0:
                    stop.wait(lag)
                if stop.is_set():
                    break
    finally:
        for pub in pubs:
            pub.close()
    log.info("simulator published %d messages from %d devices", sent, len(pubs))
    return sent
