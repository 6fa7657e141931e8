"""The anytime-valid stopping rule (core/verdict/sequential.py): hand-computed values, the incremental form against
the vectorised one, and simulations: under the null no winner is ever declared more often than alpha, the true
difference is covered at every step, and a large gap settles quickly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from greentui.core.verdict.sequential import (
    BoundedMeanSequence,
    StoppingError,
    StoppingMonitor,
    confidence_sequence,
    decide,
)


def _harmonic(n: int) -> float:
    return sum(1.0 / k for k in range(1, n + 1))


def _loop_lower(x: list[float], population: int | None, a: float) -> list[float]:
    """The lower bound written straight from the paper's formulas, one scalar at a time (no shared code)."""
    mu_prev, sigma2_prev = 0.5, 0.25
    total = sq = num = den = vpsi = 0.0
    out = []
    for t, value in enumerate(x, start=1):
        lam = min(math.sqrt(2 * math.log(1 / a) / (sigma2_prev * t * math.log(1 + t))), 0.5)
        z = 0.0 if population is None else total / (population - t + 1)
        w = 0.0 if population is None else (t - 1) / (population - t + 1)
        vpsi += 4 * (value - mu_prev) ** 2 * (-math.log(1 - lam) - lam) / 4  # v_i psi_E(lambda_i), paper's form
        num += lam * (value + z)
        den += lam * (1 + w)
        total += value
        mu = (0.5 + total) / (t + 1)
        sq += (value - mu) ** 2
        mu_prev, sigma2_prev = mu, (0.25 + sq) / (t + 1)
        out.append((num - math.log(1 / a) - vpsi) / den)
    return out


def test_constant_halves_match_the_closed_form() -> None:
    # x_i = 1/2: every v_i is 0 and every bet is truncated at 1/2, so the bound reduces to
    # 1/2 - 2 log(2/alpha) / sum_i N / (N - i + 1) = 1/2 - 2 log(2/alpha) / (N (H_N - H_{N-t})).
    n_pop, t, alpha = 100, 50, 0.05
    lower, upper = confidence_sequence(np.full(t, 0.5), n_pop, alpha)
    expected = 0.5 - 2 * math.log(2 / alpha) / (n_pop * (_harmonic(n_pop) - _harmonic(n_pop - t)))
    assert expected == pytest.approx(0.39279196, abs=1e-8)  # worked by hand: 7.37776 / 68.8172 = 0.10721
    assert lower[-1] == pytest.approx(expected, abs=1e-12)
    assert upper[-1] == pytest.approx(1 - expected, abs=1e-12)
    # with replacement (no population): 1/2 - 2 log(2/alpha) / t
    lower_wr, _ = confidence_sequence(np.full(400, 0.5), None, alpha)
    assert lower_wr[-1] == pytest.approx(0.5 - 2 * math.log(40) / 400, abs=1e-12)


def test_vectorised_matches_the_scalar_formulas_and_the_incremental_form() -> None:
    rng = np.random.default_rng(3)
    x = rng.random(150)
    lower, upper = confidence_sequence(x, 400, 0.1)
    low = _loop_lower(list(x), 400, 0.05)
    high = [1 - v for v in _loop_lower(list(1 - x), 400, 0.05)]
    sums = np.cumsum(x)
    t = np.arange(1, 151)
    expect_lo = np.maximum.accumulate(np.clip(np.maximum(low, sums / 400), 0, 1))
    expect_hi = np.minimum.accumulate(np.clip(np.minimum(high, (sums + 400 - t) / 400), 0, 1))
    np.testing.assert_allclose(lower, expect_lo, atol=1e-12)
    np.testing.assert_allclose(upper, expect_hi, atol=1e-12)
    live = BoundedMeanSequence(400, 0.1)
    for i, value in enumerate(x):
        live.add(float(value))
        assert live.lower == pytest.approx(lower[i], abs=1e-12)
        assert live.upper == pytest.approx(upper[i], abs=1e-12)


def test_the_whole_population_pins_the_mean() -> None:
    x = np.array([1.0, 0.0, 1.0, 1.0, 0.5])
    lower, upper = confidence_sequence(x, 5, 0.05)
    assert lower[-1] == pytest.approx(0.7) and upper[-1] == pytest.approx(0.7)
    assert np.all(np.diff(lower) >= 0) and np.all(np.diff(upper) <= 0)
    with pytest.raises(StoppingError):
        confidence_sequence(np.zeros(6), 5, 0.05)


def _null_population(n: int, discordant: float) -> np.ndarray:
    """Paired differences mapped to [0, 1] with exactly equal accuracy: as many items only A gets right (x = 0)
    as items only B gets right (x = 1); the rest are ties (x = 1/2)."""
    x = np.full(n, 0.5)
    k = int(discordant * n / 2)
    x[:k], x[k : 2 * k] = 1.0, 0.0
    return x


