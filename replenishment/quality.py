"""Fleet quality: is a SKU's recent fault count a significant rise over its baseline?

Pure statistics, no I/O. The daily scan (:mod:`quality_store`) counts, per SKU, the
``fault`` events of the last ``window_days`` and of the ``baseline_days`` before them, and
the active devices. Under "nothing changed" the window's count is Poisson with mean
``expected = baseline rate per device-day x devices x window_days``; the one-sided p-value
is ``P(X >= faults)``. An alert needs both ``p < alpha`` and at least ``min_faults``
(a handful of faults on a tiny fleet is not a quality problem, whatever the p-value).

A baseline without faults would make any fault "infinitely" surprising: half a fault is
added to the baseline count (a Jeffreys-style pseudo count), so an empty baseline still
needs a real burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Assessment", "QualityRule", "assess", "poisson_sf"]


@dataclass(frozen=True, slots=True)
class QualityRule:
    window_days: int = 7
    baseline_days: int = 90
    min_faults: int = 5
    alpha: float = 0.001
    baseline_pseudo_faults: float = 0.5


@dataclass(frozen=True, slots=True)
class Assessment:
    significant: bool
    faults: int
    devices: int
    rate: float           # faults per device-day in the window
    baseline_rate: float  # faults per device-day in the baseline
    expected: float       # faults the baseline rate predicts for the window
    p_value: float


def poisson_sf(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu), summed from the upper tail in log space.

    Summing upward from ``k`` keeps tiny tails accurate (``1 - cdf`` would round them to 0).
    """
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    log_mu = math.log(mu)
    total = 0.0
    i = k
    while True:
        term = math.exp(-mu + i * log_mu - math.lgamma(i + 1))
        total += term
        # past the mode the terms fall geometrically; stop when they no longer count
        if i > mu and term <= total * 1e-17:
            break
        i += 1
    return min(total, 1.0)


def assess(faults: int, devices: int, baseline_faults: int,
           rule: QualityRule = QualityRule()) -> Assessment:
    """Whether ``faults`` in the window is a significant rise for a fleet of ``devices``."""
    window_exposure = devices * rule.window_days
    baseline_exposure = devices * rule.baseline_days
    if devices <= 0:
        return Assessment(False, faults, devices, 0.0, 0.0, 0.0, 1.0)
    baseline_rate = (baseline_faults + rule.baseline_pseudo_faults) / baseline_exposure
    expected = baseline_rate * window_exposure
    p_value = poisson_sf(faults, expected)
    return Assessment(
        significant=faults >= rule.min_faults and p_value < rule.alpha,
        faults=faults, devices=devices, rate=faults / window_exposure,
        baseline_rate=baseline_faults / baseline_exposure, expected=expected, p_value=p_value)
