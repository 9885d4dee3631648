"""Celery tasks of the timelines. Thin: open a connection, call the domain, commit.

``timelines.enforce_retention`` (beat, nightly) deletes old raw readings a time range per
transaction (:mod:`device_gateway.retention`), so that ingest never waits for it."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from device_gateway import retention
from homeloop.db import connect
from homeloop.settings import Settings


@shared_task(name="timelines.enforce_retention")
def enforce_retention() -> int:
    settings = Settings()
    with connect(settings) as conn:
        deleted = retention.enforce(conn, settings.raw_retention_days,
                                    timedelta(hours=settings.retention_batch_hours))
        retention.forget_anchors(conn, settings.max_backlog_age_days)
        conn.commit()
    return deleted
