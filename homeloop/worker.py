"""The Celery application: workers and beat on Redis.

Built by :func:`make_celery` from settings when a worker or beat process starts; tasks are
declared with ``shared_task`` in each domain's ``tasks`` module and listed in ``TASK_MODULES``.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from homeloop.settings import Settings

TASK_MODULES = ["device_gateway.tasks", "replenishment.tasks", "ar_assets.tasks",
                "floorplans.tasks", "clienteling.tasks"]


def make_celery(settings: Settings) -> Celery:
    app = Celery("homeloop", broker=settings.redis_url, backend=settings.redis_url,
                 include=TASK_MODULES, set_as_current=True)
    app.conf.update(
        task_acks_late=True,               # a task lost with its worker runs again
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        result_expires=3600,
        beat_schedule={
            "raw-retention": {"task": "timelines.enforce_retention",
                              "schedule": crontab(minute="17", hour="3")},
            # Hourly, off the top of the hour: fresh enough for offers days ahead.
            "forecast-all": {"task": "replenishment.forecast_all",
                             "schedule": crontab(minute="41")},
            # A new consumable (an NFC tap on it, a replacement) shows within a minute.
            "forecast-changed": {"task": "replenishment.forecast_changed", "schedule": 60.0},
            # Offers follow the forecasts closely enough, and quiet hours end on time (the
            # offer rule looks this far ahead: replenishment.offers.EVALUATE_EVERY_MINUTES).
            "evaluate-offers": {"task": "replenishment.evaluate_offers",
                                "schedule": crontab(minute="*/15")},
            # Pushes go out within a minute of an offer (or of the end of quiet hours).
            "send-pushes": {"task": "replenishment.send_pushes", "schedule": 60.0},
            # Accepted offers reach the retailer's order system within half a minute.
            "send-order-requests": {"task": "replenishment.send_order_requests",
                                    "schedule": 30.0},
            # Fleet quality: once a day, after the night's events are in.
            "quality-scan": {"task": "replenishment.quality_scan",
                             "schedule": crontab(minute="23", hour="4")},
            # 3D model uploads whose task was lost (broker away, worker killed).
            "assets-requeue": {"task": "ar_assets.requeue_stale", "schedule": 300.0},
            # The uploads of assets failed `asset_failed_source_days` ago, nightly.
            "assets-failed-sources": {"task": "ar_assets.remove_failed_sources",
                                      "schedule": crontab(minute="53", hour="4")},
            # Scene files nobody asked for in 30 days.
            "prune-scenes": {"task": "floorplans.prune_scenes",
                             "schedule": crontab(minute="47", hour="4")},
            # Derived customer tags: the customers whose data changed, every 5 minutes;
            # everyone nightly (time alone changes some tags); co-purchase counts nightly.
            "refresh-tags": {"task": "clienteling.refresh_tags", "schedule": 300.0},
            "queue-all-tags": {"task": "clienteling.queue_everyone",
                               "schedule": crontab(minute="5", hour="2")},
            "refresh-copurchase": {"task": "clienteling.refresh_copurchase",
                                   "schedule": crontab(minute="35", hour="2")},
            # The assistants' tasks: accepted offers, quality call-backs, items due.
            "open-day-tasks": {"task": "clienteling.open_day_tasks",
                               "schedule": crontab(minute="52")},
        },
    )
    return app


def worker_concurrency(settings: Settings) -> int:
    """Worker processes for this host: as many as ``worker_memory_mb`` holds at the measured
    worst 3D processing tree (one asset per process), at most one per CPU, at least one."""
    import os

    from ar_assets.service import WORST_TREE_MB

    return max(1, min(os.cpu_count() or 1, settings.worker_memory_mb // WORST_TREE_MB))
