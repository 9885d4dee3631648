"""``homeloop bench offers --workers N``: the fleet's offers and forecasts as chunks of
customers on N real Celery workers.

The data is :mod:`devtools.bench.offers`'s (N product instances, their customers, devices and
stored forecasts, set-based in SQL). Then ``N`` worker processes (``homeloop worker
--concurrency 1``, the project's own command) start on the local Redis, on a database of its
own (``BENCH_REDIS_DB``), against the bench database, and this process does what beat does:

1. **offers**: first the peer, one evaluation of everyone in one transaction in this
   process (what ran before the split), whose offers are then removed again; then
   :func:`replenishment.tasks.fan_out_offers` sends one ``replenishment.evaluate_offers_chunk``
   per ``fleet_chunk_customers`` customers, all at the same ``now``; the wall time runs from
   the first message to the last chunk's result. Then the same fan-out again, which must
   create nothing (every chunk's offers stand).
2. **forecasts**: the devices of the first chunks' customers (at least ``forecast_sample``
   instances) get eight weeks of daily readings, written with ``COPY`` (a filter's litres a
   day, a dishwasher's or coffee machine's counter, a detergent tank's level); their chunks
   are sent as ``replenishment.forecast_chunk`` and timed the same way. Forecasting reads
   and fits timelines per instance, so the sample's rate says what the whole fleet takes.

CPU is read from ``/proc/<pid>/task/*/schedstat`` every 0.1 s (as ``bench ingest`` does):
the worker processes and their children; the ``postgres`` backends whose title names the
bench database, a lower bound (a chunk's connection lives about a second, and one that
ends between two samples loses its last 0.1 s; parallel query workers do not name the
database); and every ``postgres`` process of the server, an upper bound (other work on the
server counts too).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from celery import Celery

from devtools.bench.ingest import cpu_by_pid
from homeloop import clock
from homeloop.settings import Settings, secrets_environment
from homeloop.worker import make_celery
from replenishment import offers
from replenishment.offers_store import Customers
from replenishment.service import RAW_WEEKS
from replenishment.tasks import customer_chunks, fan_out_offers

__all__ = ["BENCH_REDIS_DB", "ChunkRun", "Cpu", "run_forecasts", "run_offers", "workers"]

BENCH_REDIS_DB = 15  # the development stack's Celery uses db 0, the test slots 1-9
FLOOR_SECONDS = 60.0  # 1,000,000 instances in under a minute with two workers
SAMPLE_EVERY_S = 0.1


# --- CPU by group ---------------------------------------------------------------------------

def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Cpu:
    """CPU seconds of the workers (and their children) and of PostgreSQL between enter and
    exit, sampled in a thread."""

    roots: list[int]
    database: str
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    group: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def _classify(self, pid: int) -> str:
        if pid not in self.group:
            ancestor, hops = pid, 0
            while ancestor > 1 and hops < 6:
                if ancestor in self.roots:
                    self.group[pid] = "workers"
                    break
                ancestor, hops = _parent(ancestor), hops + 1
            else:
                # the bench database's backends (their title names it); parallel workers'
                # titles do not, so theirs counts as "other"
                if _comm(pid) != "postgres":
                    self.group[pid] = "other"
                elif self.database in _cmdline(pid):
                    self.group[pid] = "postgres"
                else:
                    self.group[pid] = "postgres elsewhere"
        return self.group[pid]

    def _sample(self) -> None:
        for pid, used in cpu_by_pid().items():
            self._classify(pid)
            self.first.setdefault(pid, used)
            self.last[pid] = max(self.last.get(pid, 0.0), used)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def __enter__(self) -> Cpu:
        self._sample()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.seconds = time.perf_counter() - self._started

    def used(self, group: str) -> float:
        return sum(self.last[p] - self.first.get(p, 0.0) for p in self.last
                   if self.group.get(p) == group)


# --- workers --------------------------------------------------------------------------------

@contextmanager
def workers(settings: Settings, bench: Settings, count: int,
            say: Callable[[str], None]) -> Iterator[tuple[Celery, list[int]]]:
    """``count`` worker processes on the bench database and Redis db; the app to send with."""
    redis_url = settings.redis_url.rsplit("/", 1)[0] + f"/{BENCH_REDIS_DB}"
    env = {**os.environ, **secrets_environment(settings),
           "HOMELOOP_DATABASE_URL": bench.database_url, "HOMELOOP_REDIS_URL": redis_url,
           "HOMELOOP_FLEET_CHUNK_CUSTOMERS": str(bench.fleet_chunk_customers)}
    app = make_celery(bench.model_copy(update={"redis_url": redis_url}))
    app.control.purge()
    procs = [subprocess.Popen([sys.executable, "-m", "homeloop", "worker", "--concurrency", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(count)]
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=0.5) or []) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} workers did not answer within 60 s")
        say(f"  {count} workers up (homeloop worker --concurrency 1 each, Redis db "
            f"{BENCH_REDIS_DB})")
        yield app, [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        app.close()


@dataclass(frozen=True, slots=True)
class ChunkRun:
    seconds: float
    chunks: int
    totals: dict[str, int]
    worker_cpu_s: float
    postgres_cpu_s: float  # the bench database's backends seen (a lower bound)
    postgres_all_cpu_s: float  # every postgres process (an upper bound: other work too)
    other_cpu_s: float


def _join(app: Celery, sent: list[object], timeout_s: float) -> dict[str, int]:
    totals: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    for result in sent:
        done = result.get(timeout=max(1.0, deadline - time.monotonic()))  # type: ignore[attr-defined]
        for k, v in done.items():
            if isinstance(v, int):
                totals[k] = totals.get(k, 0) + v
    return totals


def run_offers(app: Celery, bench: Settings, pids: list[int], now: datetime,
               timeout_s: float) -> ChunkRun:
    """One offer run of the whole fleet at ``now``, fanned out as beat does, to the last
    chunk's result."""
    sent: list[object] = []
    with Cpu(pids, bench.database_url.rsplit("/", 1)[1]) as cpu:
        run = clock.now().isoformat()
        fanned = fan_out_offers(bench, run, lambda c: sent.append(app.send_task(
            "replenishment.evaluate_offers_chunk", (c.after, c.upto, run, now.isoformat()))))
        totals = _join(app, sent, timeout_s)
    return ChunkRun(cpu.seconds, fanned.chunks, totals, cpu.used("workers"),
                    cpu.used("postgres"), cpu.used("postgres") + cpu.used("postgres elsewhere"),
                    cpu.used("other"))