@pytest.mark.parametrize(("n", "discordant"), [(120, 0.5), (500, 0.3), (1319, 0.6)])
def test_null_monitored_after_every_item_rarely_declares_a_winner(n: int, discordant: float) -> None:
    rng = np.random.default_rng(n)
    population = _null_population(n, discordant)
    runs = 1000
    x = np.array([rng.permutation(population) for _ in range(runs)])
    alpha = 0.05
    lower, upper = confidence_sequence(x, n, alpha / 2)  # the accuracy sequence's share of alpha
    d_lo, d_hi = 2 * lower - 1, 2 * upper - 1
    ever_winner = ((d_lo > 0) | (d_hi < 0)).any(axis=1)
    assert ever_winner.mean() < alpha
    # the same through the monitor's own decision rule, on a few runs (slower: one pair at a time)
    for run in x[:20]:
        monitor = StoppingMonitor(n, alpha=alpha)
        for value in run[:200]:
            state = monitor.add_pair(0.0, 2 * value - 1)
            assert state.accuracy.outcome != "A" and state.accuracy.outcome != "B"


@pytest.mark.parametrize(("p_a", "p_b", "n"), [(0.3, 0.5, 300), (0.7, 0.6, 1000), (0.1, 0.12, 120)])
def test_covers_the_true_difference_at_every_step(p_a: float, p_b: float, n: int) -> None:
    rng = np.random.default_rng(7)
    runs = 1000
    a = (rng.random(n) < p_a).astype(float)
    b = (rng.random(n) < p_b).astype(float)
    truth = float(np.mean(b - a))  # the population's own difference: the target of a without-replacement sequence
    x = np.array([(b - a + 1)[p] / 2 for p in (rng.permutation(n) for _ in range(runs))])
    lower, upper = confidence_sequence(x, n, 0.025)
    covered = ((2 * lower - 1 <= truth + 1e-12) & (truth - 1e-12 <= 2 * upper - 1)).all(axis=1)
    assert covered.mean() >= 1 - 0.025


def test_energy_share_coverage_and_decision() -> None:
    rng = np.random.default_rng(11)
    n, runs = 400, 1000
    joules_a = rng.gamma(4.0, 2.0, n)
    joules_b = joules_a * rng.uniform(0.7, 1.1, n)
    share = joules_a / (joules_a + joules_b)
    truth = float(share.mean())
    x = np.array([share[rng.permutation(n)] for _ in range(runs)])
    lower, upper = confidence_sequence(x, n, 0.025)
    assert ((lower <= truth + 1e-12) & (truth - 1e-12 <= upper)).all(axis=1).mean() >= 0.975
    assert truth > 0.5 and decide("energy", 0.52, 0.56, 0.05) == "B"  # A's share above a half: B uses less


def test_a_35_vs_2_point_gap_settles_within_100_items() -> None:
    rng = np.random.default_rng(5)
    n, runs = 1319, 1000
    a = (rng.random((runs, n)) < 0.02).astype(float)
    b = (rng.random((runs, n)) < 0.35).astype(float)
    lower, _ = confidence_sequence((b - a + 1) / 2, n, 0.025)
    settled = (2 * lower - 1 > 0).any(axis=1) & ((2 * lower - 1 > 0).argmax(axis=1) < 99)
    assert settled.mean() >= 0.95
    # and one run through the monitor itself
    monitor = StoppingMonitor(n)
    for i in range(n):
        state = monitor.add_pair(a[0, i], b[0, i], 1.0, 1.0)
        if state.settled:
            break
    assert state.accuracy.outcome == "B" and state.n < 100
    # equal energy on every item is not yet "equivalent within 5 points": bets are capped at 1/2, so the share's
    # interval is never narrower than about 2 log(2 / alpha_energy) / n, which needs some 180 pairs
    assert state.energy is not None and state.energy.outcome == "not settled"
    assert not state.settled_on("both")


def test_decisions() -> None:
    assert decide("accuracy", 0.01, 0.3, 0.05) == "B"
    assert decide("accuracy", -0.3, -0.01, 0.05) == "A"
    assert decide("accuracy", -0.04, 0.049, 0.05) == "equivalent"
    assert decide("accuracy", -0.06, 0.02, 0.05) == "not settled"
    assert decide("energy", 0.3, 0.49, 0.05) == "A"
    assert decide("energy", 0.46, 0.54, 0.05) == "equivalent"


def test_monitor_without_energy_settles_on_accuracy_alone() -> None:
    monitor = StoppingMonitor(50, alpha=0.05, delta=0.05, planned=30)
    assert not monitor.state.settled and monitor.state.planned == 30
    for _ in range(50):
        state = monitor.add_pair(0.0, 1.0, None, 2.0)
        if state.settled:
            break
    assert state.energy is None and state.energy_missing == state.n
    assert state.accuracy.outcome == "B" and state.settled


@pytest.mark.parametrize(("alpha", "delta"), [(0.0, 0.05), (1.0, 0.05), (0.05, 0.0), (0.05, 1.5)])
def test_parameters_are_checked(alpha: float, delta: float) -> None:
    with pytest.raises(StoppingError):
        StoppingMonitor(10, alpha=alpha, delta=delta)
