"""Category priors: the average household's pace, for products whose own timeline is short.

The forecast blends a household's observed rate with the prior as if the prior were a few
days of data (``forecast.Tuning.prior_days``, 3), so a new product gets a sensible date from
its first hour and its own pace takes over within a week or two. The numbers only need to be
the right size: a household's pace differs from them by tens of percent either way, which
the forecast's interval already allows for (``Tuning.prior_spread``).

They are keyed by the *device's* category and the metric, not by the consumable's category:
the pace is how a household uses the device (litres through the purifier, dishwasher runs,
cups of coffee), which all of that device's consumables on one metric share, and a service
(catalog category ``service``) is paced by its device too.
"""

from __future__ import annotations

from replenishment.forecast import MONTH_DAYS

__all__ = ["PRIORS", "prior_rate"]

# (device category, metric) -> average use per day in the metric's unit
PRIORS: dict[tuple[str, str], float] = {
    # Drinking and cooking water of a household of three (about 3 L a person, plus the
    # kettle and the rice cooker); it puts a 2,000 L pre-filter at about 6.5 months, close to
    # its rated 6.
    ("water_purifier", "flow_l"): 10.0,
    # A run on most evenings: about 6 a week.
    ("dishwasher", "count"): 0.9,
    # The rinse-aid reservoir (about 150 ml) gives about 3 ml a run: 2 % of it per run.
    ("dishwasher", "level"): 0.9 * 0.02,
    # About 5 washes a week, each dose about 2 % of the dispenser's tank.
    ("detergent_dispenser", "level"): 0.7 * 0.02,
    # Two coffee drinkers, one or two cups each.
    ("coffee_machine", "count"): 3.0,
}


def prior_rate(device_category: str, metric: str | None, *, amount: float | None = None,
               months: float | None = None) -> float | None:
    """The category's average pace on ``metric``, per day; ``None`` when there is no basis.

    Without a table entry, an item rated for both an amount and a time (a toilet's 1,500 L /
    12-month filter) was sized by its maker for an average household: amount over time.
    """
    if metric is None:
        return None
    known = PRIORS.get((device_category, metric))
    if known is not None:
        return known
    if amount is not None and months is not None and metric != "level":
        return amount / (months * MONTH_DAYS)
    return None
