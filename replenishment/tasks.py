"""Celery tasks of replenishment. Thin: open a connection, call the service, commit.

``replenishment.forecast_all`` (beat, hourly) walks every claimed product with an active tag in
batches of ids, one transaction per batch, so a failure costs one batch and a long run holds
no transaction open. Forecasts are upserts: a task that runs twice (``acks_late`` redelivers a
task whose worker died) leaves the same rows.

``replenishment.forecast_changed`` (beat, every minute) forecasts again the few products whose
device just reported a new consumable (:func:`run_changed`).

``replenishment.evaluate_offers`` (beat, every 15 minutes) decides offers over all stored
forecasts in one transaction (:func:`replenishment.offers.evaluate`); a redelivered or
concurrent run adds nothing, by the offers' unique cycle keys and the evaluation lock.

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
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from celery import shared_task
from celery.signals import worker_process_shutdown

from homeloop import clock
from homeloop.db import connect
from homeloop.settings import Settings
from notifications.fcm import FcmSender, open_sender
from replenishment import offers, order_requests, outbox, quality_store, service, store

__all__ = ["PushRun", "RunResult", "evaluate_offers", "forecast_all", "forecast_changed",
           "quality_scan", "run_all", "run_changed", "run_offers", "run_order_requests",
           "run_pushes", "run_quality_scan", "send_order_requests", "send_pushes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunResult:
    products: int
    forecasts: int
    pruned: int
    fitted: int  # order requests whose new consumable the timelines now show in place


def run_all(settings: Settings, *, batch_size: int = service.BATCH_SIZE) -> RunResult:
    """Forecast every claimed product with an active tag now; what the task and CLI run."""
    products = forecasts = 0
    with connect(settings) as conn:
        after = 0
        while ids := store.claimed_instance_ids(conn, after=after, limit=batch_size):
            forecasts += service.forecast_instances(conn, ids, clock.now())
            conn.commit()
            products += len(ids)
            after = ids[-1]
        pruned = store.prune_unclaimed(conn)
        fitted = order_requests.mark_fitted(conn)
        conn.commit()
    return RunResult(products, forecasts, pruned, fitted)


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


@shared_task(name="replenishment.forecast_all")
def forecast_all() -> dict[str, int]:
    return asdict(run_all(Settings()))


def run_offers(settings: Settings, now: datetime | None = None) -> offers.EvaluateResult:
    """Evaluate offers now, in one transaction; what the task and the CLI run."""
    with connect(settings) as conn, conn.transaction():
        return offers.evaluate(conn, now or clock.now(),
                               offers.OfferRules.from_settings(settings))


@shared_task(name="replenishment.evaluate_offers")
def evaluate_offers() -> dict[str, int]:
    return asdict(run_offers(Settings()))


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
