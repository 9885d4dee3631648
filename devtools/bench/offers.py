"""``homeloop bench offers``: one full offer evaluation over N product instances.

Isolation: a database of its own (``homeloop_bench_offers``, dropped and re-created, migrated
with :func:`homeloop.migrate.upgrade` and seeded with :func:`catalog.seed.seed`), dropped again
at the end unless ``--keep``. The developer's ``homeloop`` database is never touched.

Data, generated set-based in SQL (``generate_series``, a fixed ``setseed``):

- about N/3 customers: 80 % ``zh-CN``; time zones mostly Asia/Shanghai, one in two elsewhere
  (Tokyo, Berlin, New York, Sydney, UTC) so that quiet hours fall differently; home stores
  45 % Xuhui, 30 % Pudong, 22 % Beijing, 3 % none; 4 % opted out of offers; 15 % granted
  marketing consent (upsell, cross-sell, points), 2 % refused replenishment pushes;
- N product instances, owners drawn at random (so some customers own several products and
  get bundles): water purifiers 25 %, dishwashers 20 %, coffee machines 20 %, detergent
  dispensers 15 %, smart toilets 10 %, oak floors 10 %; each with a device (its tag);
- one ``instance_forecasts`` row per instance and consumable or service of its SKU (both
  tablet packs, both pod packs, ... as the forecaster does), about 2.5 per instance: each
  item's cycle is its typical length (a 30-tablet pack 35 days, a PP filter 180 days, a
  floor care 730 days) times the household's pace (x0.6..x1.6), the days left uniform over
  the cycle, and 5 % with no end in sight (``days_left`` NULL); a day's use spreads by
  30-60 % of the pace and the pace itself by 5 % (``daily_sd``, ``rate_sd``), and
  ``risk_from`` is where the risk reaches the lowest threshold, as the forecast service
  stores it. So a few
  percent of the lines are due now (:mod:`replenishment.risk`), and a customer's items due
  the same week share an offer.

Generation runs with ``session_replication_role = replica`` (no foreign-key triggers: the rows
are consistent by construction), then ``VACUUM ANALYZE``, as autovacuum would have by the
time the 15-minute task runs.

Measured: one full evaluation (:func:`replenishment.offers.evaluate` in one transaction, what
:func:`replenishment.tasks.run_offers` does) at a fixed ``now``: wall seconds, split into its
steps (the :mod:`replenishment.offers_store` calls are wrapped with a timer; "wording" is the
rest, Python); the peak RSS of this process (``ru_maxrss``); the PostgreSQL backend's peak
private memory (``RssAnon`` of its ``/proc`` status, sampled every 20 ms; its ``VmHWM`` also
counts the shared buffers it touched) and its temporary-file bytes (``pg_stat_database``);
then a second evaluation at the same ``now``, which must create nothing.

With ``--workers N`` the same data is evaluated as chunks of customers on N real Celery
workers, and a sample of it forecast the same way (:mod:`devtools.bench.chunks`).
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import psycopg

from devtools.bench import chunks as chunks_module
from devtools.bench.db import bench_settings, drop, recreate
from homeloop import clock
from homeloop.settings import Settings
from replenishment import offers, offers_store, risk

__all__ = ["BENCH_DB", "run_offers_bench"]

BENCH_DB = "homeloop_bench_offers"
TARGET_SECONDS = 60.0
TARGET_MB = 1024.0

P = ParamSpec("P")
R = TypeVar("R")

GENERATE: list[tuple[str, str]] = [  # name, statements separated by ";\n"
    ("customers", """
INSERT INTO customers (id, display_name, locale, timezone, home_store_id, opted_out_at,
                       created_at)
SELECT g, 'Bench customer ' || g,
       CASE WHEN r.a < 0.8 THEN 'zh-CN' ELSE 'en-US' END,
       CASE WHEN r.b < 0.5 THEN 'Asia/Shanghai'
            ELSE (ARRAY['Asia/Tokyo', 'Europe/Berlin', 'America/New_York',
                        'Australia/Sydney', 'UTC'])[1 + floor((r.b - 0.5) * 10)::int] END,
       CASE WHEN r.c < 0.45 THEN 'SH-XUHUI' WHEN r.c < 0.75 THEN 'SH-PUDONG'
            WHEN r.c < 0.97 THEN 'BJ-SIYUAN' END,
       CASE WHEN r.d < 0.04 THEN %(now)s - interval '30 days' END,
       %(now)s - interval '800 days'
