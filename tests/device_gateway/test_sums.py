"""Interval readings from SenML sums (device_gateway/sums.py): each litre counted once,
whatever order and however often the sums come."""

from __future__ import annotations

from device_gateway.sums import Bounds, amount, intervals


def test_interval_readings_from_sums_count_each_litre_once() -> None:
    first, bounds = intervals(None, [(0, 1000.0), (60, 1002.5), (120, 1004.0)])
    assert first == [(60, 2.5), (120, 1.5)] and bounds == Bounds(0, 1000.0, 120, 1004.0)
    assert intervals(bounds, [(0, 1000.0), (60, 1002.5), (120, 1004.0)]) == ([], bounds)
    assert intervals(bounds, [(90, 1003.5)]) == ([], bounds)  # inside: counted already
    late, wider = intervals(bounds, [(-120, 995.0), (-60, 998.0)])
    assert late == [(-60, 3.0), (0, 2.0)] and wider == Bounds(-120, 995.0, 120, 1004.0)
    reset, _ = intervals(wider, [(180, 3.0), (240, 4.5)])  # RFC 8428 §10: the tag reset
    assert reset == [(180, 3.0), (240, 1.5)]


def test_a_sum_that_went_down_was_reset_and_counts_from_zero() -> None:
    assert amount(1000.0, 1002.5) == 2.5
    assert amount(1000.0, 3.0) == 3.0  # RFC 8428 §10: reset or wrapped
    assert intervals(None, []) == ([], None)
    assert intervals(None, [(5, 1.0), (5, 9.0)]) == ([], Bounds(5, 1.0, 5, 1.0))
