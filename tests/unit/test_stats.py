"""Intervals of core/verdict/stats.py: hand-computed values, determinism, and coverage on simulated data."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np
import pytest

from greentui.core.figures import SideFigures
from greentui.core.verdict import stats
from tests.helpers.events import scored

N_DATASETS = 400  # coverage of 95% intervals over 400 datasets: standard error ~1.1 points


def test_wilson_matches_hand_computed_value() -> None:
    # p = 0.8, n = 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416, half 1.96 * sqrt(0.016 + 0.009604) / 1.38416
    lo, hi = stats.wilson_interval(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-4)
    assert hi == pytest.approx(0.94332, abs=1e-4)


def test_wilson_edges() -> None:
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.27753, abs=1e-4)
    lo, hi = stats.wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.27753, abs=1e-4)
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        stats.wilson_interval(11, 10)


def test_wilson_coverage_on_simulated_binomials() -> None:
    rng = np.random.default_rng(7)
    p, n = 0.3, 60
    hits = 0
    for successes in rng.binomial(n, p, size=N_DATASETS):
        lo, hi = stats.wilson_interval(int(successes), n)
        hits += lo <= p <= hi
    assert 0.92 <= hits / N_DATASETS <= 0.98


def test_bootstrap_mean_coverage_on_a_known_distribution() -> None:
    rng = np.random.default_rng(11)
    a, b, n = 4.0, 3.0, 80  # Beta(4, 3): continuous scores in [0, 1] with mean 4/7
    true_mean = a / (a + b)
    hits = 0
    for i in range(N_DATASETS):
        lo, hi = stats.bootstrap_mean_ci(rng.beta(a, b, size=n), seed=i, n_resamples=1000)
        hits += lo <= true_mean <= hi
    assert 0.92 <= hits / N_DATASETS <= 0.98


def test_paired_bootstrap_coverage_with_shared_item_difficulty() -> None:
    rng = np.random.default_rng(3)
    n, hits = 100, 0
    for i in range(N_DATASETS):
        easiness = rng.uniform(0, 1, size=n)  # shared by both models: pairing removes this variance
        scores_a = (rng.uniform(size=n) < easiness).astype(float)
        scores_b = (rng.uniform(size=n) < 0.9 * easiness).astype(float)
        diff = stats.paired_bootstrap_diff(scores_a, scores_b, seed=i, n_resamples=1000)
        hits += diff.lo <= -0.05 <= diff.hi  # E[0.9 u - u] = -0.05
    assert 0.92 <= hits / N_DATASETS <= 0.98


def test_ratio_coverage_on_paired_energies() -> None:
    rng = np.random.default_rng(5)
    n, hits = 60, 0
    for i in range(N_DATASETS):
        energy_a = rng.gamma(4.0, 5.0, size=n)  # joules per item, mean 20
        energy_b = 0.8 * energy_a + rng.normal(0.0, 2.0, size=n)  # E[b] / E[a] = 0.8
        ratio = stats.bootstrap_ratio_ci(energy_b, energy_a, seed=i, n_resamples=1000)
        hits += ratio.lo <= 0.8 <= ratio.hi
    assert 0.92 <= hits / N_DATASETS <= 0.98


def test_bootstraps_are_seeded_and_reproducible() -> None:
    values = [0.1, 0.5, 0.9, 0.3, 0.7, 0.2, 1.0, 0.0]
    assert stats.bootstrap_mean_ci(values, seed=1) == stats.bootstrap_mean_ci(values, seed=1)
    assert stats.bootstrap_mean_ci(values, seed=1) != stats.bootstrap_mean_ci(values, seed=2)
    a, b = [1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 0, 1]
    assert stats.paired_bootstrap_diff(a, b, seed=4) == stats.paired_bootstrap_diff(a, b, seed=4)


def test_paired_diff_point_estimate_and_direction() -> None:
    diff = stats.paired_bootstrap_diff([1, 1, 1, 1, 0, 0], [1, 0, 0, 1, 0, 0])
    assert diff.mean == pytest.approx(-2 / 6)  # b - a
    assert diff.lo <= diff.mean <= diff.hi and diff.n == 6
    identical = stats.paired_bootstrap_diff([1, 0, 1], [1, 0, 1])
    assert (identical.mean, identical.lo, identical.hi) == (0.0, 0.0, 0.0) and identical.contains_zero
    with pytest.raises(ValueError, match="equal lengths"):
        stats.paired_bootstrap_diff([1, 0], [1])


def test_ratio_of_sums_and_unpaired_ratio_of_means() -> None:
    paired = stats.bootstrap_ratio_ci([2, 4, 6], [4, 8, 12])
    assert paired.ratio == pytest.approx(0.5) and paired.lo == pytest.approx(0.5) and not paired.contains_one
    unpaired = stats.bootstrap_ratio_ci([10, 10], [10, 10, 10, 10], paired=False)
    assert unpaired.ratio == pytest.approx(1.0)  # per-item means, not sums of unequal lengths
    with pytest.raises(ValueError, match="denominator"):
        stats.bootstrap_ratio_ci([1.0], [0.0])


def _figures(scores: list[float], continuous: bool) -> SideFigures:
    figures = SideFigures(continuous=continuous)
    for score in scores:
        figures.add(scored("A", 0, score=score, joules=1.0, start=0.0))
    return figures


def test_running_score_binary_uses_wilson_and_continuous_the_running_variance() -> None:
    assert stats.running_score_of(SideFigures()) == stats.RunningScore(None, None, None, 0)
    binary = stats.running_score_of(_figures([1, 1, 0, 1, 1, 1, 1, 0, 1, 1], continuous=False))
    assert (binary.mean, binary.n) == (0.8, 10)
    assert (binary.lo, binary.hi) == pytest.approx(stats.wilson_interval(8, 10), abs=1e-3)
    scores = [0.2, 0.4, 0.6, 0.8, 0.5]
    continuous = stats.running_score_of(_figures(scores, continuous=True))
    assert continuous.mean == pytest.approx(0.5)
    # mean +- 1.96 * s / sqrt(n), s the sample standard deviation
    half = 1.959964 * statistics.stdev(scores) / math.sqrt(len(scores))
    assert (continuous.lo, continuous.hi) == pytest.approx((0.5 - half, 0.5 + half))
    assert stats.running_score_of(_figures([0.4], continuous=True)).lo is None  # no spread from one item


def test_the_running_interval_of_a_continuous_score_is_close_to_the_verdicts_bootstrap() -> None:
    rng = random.Random(3)
    scores = [min(1.0, max(0.0, rng.gauss(0.4, 0.15))) for _ in range(200)]
    live = stats.running_score_of(_figures(scores, continuous=True))
    lo, hi = stats.bootstrap_mean_ci(scores, seed=0)
    assert live.lo == pytest.approx(lo, abs=0.006)
    assert live.hi == pytest.approx(hi, abs=0.006)


def test_inputs_that_are_not_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        stats.bootstrap_mean_ci([])
    with pytest.raises(ValueError, match="finite"):
        stats.bootstrap_mean_ci([0.5, float("nan")])


def test_percentile_ignores_missing_values() -> None:
    assert stats.percentile([None, None], 50) is None
    assert stats.percentile([1.0, None, 3.0], 50) == 2.0
    assert stats.percentile([float(v) for v in range(101)], 95) == pytest.approx(95.0)