FROM generate_series(1, %(customers)s) g
CROSS JOIN LATERAL (SELECT random() AS a, random() AS b, random() AS c, random() AS d
                    WHERE g IS NOT NULL) r;
SELECT setval('customers_id_seq', %(customers)s);
"""),
    ("consents", """
INSERT INTO customer_consents (customer_id, kind, channel, granted, updated_at)
SELECT c.id, k.kind, 'push', true, %(now)s
FROM customers c CROSS JOIN (VALUES ('upsell'), ('crosssell'), ('points')) k(kind)
WHERE c.id %% 20 < 3;
INSERT INTO customer_consents (customer_id, kind, channel, granted, updated_at)
SELECT c.id, 'replenish', 'push', false, %(now)s FROM customers c WHERE c.id %% 50 = 7;
"""),
    ("instances", """
INSERT INTO product_instances (id, sku, tag_uid, owner_id, claimed_at, created_at)
SELECT g,
       CASE WHEN r.a < 0.25 THEN 'WP-500' WHEN r.a < 0.45 THEN 'DW-60'
            WHEN r.a < 0.65 THEN 'CM-100' WHEN r.a < 0.80 THEN 'LD-DISP'
            WHEN r.a < 0.90 THEN 'WC-300-SMART' ELSE 'FLOOR-OAK' END,
       'BENCH-' || g, 1 + floor(r.b * %(customers)s)::bigint,
       %(now)s - r.c * interval '700 days', %(now)s - interval '750 days'
FROM generate_series(1, %(instances)s) g
CROSS JOIN LATERAL (SELECT random() AS a, random() AS b, random() AS c
                    WHERE g IS NOT NULL) r;
SELECT setval('product_instances_id_seq', %(instances)s);
"""),
    ("devices", """
INSERT INTO devices (id, instance_id, password_hash, created_at, last_seen_at, online,
                     status_at)
SELECT 'bench-' || p.id, p.id, 'bench-not-a-hash', p.created_at,
       %(now)s - interval '10 minutes', true, %(now)s - interval '10 minutes'
FROM product_instances p;
"""),
    ("forecasts", """
INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, rate_per_day, used,
    remaining, days_left, days_left_low, days_left_high, confidence, basis, data_days,
    prior_weight, cycle_start, computed_at, due_at, daily_sd, rate_sd, pack_days_low,
    pack_days_high, risk_from)
SELECT x.id, x.item_sku, x.kind, x.metric, x.rate, (x.cycle - x.left_) * x.rate,
       x.left_ * x.rate, x.days_left, x.days_left * 0.8, x.days_left * 1.25,
       CASE WHEN x.days_left IS NULL THEN 0 ELSE 0.6 + 0.3 * x.r END,
       CASE WHEN x.days_left IS NULL THEN 'none' ELSE x.basis END,
       least(x.cycle - x.left_, 60), 0.2 + 0.6 * x.r,
       x.computed_at - (x.cycle - x.left_) * interval '1 day', x.computed_at,
       x.computed_at + x.days_left * interval '1 day',
       x.daily_sd, x.rate_sd, x.cycle * 0.85, x.cycle * 1.15,
       -- where the risk reaches the lowest threshold, as the forecast service stores it
       x.computed_at + CASE
           WHEN x.basis <> 'usage' THEN x.days_left
           ELSE 2 * x.days_left ^ 2 / (q.qb + sqrt(greatest(0, q.qb ^ 2
                                               - 4 * q.qa * x.days_left ^ 2))) END
           * interval '1 day'
