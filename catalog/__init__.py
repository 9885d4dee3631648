"""Catalog: SKUs, their consumables and services, stores and stock, and what can be had,
where and how soon.

Roles: :mod:`catalog.reach` (pure: distances, sources, days, ranking),
:mod:`catalog.store` (SQL; callers own the transaction), :mod:`catalog.availability` (the
one answer to "where can these lines be had, and when", for every other package),
:mod:`catalog.seed` (the seed catalog).
"""
