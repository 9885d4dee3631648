"""Celery tasks of replenishment. Thin: open a connection, call the service, commit.

Work that grows with the fleet is split into **chunks of customers**: ranges ``(after,
upto]`` of their ids, ``fleet_chunk_customers`` each (:func:`customer_chunks`, keyset
pagination over the primary key: the planner never holds more than one boundary, and the
last range is open-ended so a customer who signs up meanwhile is in it). A beat task only
fans out: it sends one small message per chunk (two ids) and returns; any number of workers
take the chunks, each a task of its own that costs what its customers own whatever the size
of the fleet, so more workers finish a run sooner. A chunk that fails is retried by Celery
(a lost connection) or logged, and the other chunks go on; a chunk that runs twice (beat
fired twice, ``acks_late`` redelivered a task whose worker died) stores nothing twice.
Each chunk logs one line an operator can follow (``offers chunk (0, 2000] of run
2026-12-07T20:45:00+00:00: 12 created ... 0.41 s, 3.2 s after the run began``), and the
fan-out logs how many chunks it queued: the run is done when that many lines are there,
and "after the run began" of the last one is the run's lag.

``replenishment.forecast_all`` (beat, hourly) fans out ``replenishment.forecast_chunk``:
the chunk's claimed products with an active tag, in batches of ids, one transaction per
batch (a failure costs one batch, no transaction stays open long); then the chunk's order
requests whose consumable is now in place. Forecasts are upserts: a chunk run twice leaves
the same rows. It also fans out ``replenishment.prune_forecasts`` over ranges of
``prune_chunk_instances`` instance ids (from the primary key's end): forecasts of products
released or no longer tagged, which belong to no customer's chunk.

``replenishment.forecast_changed`` (beat, every minute) forecasts again the few products whose
device just reported a new consumable (:func:`run_changed`).

``replenishment.evaluate_offers`` (beat, every 15 minutes) fans out
``replenishment.evaluate_offers_chunk``: the chunk's offers decided in one transaction
(:func:`replenishment.offers.evaluate` for its customers); a redelivered or concurrent run
adds nothing, by the offers' unique cycle keys and the lock on the chunk's customers.

``replenishment.send_pushes`` (beat, every minute) fills the outbox from the pending offers
and sends one batch (:mod:`replenishment.outbox`), each step its own transaction. A rerun
finds the sent rows sent and the rest where they were; two at once skip each other's rows.
The FCM sender is built once per worker process, on its first push task (after the fork: a
firebase app's HTTP sessions must not cross one), and deleted when the process ends.

``replenishment.send_order_requests`` (beat, every 30 seconds) posts accepted offers' order
requests to the retailer's order system (:mod:`replenishment.order_requests`), one batch in
one transaction; two at once skip each other's rows.

``replenishment.quality_scan`` (beat, daily) raises fleet quality alerts and the owners'
quality notices (:mod:`replenishment.quality_store`) in one transaction; the alerts' ``UNIQUE
(sku, day)`` makes a rerun the same day add nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import psycopg
from celery import shared_task
from celery.signals import worker_process_shutdown

from homeloop import clock
from homeloop.db import Conn, connect
from homeloop.settings import Settings
from notifications.fcm import FcmSender, open_sender
from replenishment import offers, order_requests, outbox, quality_store, service, store
from replenishment.offers_store import EVERYONE, Customers

__all__ = ["FanOut", "PushRun", "RunResult", "customer_chunks", "evaluate_offers",
           "evaluate_offers_chunk", "fan_out_forecasts", "fan_out_offers", "forecast_all",
           "forecast_changed", "forecast_chunk", "prune_forecasts", "quality_scan", "run_all",
           "run_changed", "run_forecast_chunk", "run_offers", "run_offers_chunk",
           "run_order_requests", "run_pushes", "run_quality_scan", "send_order_requests",
           "send_pushes"]

log = logging.getLogger(__name__)

# A lost database connection (a restart, a failover): the chunk runs again, later (after
# 5 s, 10 s, ... at most 5 minutes, five times).
RETRY_ON = (psycopg.OperationalError,)


@dataclass(frozen=True, slots=True)
class RunResult:
    products: int
    forecasts: int
    pruned: int
    fitted: int  # order requests whose new consumable the timelines now show in place


@dataclass(frozen=True, slots=True)
class FanOut:
    """What a beat task queued: ``chunks`` tasks of run ``run`` (and prune tasks)."""

    run: str  # when the run began (ISO 8601): every chunk's log line names it
    chunks: int
    prune_chunks: int = 0


def customer_chunks(conn: Conn, size: int) -> Iterator[Customers]:
    """The customers in ranges of ``size`` ids, by keyset pagination on the primary key:
    each boundary is one index-only step of ``size`` rows from the previous one. The last
    range is open-ended (new customers are in it, and it may be empty)."""
    after = 0
    while True:
        row = conn.execute("SELECT id FROM customers WHERE id > %s ORDER BY id "
                           "OFFSET %s LIMIT 1", (after, size - 1)).fetchone()
        if row is None:
            yield Customers(after)
            return
        yield Customers(after, int(row[0]))
        after = int(row[0])


def _fan_out(settings: Settings, send: Callable[[Customers], object]) -> int:
    with connect(settings, autocommit=True) as conn:
        chunks = 0
        for chunk in customer_chunks(conn, settings.fleet_chunk_customers):
            send(chunk)
            chunks += 1
    return chunks


def _lag(run: str | None, at: datetime) -> str:
    if not run:
        return ""
    return f", {(at - datetime.fromisoformat(run)).total_seconds():.1f} s after the run began"


def run_forecast_chunk(settings: Settings, customers: Customers, *, run: str | None = None,
                       batch_size: int = service.BATCH_SIZE) -> RunResult:
    """Forecast, now, the claimed products with an active tag of these customers, one
    transaction per batch; then mark their order requests whose consumable is in place."""
    started = time.perf_counter()
    products = forecasts = 0
    with connect(settings) as conn:
        ids = store.owned_instance_ids(conn, customers)
        conn.commit()
        for i in range(0, len(ids), batch_size):
            batch = ids[i:i + batch_size]
            forecasts += service.forecast_instances(conn, batch, clock.now())
            conn.commit()
            products += len(batch)
        fitted = order_requests.mark_fitted(conn, customers)
        conn.commit()
    log.info("forecast chunk %s of run %s: %d products, %d forecasts, %d fitted in %.2f s%s",
             customers, run or "-", products, forecasts, fitted,
             time.perf_counter() - started, _lag(run, clock.now()))
    return RunResult(products, forecasts, 0, fitted)


def run_prune(settings: Settings, after: int, upto: int) -> int:
    """Drop the forecasts of released or untagged products among instances ``(after, upto]``."""
    with connect(settings) as conn, conn.transaction():
        return store.prune_unclaimed(conn, after, upto)


def run_all(settings: Settings, *, batch_size: int = service.BATCH_SIZE) -> RunResult:
    """Forecast every claimed product with an active tag now, chunk after chunk in this
    process (what the CLI runs; beat spreads the same chunks over the workers)."""
    done: list[RunResult] = []

    def forecast(chunk: Customers) -> None:
        done.append(run_forecast_chunk(settings, chunk, batch_size=batch_size))

    _fan_out(settings, forecast)
    with connect(settings) as conn:
        bound = store.instance_id_bound(conn)
    pruned = sum(run_prune(settings, lo, lo + settings.prune_chunk_instances)
                 for lo in range(0, bound, settings.prune_chunk_instances))
    return RunResult(sum(r.products for r in done), sum(r.forecasts for r in done), pruned,
                     sum(r.fitted for r in done))


def fan_out_forecasts(settings: Settings, run: str,
                      send: Callable[[Customers], object],
                      send_prune: Callable[[int, int], object]) -> FanOut:
    """Queue one forecast task per chunk of customers and one prune task per range of
    instance ids; what beat's ``forecast_all`` does."""
    chunks = _fan_out(settings, send)
    with connect(settings) as conn:
        bound = store.instance_id_bound(conn)
    step = settings.prune_chunk_instances
    for lo in range(0, bound, step):
        send_prune(lo, lo + step)
    prunes = (bound + step - 1) // step
    log.info("forecast run %s: %d chunks of up to %d customers and %d prune ranges queued",
             run, chunks, settings.fleet_chunk_customers, prunes)
    return FanOut(run, chunks, prunes)


