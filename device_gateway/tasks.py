"""Celery tasks of the timelines. Thin: open a connection, call the domain, commit."""

from __future__ import annotations

from celery import shared_task

from device_gateway import retention
from homeloop.db import connect
from homeloop.settings import Settings


@shared_task(name="timelines.enforce_retention")
def enforce_retention() -> int:
    settings = Settings()
    with connect(settings) as conn:
        deleted = retention.enforce(conn, settings.raw_retention_days)
        retention.forget_anchors(conn, settings.max_backlog_age_days)
        conn.commit()
    return deleted