FROM (
    SELECT p.id, it.item_sku, it.kind, it.metric, it.basis, v.cycle, v.r, v.computed_at,
           v.left_, CASE WHEN v.nil < 0.05 THEN NULL ELSE v.left_ END AS days_left,
           it.units / v.cycle AS rate,
           -- a day's use spreads by 30-60 %% of the pace, the pace itself by 5 %%
           CASE WHEN it.basis = 'usage' THEN (0.3 + 0.3 * v.r) * it.units / v.cycle ELSE 0 END
               AS daily_sd,
           CASE WHEN it.basis = 'usage' THEN 0.05 * it.units / v.cycle ELSE 0 END AS rate_sd
    FROM product_instances p
    -- each tagged SKU's consumables and services: a typical cycle (days at an average
    -- pace), the forecast's basis, the timeline metric it reads and its amount in it
    JOIN
    (VALUES
      ('WP-500', 'FLT-PP-1', 'consumable', 180, 'usage', 'flow_litres', 2000),
      ('WP-500', 'FLT-RO-1', 'consumable', 720, 'usage', 'flow_litres', 6000),
      ('WP-500', 'FLT-RO-XL', 'consumable', 1080, 'usage', 'flow_litres', 9600),
      ('DW-60', 'DET-TAB-30', 'consumable', 35, 'usage', 'count', 30),
      ('DW-60', 'DET-TAB-90', 'consumable', 105, 'usage', 'count', 90),
      ('DW-60', 'RINSE-500', 'consumable', 60, 'usage', 'level', 1),
      ('LD-DISP', 'DET-LIQ-2L', 'consumable', 40, 'usage', 'level', 1),
      ('LD-DISP', 'DET-LIQ-5L', 'consumable', 100, 'usage', 'level', 1),
      ('CM-100', 'POD-ESP-50', 'consumable', 30, 'usage', 'count', 50),
      ('CM-100', 'POD-ESP-100', 'consumable', 60, 'usage', 'count', 100),
      ('CM-100', 'DESC-1', 'consumable', 90, 'time', NULL, 500),
      ('CM-100', 'SVC-DESCALE', 'service', 365, 'time', NULL, 2000),
      ('WC-300-SMART', 'FLT-WC-1', 'consumable', 365, 'usage', 'flow_litres', 1500),
      ('FLOOR-OAK', 'SVC-FLOOR-CARE', 'service', 730, 'time', NULL, 1)
    ) AS it(device_sku, item_sku, kind, cycle_days, basis, metric, units)
    ON it.device_sku = p.sku
    CROSS JOIN LATERAL (
        SELECT it.cycle_days * (0.6 + random()) AS cycle, random() AS u, random() AS r,
               random() AS nil,
               %(now)s - random() * interval '1 hour' AS computed_at
        WHERE p.id IS NOT NULL) w
    CROSS JOIN LATERAL (SELECT w.cycle, w.r, w.nil, w.computed_at,
                               w.u * w.cycle AS left_) v
) x
CROSS JOIN LATERAL (
    SELECT 1 - %(z2)s * (x.rate_sd / x.rate) ^ 2 AS qa,
           2 * coalesce(x.days_left, 0) + %(z2)s * (x.daily_sd / x.rate) ^ 2 AS qb) q;