def run_changed(settings: Settings, now: datetime | None = None,
                window: timedelta = timedelta(minutes=3)) -> RunResult:
    """Forecast again, now, the products whose device just reported a new consumable, so an
    NFC tap on a new filter shows in the forecast (and marks its order fitted) within a
    minute instead of at the next hourly run. The window overlaps the next run's: forecasts
    are upserts, so seeing an event twice changes nothing."""
    at = now or clock.now()
    with connect(settings) as conn:
        ids = store.changed_instance_ids(conn, at - window)
        forecasts = service.forecast_instances(conn, ids, at) if ids else 0
        fitted = order_requests.mark_fitted(conn) if ids else 0
        conn.commit()
    return RunResult(len(ids), forecasts, 0, fitted)


@shared_task(name="replenishment.forecast_changed")
def forecast_changed() -> dict[str, int]:
    return asdict(run_changed(Settings()))


@shared_task(name="replenishment.forecast_chunk", autoretry_for=RETRY_ON, retry_backoff=5,
             retry_backoff_max=300, max_retries=5)
def forecast_chunk(after: int, upto: int, run: str | None = None,
                   then_offers: bool = False) -> dict[str, int]:
    """One chunk of the hourly forecasts; with ``then_offers``, that chunk's offers right
    after (the demo's "forecast, then offer" without waiting for beat)."""
    settings = Settings()
    done = asdict(run_forecast_chunk(settings, Customers(after, upto), run=run))
    if then_offers:
        run_offers_chunk(settings, Customers(after, upto), run=run)
    return done


