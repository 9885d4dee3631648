"""Replenishment: when consumables run out and services fall due, then offers.

By role: the pure forecast (:mod:`replenishment.forecast`) and what feeds it, also pure
(:mod:`~replenishment.items`: catalog rows and event rules; :mod:`~replenishment.priors`;
:mod:`~replenishment.reasons`: the sentence a customer reads); the SQL
(:mod:`~replenishment.store`); one batch of forecasts as a unit of work
(:mod:`~replenishment.service`), stored forecasts as the customer reads them
(:mod:`~replenishment.views`); the Celery tasks (:mod:`~replenishment.tasks`). Its benchmark
is a development tool (:mod:`devtools.bench.forecast`, ``homeloop bench forecast``). Offers: when
(:mod:`~replenishment.risk`, pure: the risk of running out before a new one could be there),
what each household's answers and packs teach (:mod:`~replenishment.timing`, pure; its SQL
:mod:`~replenishment.timing_store`), the SQL (:mod:`~replenishment.offers_store`), their
wording (:mod:`~replenishment.offer_reasons`, pure) and the evaluation as a unit of work
(:mod:`~replenishment.offers`).
Nothing is re-exported here: ``replenishment.forecast`` is a module, and a re-exported
``forecast`` function would hide it.
"""