"""),
]


@dataclass
class MemorySampler:
    """The peak private (``RssAnon``) and total (``VmHWM``) memory of one process, in MB."""

    pid: int
    peak_anon_mb: float = 0.0
    hwm_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _read(self) -> None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("RssAnon:"):
                self.peak_anon_mb = max(self.peak_anon_mb, int(line.split()[1]) / 1024)
            elif line.startswith("VmHWM:"):
                self.hwm_mb = max(self.hwm_mb, int(line.split()[1]) / 1024)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._read()

    def __enter__(self) -> MemorySampler:
        self._read()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._read()

    @property
    def readable(self) -> bool:
        return Path(f"/proc/{self.pid}/status").exists()


@dataclass
class Steps:
    seconds: dict[str, float] = field(default_factory=dict)

    def wrap(self, name: str, fn: Callable[P, R]) -> Callable[P, R]:
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return timed


@contextmanager
def timed_steps() -> Iterator[Steps]:
    """Time the SQL steps of :func:`offers.evaluate` (its calls to :mod:`offers_store`)."""
    steps = Steps()
    names = ("lock_evaluation", "expire_and_release", "withdraw_refilled", "candidates",
             "insert_offers", "apply_no_spam")
    saved = {n: getattr(offers_store, n) for n in names}
    try:
        for n in names:
            setattr(offers_store, n, steps.wrap(n, saved[n]))
        yield steps
    finally:
        for n, fn in saved.items():
            setattr(offers_store, n, fn)


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    result: offers.EvaluateResult
    steps: dict[str, float]
    backend_anon_mb: float | None
    backend_hwm_mb: float | None
    temp_mb: float | None
    rss_mb: float


def generate(bench: Settings, instances: int, now: datetime, say: Callable[[str], None]) -> None:
    params: dict[str, Any] = {"instances": instances, "customers": max(1, instances // 3),
                              "now": now, "z2": risk.z_of(risk.LOWEST) ** 2}
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SELECT setseed(0.42)")
        for name, statement in GENERATE:
            start = time.perf_counter()
            with conn.transaction():
                for part in statement.split(";\n"):
                    if part.strip():
                        conn.execute(part, params)
            say(f"  generated {name} in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        say(f"  vacuum analyze in {time.perf_counter() - start:.1f} s")


def describe_data(bench: Settings, now: datetime, rules: offers.OfferRules) -> str:
    with psycopg.connect(bench.database_url) as conn:
        row = conn.execute("""
            SELECT (SELECT count(*) FROM customers),
                   (SELECT count(*) FROM customers WHERE opted_out_at IS NOT NULL),
                   (SELECT count(DISTINCT timezone) FROM customers),
                   (SELECT count(*) FROM product_instances),
                   (SELECT count(*) FROM devices),
                   count(*), count(*) FILTER (WHERE due_at IS NULL),
                   count(*) FILTER (WHERE risk_from <= %(now)s + interval '3 days'),
                   count(*) FILTER (WHERE risk_from <= %(now)s + interval '15 days')
            FROM instance_forecasts""", {"now": now}
        ).fetchone()
    assert row is not None
    (customers, opted_out, zones, instances, devices, lines, no_end, due_soon, horizon) = row
    return (f"  data: {customers:,} customers ({opted_out:,} opted out, {zones} time zones), "
            f"{instances:,} instances with {devices:,} devices, {lines:,} forecasts "
            f"({no_end:,} with no end in sight; {due_soon:,} = {100 * due_soon / lines:.1f}% "
            f"at some risk within 3 days, {horizon:,} within 15 days)")


def evaluate_once(bench: Settings, now: datetime) -> Run:
    rules = offers.OfferRules.from_settings(bench)
    with psycopg.connect(bench.database_url) as conn:
        pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        temp0 = conn.execute("SELECT temp_bytes FROM pg_stat_database "
                             "WHERE datname = current_database()").fetchone()
        conn.commit()
        sampler = MemorySampler(pid)
        readable = sampler.readable
        with sampler, timed_steps() as steps:
            start = time.perf_counter()
            with conn.transaction():
                result = offers.evaluate(conn, now, rules)
            seconds = time.perf_counter() - start
        temp_mb: float | None = None
        try:
            conn.execute("SELECT pg_stat_force_next_flush()")
            conn.commit()
            temp1 = conn.execute("SELECT temp_bytes FROM pg_stat_database "
                                 "WHERE datname = current_database()").fetchone()
            conn.commit()
            if temp0 is not None and temp1 is not None:
                temp_mb = (int(temp1[0]) - int(temp0[0])) / 2**20
        except psycopg.Error:
            conn.rollback()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Run(seconds, result, dict(steps.seconds),
               sampler.peak_anon_mb if readable else None,
               sampler.hwm_mb if readable else None, temp_mb, rss_mb)


def describe_run(label: str, run: Run) -> list[str]:
    r = run.result
    sql_s = sum(run.steps.values())
    parts = ", ".join(f"{name} {s:.2f}" for name, s in run.steps.items())
    backend = ("backend memory not measured (its /proc status is not readable)"
               if run.backend_anon_mb is None else
               f"PostgreSQL backend peak private {run.backend_anon_mb:.0f} MB "
               f"(VmHWM {run.backend_hwm_mb:.0f} MB incl. shared buffers it touched)")
    temp = "temp files not measured" if run.temp_mb is None else \
        f"temp files {run.temp_mb:.0f} MB"
    return [
        f"{label:7} {run.seconds:.2f} s: {r.created:,} offers created ({r.pending:,} pending, "
        f"{r.deferred:,} deferred to the end of quiet hours, {r.suppressed:,} suppressed); "
        f"{r.expired:,} expired, {r.released:,} released",
        f"        steps (s): {parts}, wording + rest {run.seconds - sql_s:.2f}",
        f"        memory: this process peak RSS {run.rss_mb:.0f} MB; {backend}; {temp}",
    ]


def run_offers_bench(settings: Settings, instances: int, *, keep: bool = False,
                     say: Callable[[str], None] = print, workers: int = 0,
                     chunk: int | None = None, forecast_sample: int = 20_000) -> str:
    """Build the bench database, evaluate twice, print the figures; returns the last line.

    With ``workers``, the evaluation and a sample of the forecasts run as chunks of
    customers on that many real Celery workers (:mod:`devtools.bench.chunks`)."""
    bench = bench_settings(settings, BENCH_DB)
    if chunk is not None:
        bench = bench.model_copy(update={"fleet_chunk_customers": chunk})
    if workers:
        return _run_on_workers(settings, bench, instances, keep=keep, say=say, workers=workers,
                               forecast_sample=forecast_sample)
    rules = offers.OfferRules.from_settings(bench)
    now = clock.now().replace(microsecond=0)
    total = time.perf_counter()
    say(f"offers bench: {instances:,} instances, about {instances // 3:,} customers, "
        f"database {BENCH_DB}, now {now.isoformat()}")
    start = time.perf_counter()
    recreate(settings, bench)
    say(f"  database created, migrated and seeded in {time.perf_counter() - start:.1f} s")
    try:
        start = time.perf_counter()
        generate(bench, instances, now, say)
        say(f"  data generated in {time.perf_counter() - start:.1f} s")
        say(describe_data(bench, now, rules))
        first = evaluate_once(bench, now)
        for line in describe_run("first", first):
            say(line)
        second = evaluate_once(bench, now)
        for line in describe_run("second", second):
            say(line)
    finally:
        if not keep:
            drop(settings, BENCH_DB)
    say(f"  {BENCH_DB} " + ("kept" if keep else "dropped")
        + f"; whole command {time.perf_counter() - total:.0f} s")
    peak_mb = max(first.rss_mb, second.rss_mb)
    secs_ok = first.seconds < TARGET_SECONDS
    mem_ok = peak_mb < TARGET_MB and (first.backend_anon_mb or 0.0) < TARGET_MB
    idem_ok = second.result.created == 0
    yes = {True: "met", False: "NOT MET"}
    say(f"targets full evaluation < {TARGET_SECONDS:.0f} s: {first.seconds:.1f} s {yes[secs_ok]}; "
        f"< {TARGET_MB / 1024:.0f} GB: this process {peak_mb:.0f} MB"
        + ("" if first.backend_anon_mb is None else
           f", PostgreSQL backend {first.backend_anon_mb:.0f} MB")
        + f" {yes[mem_ok]}; second run creates 0: {second.result.created} {yes[idem_ok]}")
    last = (f"offers: instances {instances} seconds {first.seconds:.1f} rss_mb {peak_mb:.0f} "
            f"created {first.result.created} second_run_created {second.result.created}")
    say(last)
    return last


def _run_on_workers(settings: Settings, bench: Settings, instances: int, *, keep: bool,
                    say: Callable[[str], None], workers: int, forecast_sample: int) -> str:
    from devtools.bench import chunks

    now = clock.now().replace(microsecond=0)
    total = time.perf_counter()
    say(f"offers bench on workers: {instances:,} instances, about {instances // 3:,} "
        f"customers, {workers} workers, chunks of {bench.fleet_chunk_customers:,} customers, "
        f"database {BENCH_DB}, now {now.isoformat()}")
    recreate(settings, bench)
    try:
        start = time.perf_counter()
        generate(bench, instances, now, say)
        say(f"  data generated in {time.perf_counter() - start:.1f} s")
        say(describe_data(bench, now, offers.OfferRules.from_settings(bench)))
        peer_s, peer = chunks.evaluate_in_one(bench, now)
        say(f"peer     {peer_s:.2f} s: everyone in one transaction in this process, "
            f"{peer.created:,} offers created (then removed again)")
        with chunks.workers(settings, bench, workers, say) as (app, pids):
            first = chunks.run_offers(app, bench, pids, now, timeout_s=1800)
            say(_describe_chunks("offers", first, instances))
            second = chunks.run_offers(app, bench, pids, now, timeout_s=1800)
            say(_describe_chunks("again", second, instances))
            sample = chunks.sample_chunks(bench, forecast_sample)
            start = time.perf_counter()
            owned, rows = chunks.seed_timelines(bench, sample[-1].upto, clock.now())
            say(f"  timelines: {rows:,} daily readings of the {owned:,} tagged products of "
                f"the first {len(sample)} chunks, by COPY, in {time.perf_counter() - start:.1f} s")
            fc = chunks.run_forecasts(app, bench, pids, sample, timeout_s=3600)
            say(_describe_chunks("forecast", fc, fc.totals.get("products", 0)))
    finally:
        if not keep:
            drop(settings, BENCH_DB)
    say(f"  {BENCH_DB} " + ("kept" if keep else "dropped")
        + f"; whole command {time.perf_counter() - total:.0f} s")
    rate = instances / first.seconds
    products = fc.totals.get("products", 0)
    fc_rate = products / fc.seconds if fc.seconds else 0.0
    fc_fleet_s = instances / fc_rate if fc_rate else float("inf")
    yes = {True: "met", False: "NOT MET"}
    say(f"floor {instances:,} instances evaluated in < {chunks.FLOOR_SECONDS:.0f} s with "
        f"{workers} workers: offers {first.seconds:.1f} s {yes[first.seconds < 60]} "
        f"(one transaction: {peer_s:.1f} s); forecasts at {fc_rate:,.0f} instances/s would "
        f"take {fc_fleet_s:,.0f} s {yes[fc_fleet_s < 60]}; the chunks make the offers one "
        f"transaction makes: {first.totals.get('created', 0):,} = {peer.created:,} "
        f"{yes[first.totals.get('created', 0) == peer.created]}; second run creates 0: "
        f"{second.totals.get('created', 0)} {yes[second.totals.get('created', 0) == 0]}")
    last = (f"offers: instances {instances} workers {workers} chunks {first.chunks} "
            f"seconds {first.seconds:.1f} per_s {rate:.0f} floor_s {chunks.FLOOR_SECONDS:.0f} "
            f"one_transaction_s {peer_s:.1f} created {first.totals.get('created', 0)} "
            f"second_run_created {second.totals.get('created', 0)} "
            f"forecast_per_s {fc_rate:.0f} forecast_fleet_s {fc_fleet_s:.0f}")
    say(last)
    return last


def _describe_chunks(label: str, run: chunks_module.ChunkRun, instances: int) -> str:
    per = 1e6 / instances if instances else 0.0
    return (f"{label:8} {run.seconds:.2f} s for {run.chunks} chunks: "
            + ", ".join(f"{k} {v:,}" for k, v in run.totals.items())
            + f"; {instances / run.seconds:,.0f} instances/s; CPU s: workers "
            f"{run.worker_cpu_s:.1f} ({run.worker_cpu_s * per:.0f} µs per instance), "
            f"PostgreSQL {run.postgres_cpu_s:.1f}-{run.postgres_all_cpu_s:.1f} "
            f"({run.postgres_cpu_s * per:.0f}-{run.postgres_all_cpu_s * per:.0f} µs), "
            f"anything else {run.other_cpu_s:.1f}")
