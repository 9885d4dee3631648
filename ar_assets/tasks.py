"""Celery tasks of AR assets. Thin: open a connection, call the service.

``ar_assets.process`` runs after the upload's transaction committed; a tool error is retried
with backoff (the service fails the asset on its third run). It is safe to run twice
(``acks_late`` redelivers a task whose worker died): a finished asset is left as it is, and a
half-processed one is processed again from its stored upload.
"""

from __future__ import annotations

from celery import shared_task

from ar_assets import service
from ar_assets.validator import ToolError
from homeloop.db import connect
from homeloop.errors import NotFound
from homeloop.settings import Settings

__all__ = ["process_asset", "run_process"]

TASK = "ar_assets.process"


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
