"""Celery tasks of floor plans. Thin: call the service."""

from __future__ import annotations

from celery import shared_task

from floorplans import scenes
from homeloop.settings import Settings

__all__ = ["prune_scenes"]


@shared_task(name="floorplans.prune_scenes", acks_late=True)
def prune_scenes() -> int:
    """Remove cached scene files unused for 30 days; how many."""
    return scenes.prune(Settings())
