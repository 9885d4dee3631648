"""The one writer: a batch of MQTT messages in, one committed transaction out.

Readings go by binary COPY into a per-connection staging table, then into ``readings`` with
``INSERT ... ON CONFLICT DO NOTHING`` on the natural key (device, metric, time), so a message
delivered twice is stored once. Without TimescaleDB the same statement maintains the exact
hourly and daily rollups from the rows it really inserted; with it, continuous aggregates do.
Messages that cannot be stored become dead letters in the same transaction. Only after the
commit does the caller acknowledge the batch to the broker.

SenML packs add three things, in the same transaction: times relative to "now" are counted
from the pack's anchor (``senml_anchors``: when ``(device, seq)`` was first received), sums
of interval metrics become interval readings (``sum_bounds``, :mod:`device_gateway.sums`),
and the device state the catalog names goes into ``device_state`` (the latest value wins).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from customers import store as customers
from device_gateway.payloads import (
    Event,
    Limits,
    Readings,
    SenmlPack,
    Settled,
    State,
    Status,
    convert,
    settle,
)
from device_gateway.sums import Bounds, intervals
from homeloop.db import Conn, has_timescaledb
from homeloop.errors import DomainError, PayloadError

log = logging.getLogger(__name__)

DEAD_LETTER_KEEP_BYTES = 64 * 1024
KNOWN_DEVICE_TTL_S = 60.0
LAST_SEEN_FLUSH_S = 5.0

STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_readings (
    ts_ms bigint NOT NULL, device_id text NOT NULL, metric text NOT NULL,
    value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""

SELECT_STAGED = """
SELECT timestamptz 'epoch' + ts_ms * interval '1 millisecond', device_id, metric, value
FROM stage_readings
"""

INSERT_PLAIN = f"""
INSERT INTO readings (time, device_id, metric, value) {SELECT_STAGED}
ON CONFLICT DO NOTHING
"""

ANCHOR = """
INSERT INTO senml_anchors (device_id, seq, anchored_at)
SELECT d, s, timestamptz 'epoch' + ms * interval '1 millisecond'
FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS u(d, s, ms)
ON CONFLICT DO NOTHING
"""

ANCHORS = """
SELECT a.device_id, a.seq, (extract(epoch FROM a.anchored_at) * 1000)::bigint
FROM senml_anchors a JOIN unnest(%s::text[], %s::bigint[]) AS u(d, s)
  ON a.device_id = u.d AND a.seq = u.s
"""

MS = "(extract(epoch FROM {0}) * 1000)::bigint"
BOUNDS = f"""
SELECT b.device_id, b.metric, {MS.format("b.first_time")}, b.first_sum,
       {MS.format("b.last_time")}, b.last_sum
FROM sum_bounds b JOIN unnest(%s::text[], %s::text[]) AS u(d, m)
  ON b.device_id = u.d AND b.metric = u.m
"""

SET_BOUNDS = """
INSERT INTO sum_bounds (device_id, metric, first_time, first_sum, last_time, last_sum)
VALUES (%s, %s, timestamptz 'epoch' + %s * interval '1 millisecond', %s,
        timestamptz 'epoch' + %s * interval '1 millisecond', %s)
ON CONFLICT (device_id, metric) DO UPDATE SET
    first_time = excluded.first_time, first_sum = excluded.first_sum,
    last_time = excluded.last_time, last_sum = excluded.last_sum
"""

SET_STATE = """
INSERT INTO device_state AS s (device_id, key, value, at)
VALUES (%s, %s, %s, timestamptz 'epoch' + %s * interval '1 millisecond')
ON CONFLICT (device_id, key) DO UPDATE SET value = excluded.value, at = excluded.at
WHERE excluded.at > s.at
"""


def _rollup(table: str, unit: str, source: str) -> str:
    return f"""
