"""Replenishment: when consumables run out and services fall due, then offers.

So far only the pure forecast (:mod:`replenishment.forecast`, its public names in its
``__all__``) and its benchmark (:mod:`replenishment.bench`, ``homeloop bench forecast``).
Nothing is re-exported here: ``replenishment.forecast`` is a module, and a re-exported
``forecast`` function would hide it.
"""
