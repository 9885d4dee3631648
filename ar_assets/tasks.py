"""Celery tasks of AR assets. Thin: open a connection, call the service.

``ar_assets.process`` runs after the upload's transaction committed; a tool error is retried
with backoff (the service fails the asset on its third run). It is safe to run twice
(``acks_late`` redelivers a task whose worker died): a finished asset is left as it is, and a
half-processed one is processed again from its stored upload.

``ar_assets.requeue_stale`` (beat, every 5 minutes) queues again the assets whose task was
lost: pending for 5 minutes (the broker was away when the upload was answered) or processing
for longer than two tool timeouts (the worker died).

``ar_assets.remove_failed_sources`` (beat, nightly) deletes the uploaded files of assets that
failed ``asset_failed_source_days`` ago; the assets and their reports stay.
"""
from __future__ import annotations

from collections.abc import Callable

from celery import shared_task

from ar_assets import service, store
from ar_assets.validator import ToolError
from homeloop import clock
from homeloop.db import connect
from homeloop.errors import NotFound
from homeloop.settings import Settings

__all__ = ["process_asset", "remove_failed_sources", "requeue_stale", "run_process",
           "run_remove_failed_sources", "run_requeue"]

TASK = "ar_assets.process"
PENDING_S = 300.0


def run_process(settings: Settings, asset_id: int) -> str:
    """Process one asset now; its final status (what the task and the demo run)."""
    with connect(settings) as conn:
        try:
            return service.process(conn, settings, asset_id)
        except NotFound:
            return "missing"


@shared_task(name=TASK, acks_late=True, autoretry_for=(ToolError,), max_retries=3,
             retry_backoff=30)
def process_asset(asset_id: int) -> str:
    return run_process(Settings(), asset_id)


def run_requeue(settings: Settings, send: Callable[[int], object]) -> list[int]:
    """Queue again the assets whose processing was lost; their ids."""
    with connect(settings) as conn:
        ids = store.stale(conn, PENDING_S, 2 * settings.asset_tool_timeout_s + PENDING_S)
    for asset_id in ids:
        send(asset_id)
    return ids


@shared_task(name="ar_assets.requeue_stale")
def requeue_stale() -> list[int]:
    return run_requeue(Settings(), lambda asset_id: process_asset.delay(asset_id))


def run_remove_failed_sources(settings: Settings) -> list[int]:
    """Delete the uploads of assets failed long enough ago; the assets' ids."""
    with connect(settings) as conn:
        return service.remove_failed_sources(conn, settings, clock.now())


@shared_task(name="ar_assets.remove_failed_sources", acks_late=True)
def remove_failed_sources() -> int:
    return len(run_remove_failed_sources(Settings()))