@shared_task(name="replenishment.prune_forecasts", autoretry_for=RETRY_ON, retry_backoff=5,
             retry_backoff_max=300, max_retries=5)
def prune_forecasts(after: int, upto: int) -> int:
    return run_prune(Settings(), after, upto)


@shared_task(name="replenishment.forecast_all")
def forecast_all(then_offers: bool = False) -> dict[str, object]:
    run = clock.now().isoformat()
    return asdict(fan_out_forecasts(
        Settings(), run,
        lambda c: forecast_chunk.delay(c.after, c.upto, run, then_offers),
        lambda lo, hi: prune_forecasts.delay(lo, hi)))


def run_offers(settings: Settings, now: datetime | None = None,
               customers: Customers = EVERYONE) -> offers.EvaluateResult:
    """Evaluate offers now for these customers (everyone by default), in one transaction;
    what a chunk task and the CLI run."""
    with connect(settings) as conn, conn.transaction():
        return offers.evaluate(conn, now or clock.now(),
                               offers.OfferRules.from_settings(settings), customers)


def run_offers_chunk(settings: Settings, customers: Customers, *, run: str | None = None,
                     now: datetime | None = None) -> offers.EvaluateResult:
    """One chunk of an offer evaluation, as of now (the chunk's own clock: a chunk that
    waited in the queue decides on the present), with its log line."""
    started = time.perf_counter()
    done = run_offers(settings, now, customers)
    log.info("offers chunk %s of run %s: %d created (%d pending, %d deferred, "
             "%d suppressed), %d expired, %d released, %d withdrawn in %.2f s%s",
             customers, run or "-", done.created, done.pending, done.deferred,
             done.suppressed, done.expired, done.released, done.withdrawn,
             time.perf_counter() - started, _lag(run, clock.now()))
    return done


