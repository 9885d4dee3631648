"""What a shop assistant sees and does: customer profiles and derived tags, in-store QR
trails, catalog search, recommendations, discounts and budgets, the assistant's day.

Roles: pure logic in :mod:`clienteling.tags`, :mod:`clienteling.recommend` and
:func:`clienteling.discounts.effect`; SQL in :mod:`clienteling.store`,
:mod:`clienteling.catalog`, :mod:`clienteling.recs_store`, :mod:`clienteling.tasks_store`
(callers own the transaction); :mod:`clienteling.service` orchestrates;
:mod:`clienteling.tasks` holds the Celery tasks.
"""

__all__ = ["catalog", "discounts", "points", "recommend", "recs_store", "schemas", "service",
           "store", "tags", "tasks_store"]
