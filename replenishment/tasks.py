"""Celery tasks of replenishment. Thin: open a connection, call the service, commit.

``replenishment.forecast_all`` (beat, hourly) walks every claimed product with an active tag in
batches of ids, one transaction per batch, so a failure costs one batch and a long run holds
no transaction open. Forecasts are upserts: a task that runs twice (``acks_late`` redelivers a
task whose worker died) leaves the same rows.

``replenishment.evaluate_offers`` (beat, every 15 minutes) decides offers over all stored
forecasts in one transaction (:func:`replenishment.offers.evaluate`); a redelivered or
concurrent run adds nothing, by the offers' unique cycle keys and the evaluation lock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from celery import shared_task

from homeloop.db import connect
from homeloop.settings import Settings
from replenishment import offers, service, store

__all__ = ["RunResult", "evaluate_offers", "forecast_all", "run_all", "run_offers"]


@dataclass(frozen=True, slots=True)
class RunResult:
    products: int
    forecasts: int
    pruned: int


def run_all(settings: Settings, *, batch_size: int = service.BATCH_SIZE) -> RunResult:
    """Forecast every claimed product with an active tag now; what the task and CLI run."""
    products = forecasts = 0
    with connect(settings) as conn:
        after = 0
        while ids := store.claimed_instance_ids(conn, after=after, limit=batch_size):
            forecasts += service.forecast_instances(conn, ids, datetime.now(UTC))
            conn.commit()
            products += len(ids)
            after = ids[-1]
        pruned = store.prune_unclaimed(conn)
        conn.commit()
    return RunResult(products, forecasts, pruned)


@shared_task(name="replenishment.forecast_all")
def forecast_all() -> dict[str, int]:
    return asdict(run_all(Settings()))


def run_offers(settings: Settings, now: datetime | None = None) -> offers.EvaluateResult:
    """Evaluate offers now, in one transaction; what the task and the CLI run."""
    with connect(settings) as conn, conn.transaction():
        return offers.evaluate(conn, now or datetime.now(UTC),
                               offers.OfferRules.from_settings(settings))


@shared_task(name="replenishment.evaluate_offers")
def evaluate_offers() -> dict[str, int]:
    return asdict(run_offers(Settings()))
