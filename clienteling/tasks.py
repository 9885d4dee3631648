"""Celery tasks: the assistants' tasks opened by rules (hourly); derived tags (incremental,
from the queue of changed customers, plus a nightly pass over everyone, since time alone
changes some tags); co-purchase counts (nightly).

Each batch is its own transaction; a rerun recomputes the same tags.
"""

from __future__ import annotations

import logging

from celery import shared_task

from clienteling import recs_store, service, store, tasks_store
from homeloop import clock
from homeloop.db import connect
from homeloop.settings import Settings

__all__ = ["open_day_tasks", "queue_everyone", "refresh_copurchase", "refresh_tags",
           "run_copurchase", "run_day_tasks", "run_queue_everyone", "run_tags"]

log = logging.getLogger(__name__)


def run_tags(settings: Settings, batch: int = service.TAG_BATCH) -> int:
    """Recompute the tags of every queued customer; returns how many customers."""
    done = 0
    with connect(settings) as conn:
        while ids := store.take_queue(conn, batch):
            service.refresh_tags(conn, ids, clock.now())
            conn.commit()
            done += len(ids)
    return done


def run_queue_everyone(settings: Settings) -> int:
    with connect(settings) as conn:
        n = conn.execute("INSERT INTO tag_queue (customer_id, since) SELECT id, %s "
                         "FROM customers WHERE merged_into IS NULL "
                         "ON CONFLICT DO NOTHING", (clock.now(),)).rowcount
        conn.commit()
    return n


def run_copurchase(settings: Settings) -> int:
    with connect(settings) as conn:
        n = recs_store.refresh_copurchase(conn)
        conn.commit()
    return n


@shared_task(name="clienteling.refresh_tags")
def refresh_tags() -> int:
    n = run_tags(Settings())
    log.info("tags refreshed for %d customers", n)
    return n


@shared_task(name="clienteling.queue_everyone")
def queue_everyone() -> int:
    return run_queue_everyone(Settings())


@shared_task(name="clienteling.refresh_copurchase")
def refresh_copurchase() -> int:
    return run_copurchase(Settings())


def run_day_tasks(settings: Settings) -> int:
    with connect(settings) as conn:
        n = tasks_store.open_day_tasks(conn, clock.now())
        conn.commit()
    return n


@shared_task(name="clienteling.open_day_tasks")
def open_day_tasks() -> int:
    return run_day_tasks(Settings())
