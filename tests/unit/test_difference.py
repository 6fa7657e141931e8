"""Per-figure differences between two runs: values by hand, pairing, which side is better, missing figures."""

from __future__ import annotations

import pytest

from greentui.core.verdict.difference import MIN_PAIRED, compare_runs
from tests.helpers import events as ev


def run(scores: list[float], joules: list[float | None], *, first: int = 0, tokens: int = 10) -> list:
    return [
        ev.scored("A", first + i, score=s, joules=j, start=float(i), tokens=tokens)
        for i, (s, j) in enumerate(zip(scores, joules, strict=True))
    ]


def figure(result, key: str):  # type: ignore[no-untyped-def]
    return next(f for f in result.figures if f.figure.key == key)


def test_values_and_differences_by_hand() -> None:
    left = run([1, 1, 0, 1, 0, 1, 1, 0], [10.0] * 8)
    right = run([1, 1, 1, 1, 0, 1, 1, 1], [5.0] * 8, tokens=20)
    result = compare_runs(left, right, same_items=True, left_g_per_kwh=360.0, right_g_per_kwh=360.0)
    assert result.paired and result.n_paired == 8
    score = figure(result, "score")
    assert score.left == pytest.approx(62.5) and score.right == pytest.approx(87.5)
    assert score.diff == pytest.approx(25.0)
    energy = figure(result, "energy")
    assert energy.diff == pytest.approx(-5.0) and energy.lo == pytest.approx(-5.0) and energy.hi == pytest.approx(-5.0)
    assert energy.better == "right"  # less energy is better
    assert figure(result, "jpt").right == pytest.approx(5.0 / 20)
    assert figure(result, "jpc").left == pytest.approx(80.0 / 5) and figure(result, "jpc").right == pytest.approx(
        40.0 / 7
    )
    assert figure(result, "co2").left == pytest.approx(10.0 / 3.6e6 * 360.0)
    assert energy.relative == pytest.approx(-0.5)


def test_a_clear_score_gain_is_the_right_side_and_a_small_one_is_neither() -> None:
    left = run([0.0] * 30, [1.0] * 30)
    right = run([1.0] * 30, [1.0] * 30)
    assert figure(compare_runs(left, right, same_items=True), "score").better == "right"
    noisy = run([1.0 if i % 2 else 0.0 for i in range(30)], [1.0] * 30)
    shifted = run([1.0 if i % 2 or i == 4 else 0.0 for i in range(30)], [1.0] * 30)
    score = figure(compare_runs(noisy, shifted, same_items=False), "score")
    assert score.better == "neither" and score.lo < 0 < score.hi


def test_pairing_needs_the_same_items() -> None:
    left = run([1.0] * 8, [1.0] * 8)
    other_items = run([1.0] * 8, [1.0] * 8, first=100)
    assert not compare_runs(left, other_items, same_items=True).paired  # same task, no common item
    assert not compare_runs(left, left, same_items=False).paired  # different tasks: never paired
    few = run([1.0] * (MIN_PAIRED - 1), [1.0] * (MIN_PAIRED - 1))
    assert not compare_runs(left, few, same_items=True).paired


def test_identical_runs_differ_by_nothing() -> None:
    items = run([1, 0, 1, 1, 0, 1], [3.3, 1.1, 2.2, 7.7, 0.1, 1.9])
    result = compare_runs(items, list(reversed(items)), same_items=True)
    for diff in result.figures:
        assert diff.diff == 0.0 and diff.lo == 0.0 and diff.hi == 0.0 and diff.better == "neither"


def test_missing_energy_or_no_correct_answer_has_no_difference() -> None:
    left = run([0.0] * 6, [1.0] * 6)
    right = run([1.0] * 6, [None] * 6)
    result = compare_runs(left, right, same_items=True)
    assert figure(result, "jpc").left is None and figure(result, "jpc").better == "unknown"
    assert figure(result, "energy").diff is None and figure(result, "energy").better == "unknown"
    assert figure(result, "score").diff == pytest.approx(100.0)