def evaluate_in_one(bench: Settings, now: datetime) -> tuple[float, offers.EvaluateResult]:
    """The peer: everyone's offers decided at ``now`` in one transaction in this process (what
    ran before the split); then they are removed again (``TRUNCATE``, ``VACUUM ANALYZE``), so
    the chunks start from the same data."""
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        start = time.perf_counter()
        with conn.transaction():
            result = offers.evaluate(conn, now, offers.OfferRules.from_settings(bench))
        seconds = time.perf_counter() - start
        conn.execute("TRUNCATE offers CASCADE")
        conn.execute("VACUUM ANALYZE offers, offer_lines")
        return seconds, result


TIMELINE_SQL = """
SELECT d.id, it.metric
FROM product_instances p JOIN devices d ON d.instance_id = p.id
JOIN (VALUES ('WP-500', 'flow_l'), ('WC-300-SMART', 'flow_l'), ('DW-60', 'count'),
             ('CM-100', 'count'), ('LD-DISP', 'level')) it(sku, metric) ON it.sku = p.sku
WHERE p.owner_id <= %s ORDER BY d.id
"""


def seed_timelines(bench: Settings, upto: int, now: datetime) -> tuple[int, int]:
    """Daily readings for the rate window (eight weeks) of the devices of customers up to
    ``upto``, by ``COPY``; returns (instances, readings)."""
    days = RAW_WEEKS * 7
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    stamps = [(start + timedelta(days=d, hours=12)).isoformat() for d in range(days)]
    rows = 0
    with psycopg.connect(bench.database_url) as conn:
        devices = conn.execute(TIMELINE_SQL, (upto,)).fetchall()
        with conn.cursor().copy("COPY readings (time, device_id, metric, value) FROM STDIN"
                                ) as copy:
            for n, (device, metric) in enumerate(devices):
                pace = 0.6 + (n % 17) / 16  # x0.6..x1.6 of an average household
                lines = []
                for d, t in enumerate(stamps):
                    if metric == "flow_l":
                        value = 11.0 * pace
                    elif metric == "count":
                        value = float(int(d * pace))
                    else:
                        value = max(0.0, 1.0 - ((d * pace / 45) % 1.0))
                    lines.append(f"{t}\t{device}\t{metric}\t{value}\n")
                copy.write("".join(lines))
                rows += len(lines)
        conn.commit()
        conn.execute("ANALYZE readings")
        conn.commit()
        instances = conn.execute("SELECT count(*) FROM product_instances p JOIN devices d "
                                 "ON d.instance_id = p.id WHERE p.owner_id <= %s",
                                 (upto,)).fetchone()
    return (int(instances[0]) if instances else 0), rows


def sample_chunks(bench: Settings, instances: int) -> list[Customers]:
    """The first chunks of customers that own at least ``instances`` tagged products."""
    chosen: list[Customers] = []
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        owned = 0
        for chunk in customer_chunks(conn, bench.fleet_chunk_customers):
            if owned >= instances:
                break
            row = conn.execute("SELECT count(*) FROM product_instances "
                               "WHERE owner_id > %s AND owner_id <= %s",
                               (chunk.after, chunk.upto)).fetchone()
            owned += int(row[0]) if row else 0
            chosen.append(chunk)
    return chosen


def run_forecasts(app: Celery, bench: Settings, pids: list[int], chunks: list[Customers],
                  timeout_s: float) -> ChunkRun:
    sent: list[object] = []
    with Cpu(pids, bench.database_url.rsplit("/", 1)[1]) as cpu:
        run = clock.now().isoformat()
        for c in chunks:
            sent.append(app.send_task("replenishment.forecast_chunk", (c.after, c.upto, run)))
        totals = _join(app, sent, timeout_s)
    return ChunkRun(cpu.seconds, len(chunks), totals, cpu.used("workers"),
                    cpu.used("postgres"), cpu.used("postgres") + cpu.used("postgres elsewhere"),
                    cpu.used("other"))
