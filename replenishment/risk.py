"""The risk of running out before a new one could reach the customer, and when to offer. Pure.

**The distribution.** The forecast (:mod:`replenishment.forecast`, step 4) says that over
``T`` days a household uses ``r T`` give or take ``sqrt(T s² + T² v)`` (``s`` the spread of a
day's use, ``v`` the variance of the pace itself). Counted in days of the household's own
pace, the consumable is empty within ``t`` days with probability

    P(t) = Φ((t - d) / sqrt(a t + b t²)),   a = (s / r)²,  b = (v / r²),

centred on the forecast's weekday-aware days left ``d``; the forecast's 80 % interval is where
``P`` is 10 % and 90 %. A date the forecast is sure of (what runs out first is a time limit,
or there is no spread at all) is empty with probability 0 before it and 1 from it.

**The rule.** Offer when ``P(lead) >= threshold``, ``lead`` the days until a new one could
reach the customer (:mod:`catalog.availability`: set aside at their store for tomorrow,
delivered in three days, brought from a store nearby). With ``z = Φ⁻¹(threshold)`` that is

    t - d >= z sqrt(a t + b t²),

which is how the offers' statement (:data:`replenishment.offers_store.CANDIDATES`) writes it,
so the database needs no normal distribution; :func:`due` is the same inequality and the
tests hold the two to each other. ``t`` counts from when the forecast was made.

**The threshold** is the share of offers we accept to land too late. If the distribution is
right, offering when ``P(lead)`` reaches ``p`` makes about ``p`` of the offers late, and the
lower ``p`` the earlier every offer comes. Each category's was set with ``homeloop bench
forecast --tune`` (the figures are in docs/BENCHMARKS.md, "Forecast"): the highest that keeps
its packs late no more often than :data:`TARGET_LATE`. A household moves its own by its
answers (:mod:`replenishment.timing`), within :data:`SHIFT_LIMIT` of the category's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

__all__ = ["DEFAULT_THRESHOLD", "LOWEST", "SHIFT_LIMIT", "TARGET_LATE", "THRESHOLDS",
           "WHOLE_USE", "Z_RANGE", "EmptyTime", "category_z", "due", "threshold_of", "z_of"]

_NORMAL = NormalDist()

# The share of packs whose offer may come too late: the target is 5 %; the
# thresholds aim a little under it.
TARGET_LATE = 0.05
# Probability of running out before a new one could be there, at which the offer goes,
# by the consumable's catalog category: the highest of `homeloop bench forecast --tune
# --seed 7` (300 households) at which the category's packs were late 4 % of the time or
# less. Far below 4 % themselves: the forecast's normal curve is too thin in its early tail
# (a couple of washes or tablets left, a household whose pace just changed), and the
# thresholds make up for it. docs/BENCHMARKS.md, "Forecast", has the sweep.
THRESHOLDS: dict[str, float] = {
    "water_filter": 0.1,
    "dishwasher_detergent": 0.01,
    "laundry_detergent": 0.002,
    "coffee_pods": 0.002,
}
# Categories the bench does not simulate (descaler, toilet filters, services by use): the
# middle of those above.
DEFAULT_THRESHOLD = 0.01
# A threshold stays between 0.1 % and 50 % (in standard normal units: about -3.09 to 0),
# and a household's answers move it at most this many units from its category's.
LOWEST = 0.001
Z_RANGE = (_NORMAL.inv_cdf(LOWEST), 0.0)
SHIFT_LIMIT = 1.5
WHOLE_USE = 0.5  # the continuity correction of a count of whole uses, in uses


def z_of(probability: float) -> float:
    """``Φ⁻¹(probability)``: the threshold as the offers' statement compares it."""
    return _NORMAL.inv_cdf(probability)


def category_z(category: str) -> float:
    return z_of(THRESHOLDS.get(category, DEFAULT_THRESHOLD))


def threshold_of(category: str, shift: float = 0.0) -> float:
    """The threshold a household of ``category`` is offered at, after its own ``shift``."""
    z = category_z(category) + max(-SHIFT_LIMIT, min(SHIFT_LIMIT, shift))
    return _NORMAL.cdf(max(Z_RANGE[0], min(Z_RANGE[1], z)))


@dataclass(frozen=True, slots=True)
class EmptyTime:
    """When a consumable runs out, as the forecast sees it: ``days`` from the forecast's
    ``now`` (the point), and the spreads ``a`` (days) and ``b`` of the distribution above."""

    days: float
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def of(cls, days_left: float, basis: str, rate_per_day: float, daily_sd: float,
           rate_sd: float, metric: str | None = None) -> EmptyTime:
        """From a forecast's fields (:class:`replenishment.forecast.Forecast` or a stored
        row). A time limit, or no pace, is a date the forecast is sure of. Whole uses
        (``metric`` ``count``) run out at the last one: the normal curve of the use is read
        half a use early (a continuity correction), else it misses how likely the last two
        or three uses are to come at once."""
        if basis != "usage" or rate_per_day <= 0.0:
            return cls(days_left)
        if metric == "count":
            days_left = max(0.0, days_left - WHOLE_USE / rate_per_day)
        return cls(days_left, (daily_sd / rate_per_day) ** 2, (rate_sd / rate_per_day) ** 2)

    @property
    def certain(self) -> bool:
        return self.a <= 0.0 and self.b <= 0.0

    def sd(self, t: float) -> float:
        """The spread, in days, of the use over ``t`` days."""
        return math.sqrt(max(0.0, self.a * t + self.b * t * t))

    def p_within(self, t: float) -> float:
        """The probability that it is empty within ``t`` days."""
        if t >= self.days and self.certain:
            return 1.0
        sd = self.sd(t)
        if sd <= 0.0:
            return 1.0 if t >= self.days else 0.0
        return _NORMAL.cdf((t - self.days) / sd)

    def quantile(self, p: float) -> float:
        """The days within which it is empty with probability ``p`` (0 < p < 1).

        ``t - d = z sqrt(a t + b t²)``, squared: ``(1 - z² b) t² - (2 d + z² a) t + d² = 0``;
        the root on the side of ``d`` that ``z`` says. For ``z >= 0`` and a pace that could
        be zero (``z² b >= 1``) there is none: infinity.
        """
        if self.certain:
            return self.days
        z = z_of(p)
        d = self.days
        qa = 1.0 - z * z * self.b
        qb = 2.0 * d + z * z * self.a
        root = math.sqrt(max(0.0, qb * qb - 4.0 * qa * d * d))
        if z <= 0.0:  # the smaller root: 2c / (b + root), stable for qa near 0
            return 2.0 * d * d / (qb + root) if qb + root > 0.0 else 0.0
        return (qb + root) / (2.0 * qa) if qa > 0.0 else math.inf


def due(empty: EmptyTime, t: float, z: float) -> bool:
    """Whether the offer goes: empty within ``t`` days with probability ``Φ(z)`` or more.

    The inequality the offers' statement evaluates, term for term:
    ``t - d >= z * sqrt(a t + b t²)`` (for a certain date: ``t >= d``).
    """
    return t - empty.days >= z * empty.sd(t)