INSERT INTO {table} AS r (device_id, metric, bucket, n, total, min, max, last_time, last_value)
SELECT device_id, metric, date_trunc('{unit}', time, 'UTC'), count(*), sum(value), min(value),
       max(value), max(time), (array_agg(value ORDER BY time DESC))[1]
FROM {source} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
    n = r.n + excluded.n, total = r.total + excluded.total,
    min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
    last_value = CASE WHEN excluded.last_time >= r.last_time
                      THEN excluded.last_value ELSE r.last_value END,
    last_time = greatest(r.last_time, excluded.last_time)
RETURNING 1
"""


# Portable path: the rows really inserted feed both rollups, in the same statement.
INSERT_WITH_ROLLUPS = f"""
WITH ins AS (
    INSERT INTO readings (time, device_id, metric, value) {SELECT_STAGED}
    ON CONFLICT DO NOTHING
    RETURNING time, device_id, metric, value
), hourly AS ({_rollup("readings_hourly", "hour", "ins")}
), daily AS ({_rollup("readings_daily", "day", "ins")})
SELECT count(*) FROM ins
"""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One MQTT message as the network loop saw it. ``gen`` is the connection it came on."""

    mid: int
    topic: str
    payload: bytes
    qos: int
    received_at: float
    gen: int = 0
    content_type: str | None = None  # the MQTT 5 Content Type property, when it has one


@dataclass(slots=True)
class BatchResult:
    messages: int = 0
    readings_offered: int = 0
    readings_written: int = 0
    events_written: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    dead_reasons: list[str] = field(default_factory=list)

    def merge(self, other: BatchResult) -> None:
        self.messages += other.messages
        self.readings_offered += other.readings_offered
        self.readings_written += other.readings_written
        self.events_written += other.events_written
        self.dead_letters += other.dead_letters
        self.seconds += other.seconds
        self.dead_reasons += other.dead_reasons