def fan_out_offers(settings: Settings, run: str,
                   send: Callable[[Customers], object]) -> FanOut:
    """Queue one evaluation task per chunk of customers; what beat's ``evaluate_offers``
    does."""
    chunks = _fan_out(settings, send)
    log.info("offers run %s: %d chunks of up to %d customers queued", run, chunks,
             settings.fleet_chunk_customers)
    return FanOut(run, chunks)


@shared_task(name="replenishment.evaluate_offers_chunk", autoretry_for=RETRY_ON, retry_backoff=5,
             retry_backoff_max=300, max_retries=5)
def evaluate_offers_chunk(after: int, upto: int, run: str | None = None,
                          now: str | None = None) -> dict[str, int]:
    """One chunk of an evaluation, as of now, or as of ``now`` (ISO 8601: the bench decides
    every chunk at the moment its data was made for)."""
    at = datetime.fromisoformat(now) if now else None
    return asdict(run_offers_chunk(Settings(), Customers(after, upto), run=run, now=at))


@shared_task(name="replenishment.evaluate_offers")
def evaluate_offers() -> dict[str, object]:
    run = clock.now().isoformat()
    return asdict(fan_out_offers(Settings(), run,
                                 lambda c: evaluate_offers_chunk.delay(c.after, c.upto, run)))


@dataclass(frozen=True, slots=True)
class PushRun:
    queued: int
    delivered: outbox.DeliverResult | None  # None: no FCM service account configured


def run_pushes(settings: Settings, sender: outbox.Sender | None,
               now: datetime | None = None) -> PushRun:
    """Fill the outbox, then send one batch; what the task and the CLI run."""
    at = now or clock.now()
    with connect(settings) as conn:
        with conn.transaction():
            queued = outbox.enqueue(conn, at)
        if sender is None:
            return PushRun(queued, None)
        with conn.transaction():
            delivered = outbox.deliver(conn, sender, at, outbox.PushPolicy.from_settings(settings))
    return PushRun(queued, delivered)


_process_sender: list[FcmSender | None] = []  # this worker process's, once built


def _sender(settings: Settings) -> FcmSender | None:
    if not _process_sender:
        _process_sender.append(open_sender(settings))
        if _process_sender[0] is None:
            log.warning("HOMELOOP_FCM_CREDENTIALS_FILE is not set: pushes are queued, not sent")
    return _process_sender[0]


@worker_process_shutdown.connect
def _close_sender(**_: object) -> None:
    sender = _process_sender.pop() if _process_sender else None
    if sender is not None:
        sender.close()


@shared_task(name="replenishment.send_pushes")
def send_pushes() -> dict[str, object]:
    settings = Settings()
    done = run_pushes(settings, _sender(settings))
    return {"queued": done.queued,
            "delivered": asdict(done.delivered) if done.delivered else None}


def run_quality_scan(settings: Settings,
                     now: datetime | None = None) -> quality_store.ScanResult:
    """The daily fleet quality scan, in one transaction; what the task and the CLI run."""
    with connect(settings) as conn, conn.transaction():
        return quality_store.scan(conn, now or clock.now(),
                                  service_lead_days=settings.offer_service_lead_days,
                                  weekly_cap=settings.offer_weekly_cap)


@shared_task(name="replenishment.quality_scan")
def quality_scan() -> dict[str, int]:
    return asdict(run_quality_scan(Settings()))


def run_order_requests(settings: Settings,
                       now: datetime | None = None) -> order_requests.DeliverResult:
    """Post one batch of due order requests; what the task runs."""
    with connect(settings) as conn, conn.transaction():
        return order_requests.deliver(conn, settings, now or clock.now())


@shared_task(name="replenishment.send_order_requests")
def send_order_requests() -> dict[str, int]:
    return asdict(run_order_requests(Settings()))
