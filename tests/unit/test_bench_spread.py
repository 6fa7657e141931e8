"""benchmarks/spread.py: each side's spread, and no verdict when it is wider than the margin the goal tests."""

from __future__ import annotations

import math

import pytest

from benchmarks.spread import room, spread, verdict


def test_spread_is_the_interquartile_range_over_the_median() -> None:
    s = spread([10.0, 11.0, 12.0, 13.0, 14.0], "bare", "tok/s")
    assert (s.median, s.q1, s.q3, s.low, s.high) == (12.0, 11.0, 13.0, 10.0, 14.0)
    assert s.relative == pytest.approx(2.0 / 12.0)
    assert "bare 12.00 tok/s (IQR 11.00-13.00, min-max 10.00-14.00, n=5, spread 16.7%)" == s.describe()
    assert math.isinf(spread([3.0]).relative)
    with pytest.raises(ValueError):
        spread([])


def test_a_ratio_measured_on_swinging_sides_is_inconclusive() -> None:
    # what harness_overhead.py once called "ok": nf4 ratio 6.73 while both sides swung between 1.9 and 22.7 tok/s
    bare = spread([1.9, 3.0, 4.1, 2.2, 22.7, 3.5, 2.8], "bare", "tok/s")
    ours = spread([22.7, 19.0, 21.0, 2.0, 20.5, 18.8, 21.9], "greentui", "tok/s")
    said = verdict(6.73 >= 0.97, [bare, ours], margin=0.03)
    assert said.startswith("inconclusive") and "3.0% margin" in said
    steady = [spread([30.0, 30.1, 30.2, 30.1, 30.0], "bare"), spread([29.9, 30.0, 30.0, 30.1, 29.9], "greentui")]
    assert verdict(True, steady, margin=0.03) == "ok"
    assert verdict(False, steady, margin=0.03) == "BELOW GOAL"


def test_room_to_an_absolute_limit() -> None:
    assert room(50.0, 200.0) == pytest.approx(3.0)
    assert room(190.0, 200.0) == pytest.approx(10 / 190)
    listing = spread([180.0, 195.0, 210.0, 185.0, 200.0], "listing", "ms")
    assert verdict(listing.median < 200, [listing], room(listing.median, 200.0)).startswith("inconclusive")