class BatchWriter:
    """Owns one database connection; call :meth:`write` from a single thread."""

    def __init__(self, database_url: str, limits: Limits) -> None:
        self._url = database_url
        self._limits = limits
        self._conn: Conn | None = None
        self._timescale = False
        self._known: dict[str, float] = {}
        self._last_seen: dict[str, float] = {}
        self._last_seen_flushed = time.monotonic()

    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._url, autocommit=False)
            self._conn.execute(STAGE)
            self._timescale = has_timescaledb(self._conn)
            self._conn.commit()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()

    def write(self, batch: Sequence[Incoming]) -> BatchResult:
        """Store a batch in one transaction. Raises psycopg errors for the caller to retry."""
        started = time.perf_counter()
        now_ms = int(time.time() * 1000)
        result = BatchResult(messages=len(batch))
        converted: list[tuple[Incoming, Readings | Event | Status | SenmlPack]] = []
        dead: list[tuple[Incoming, str]] = []
        for msg in batch:
            try:
                converted.append((msg, convert(msg.topic, msg.payload, now_ms, self._limits,
                                               msg.content_type)))
            except PayloadError as exc:
                dead.append((msg, exc.reason))

        conn = self._connection()
        with conn.transaction():
            unknown = self._unknown_devices(conn, {item.device_id for _, item in converted})
            readings: list[Readings] = []
            events: list[Event] = []
            statuses: list[Status] = []
            packs: list[tuple[Incoming, SenmlPack]] = []
            for msg, item in converted:
                if item.device_id in unknown and isinstance(item, Status):
                    continue  # a retained status a revoked or deleted device left behind
                if item.device_id in unknown:
                    dead.append((msg, f"device {item.device_id!r} is not provisioned "
                                      "or was revoked"))
                    continue
                self._last_seen[item.device_id] = msg.received_at
                if isinstance(item, Readings):
                    readings.append(item)
                elif isinstance(item, Event):
                    events.append(item)
                elif isinstance(item, SenmlPack):
                    packs.append((msg, item))
                else:
                    statuses.append(item)
            states: list[State] = []
            sums: list[tuple[str, int, str, float]] = []
            for settled in self._settle(conn, packs, now_ms, dead):
                readings.append(settled.readings)
                events += settled.events
                states += settled.states
                sums += [(settled.readings.device_id, ms, metric, value)
                         for ms, metric, value in settled.sums]
            if sums:
                readings += self._intervals(conn, sums)
            result.readings_offered = sum(len(r.rows) for r in readings)
            if result.readings_offered:
                result.readings_written = self._write_readings(conn, readings)
            for event in events:
                result.events_written += self._write_event(conn, event)
            if states:
                with conn.cursor() as cur:
                    cur.executemany(SET_STATE, [(st.device_id, st.key, json.dumps(st.value),
                                                 st.ts_ms) for st in states])
            for status in statuses:
                conn.execute("UPDATE devices SET online = %s, status_at = now() WHERE id = %s",
                             (status.online, status.device_id))
            if dead:
                self._write_dead(conn, dead)
            self._flush_last_seen(conn)
        result.dead_letters = len(dead)
        result.dead_reasons = [reason for _, reason in dead]
        result.seconds = time.perf_counter() - started
        return result

    def _settle(self, conn: Conn, packs: list[tuple[Incoming, SenmlPack]], now_ms: int,
                dead: list[tuple[Incoming, str]]) -> list[Settled]:
        """The packs at absolute times; a pack with relative times is counted from its
        anchor, the first receipt of ``(device, seq)``, which this batch may be."""
        first: dict[tuple[str, int], int] = {}
        for msg, pack in packs:
            if pack.relative and pack.seq is not None:
                key = (pack.device_id, pack.seq)
                first[key] = min(first.get(key, 2**62), round(msg.received_at * 1000))
        anchors: dict[tuple[str, int], int] = {}
        if first:
            devices, seqs = [k[0] for k in first], [k[1] for k in first]
            conn.execute(ANCHOR, (devices, seqs, list(first.values())))
            anchors = {(d, s): int(ms) for d, s, ms in
                       conn.execute(ANCHORS, (devices, seqs)).fetchall()}
        settled: list[Settled] = []
        for msg, pack in packs:
            anchor = anchors.get((pack.device_id, pack.seq)) if pack.seq is not None else None
            try:
                settled.append(settle(pack, anchor, now_ms, self._limits))
            except PayloadError as exc:
                dead.append((msg, exc.reason))
        return settled

    def _intervals(self, conn: Conn, sums: list[tuple[str, int, str, float]]) -> list[Readings]:
        """Interval readings from the sums of interval metrics (:mod:`device_gateway.sums`).

        Each device and metric is locked for the transaction first (gateways share a
        device's messages), so two batches never count the same span."""
        by_key: dict[tuple[str, str], list[tuple[int, float]]] = {}
        for device_id, ms, metric, value in sums:
            by_key.setdefault((device_id, metric), []).append((ms, value))
        keys = sorted(by_key)
        for device_id, metric in keys:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                         (f"sum_bounds/{device_id}/{metric}",))
        known = {(d, m): Bounds(int(f), float(fs), int(last), float(ls))
                 for d, m, f, fs, last, ls in conn.execute(
                     BOUNDS, ([k[0] for k in keys], [k[1] for k in keys])).fetchall()}
        added: list[Readings] = []
        updates = []
        for key in keys:
            rows, bounds = intervals(known.get(key), by_key[key])
            if bounds is not None and bounds != known.get(key):
                updates.append((*key, bounds.first_ms, bounds.first_sum, bounds.last_ms,
                                bounds.last_sum))
            if rows:
                added.append(Readings(key[0], [(ms, key[1], value) for ms, value in rows]))
        if updates:
            with conn.cursor() as cur:
                cur.executemany(SET_BOUNDS, updates)
        return added

    def write_dead(self, batch: Sequence[Incoming], reason: str) -> BatchResult:
        """Keep messages the database would not take as dead letters, in one transaction."""
        conn = self._connection()
        with conn.transaction():
            self._write_dead(conn, [(msg, reason) for msg in batch])
        return BatchResult(messages=len(batch), dead_letters=len(batch),
                           dead_reasons=[reason] * len(batch))

    def _unknown_devices(self, conn: Conn, ids: set[str]) -> set[str]:
        now = time.monotonic()
        missing = [i for i in ids if self._known.get(i, 0.0) < now]
        if not missing:
            return set()
        rows = conn.execute("SELECT id FROM devices WHERE id = ANY(%s) AND revoked_at IS NULL",
                            (missing,)).fetchall()
        for (dev,) in rows:
            self._known[dev] = now + KNOWN_DEVICE_TTL_S
        return set(missing) - {r[0] for r in rows}

    def _write_readings(self, conn: Conn, readings: list[Readings]) -> int:
        with conn.cursor() as cur:
            with cur.copy("COPY stage_readings (ts_ms, device_id, metric, value) "
                          "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "text", "text", "float8"])
                for r in readings:
                    dev = r.device_id
                    for ts, metric, value in r.rows:
                        copy.write_row((ts, dev, metric, value))
            if self._timescale:
                cur.execute(INSERT_PLAIN)
                return cur.rowcount
            row = cur.execute(INSERT_WITH_ROLLUPS).fetchone()
            return int(row[0]) if row else 0

    def _write_event(self, conn: Conn, event: Event) -> int:
        data = dict(event.data)
        if event.kind == "nfc_tap" and "customer_id" in data:
            data["claim"] = self._claim_from_tap(conn, event, data["customer_id"])
        row = conn.execute(
            "INSERT INTO events (time, device_id, kind, data) "
            "VALUES (timestamptz 'epoch' + %s * interval '1 millisecond', %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (event.ts_ms, event.device_id, event.kind, json.dumps(data))).fetchone()
        return 1 if row else 0

    def _claim_from_tap(self, conn: Conn, event: Event, customer_id: object) -> str:
        if not isinstance(customer_id, int) or isinstance(customer_id, bool):
            return "rejected: customer_id must be an integer"
        if not customers.is_live(conn, customer_id):
            return f"rejected: customer {customer_id} does not exist"
        try:
            with conn.transaction():  # a savepoint: a refused claim keeps the batch
                customers.claim(conn, customer_id, device_id=event.device_id, via="nfc_tap")
        except DomainError as exc:
            return f"rejected: {exc.detail}"
        return "ok"

    def _write_dead(self, conn: Conn, dead: list[tuple[Incoming, str]]) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dead_letters (received_at, topic, payload, payload_size, reason) "
                "VALUES (to_timestamp(%s), %s, %s, %s, %s)",
                [(m.received_at, m.topic[:1024], m.payload[:DEAD_LETTER_KEEP_BYTES],
                  len(m.payload), reason) for m, reason in dead])

    def flush_last_seen(self) -> None:
        """Record when devices were last heard from, when the writer is idle."""
        if self._last_seen and time.monotonic() - self._last_seen_flushed >= LAST_SEEN_FLUSH_S:
            conn = self._connection()
            with conn.transaction():
                self._flush_last_seen(conn)

    def _flush_last_seen(self, conn: Conn) -> None:
        now = time.monotonic()
        if now - self._last_seen_flushed < LAST_SEEN_FLUSH_S or not self._last_seen:
            return
        ids, seen = zip(*self._last_seen.items(), strict=True)
        conn.execute(
            "UPDATE devices d SET last_seen_at = greatest(d.last_seen_at, to_timestamp(u.t)) "
            "FROM unnest(%s::text[], %s::float8[]) AS u(id, t) WHERE d.id = u.id",
            (list(ids), list(seen)))
        self._last_seen.clear()
        self._last_seen_flushed = now
