"""Stopping when settled: anytime-valid confidence sequences on the paired accuracy difference and the energy share.

A confidence *sequence* holds at every item count at once: the chance that it ever misses the true value, however
often it is looked at, is at most alpha. So a session may check it after every item pair and stop the moment it
settles, without inflating false winners (a fixed-n interval checked after every item would).

The bound is the predictable plug-in empirical-Bernstein confidence sequence for the mean of values in [0, 1]
(Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting", JRSSB 2024, arXiv 2010.09686,
PrPl-EB, in its sampling-without-replacement form, Section 6). The population is the task's N items, run in a
seeded random order, so the first t items are a sample drawn without replacement and the sequence covers the mean
over *all N items* (also when a run is capped below N). With x_i in [0, 1], one lower bound at level ``a`` is::

    mu_t     = (1/2 + sum_{i<=t} x_i) / (t + 1)                 sigma2_t = (1/4 + sum_{i<=t} (x_i - mu_i)^2) / (t + 1)
    lambda_t = min(sqrt(2 log(1/a) / (sigma2_{t-1} t log(1 + t))), 1/2)          (mu_0 = 1/2, sigma2_0 = 1/4)
    v_t      = (x_t - mu_{t-1})^2                                psi(l) = -log(1 - l) - l
    Z_t      = sum_{i<t} x_i / (N - t + 1)                       W_t = (t - 1) / (N - t + 1)
    lower_t  = (sum lambda_i (x_i + Z_i) - log(1/a) - sum v_i psi(lambda_i)) / sum lambda_i (1 + W_i)

(the paper writes v_i = 4 (x_i - mu_{i-1})^2 and psi_E = psi / 4: the same product). The upper bound is one minus
the lower bound of 1 - x; each side gets a/2 of the sequence's alpha. Both are intersected over time (a running
intersection of a confidence sequence is one too) and with the bounds any N-item population allows after seeing t
of them: [sum x / N, (sum x + N - t) / N].

Two sequences, alpha split evenly between them (Bonferroni, so both hold together with probability 1 - alpha):

* accuracy: d_i = score_B - score_A in [-1, 1] (binary or continuous scores), x_i = (d_i + 1) / 2; the interval is
  reported back on the d scale (fractions of 1; callers print percentage points);
* energy: the per-item share of A, s_i = E_A / (E_A + E_B) in [0, 1]: no assumption about the scale of joules.
  0.5 means equal cost; items without an energy figure on either side are left out of this sequence.

Outcomes, checked after every pair: a winner when the interval excludes "no difference" (0 for accuracy, 0.5 for
the share); "equivalent" when it lies inside the margin (+-delta, in points of accuracy or of share); otherwise not
settled yet. A session stops when accuracy has settled (or, on request, both: see ``StoppingState.settled_on``). Hand-written with numpy because the reference implementation (the ``confseq`` package) is unmaintained
and fails on NumPy 2; tests check it against closed forms and a loop written straight from the formulas above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

# the declared defaults live with the verdict's records, so the CLI can show them without importing numpy
from greentui.core.verdict.model import DEFAULT_ALPHA, DEFAULT_DELTA

Outcome = Literal["A", "B", "equivalent", "not settled"]
Kind = Literal["accuracy", "energy"]
SettleOn = Literal["accuracy", "both"]
SETTLE_RULES: tuple[SettleOn, ...] = ("accuracy", "both")

TRUNCATION = 0.5  # largest bet, as in the paper's experiments (c = 1/2)

FloatArray = npt.NDArray[np.float64]


class StoppingError(ValueError):
    """A declared stopping parameter is out of range; one-line message."""


def check_parameters(alpha: float, delta: float) -> None:
    """Raise :class:`StoppingError` unless 0 < alpha < 1 and 0 < delta < 1 (delta as a fraction, 0.05 = 5 points)."""
    if not 0.0 < alpha < 1.0:
        raise StoppingError(f"alpha must be between 0 and 1 (e.g. 0.05), not {alpha}")
    if not 0.0 < delta < 1.0:
        raise StoppingError(f"the equivalence margin must be between 0 and 100 points, not {delta * 100:g}")


# ------------------------------------------------------------------------------------------------------------------
# The bound, vectorised (simulations, tests) ...
# ------------------------------------------------------------------------------------------------------------------


def _lower_bounds(x: FloatArray, population: int | None, alpha: float) -> FloatArray:
    """PrPl-EB lower confidence sequence at level ``alpha`` over the last axis of ``x`` (values in [0, 1]).
    ``population`` None: sampling with replacement (Z = W = 0)."""
    t = np.arange(1, x.shape[-1] + 1, dtype=np.float64)
    sums = np.cumsum(x, axis=-1)
    mu = (0.5 + sums) / (t + 1)
    sigma2 = (0.25 + np.cumsum((x - mu) ** 2, axis=-1)) / (t + 1)
    mu_prev = np.concatenate([np.full((*x.shape[:-1], 1), 0.5), mu[..., :-1]], axis=-1)
    sigma2_prev = np.concatenate([np.full((*x.shape[:-1], 1), 0.25), sigma2[..., :-1]], axis=-1)
    log_term = math.log(1.0 / alpha)
    lam = np.minimum(np.sqrt(2.0 * log_term / (sigma2_prev * t * np.log1p(t))), TRUNCATION)
    psi = -np.log1p(-lam) - lam
    v = (x - mu_prev) ** 2
    if population is None:
        z = np.zeros_like(x)
        w = np.zeros_like(t)
    else:
        sums_prev = sums - x
        z = sums_prev / (population - t + 1)
        w = (t - 1) / (population - t + 1)
    numerator = np.cumsum(lam * (x + z), axis=-1) - log_term - np.cumsum(v * psi, axis=-1)
    bounds: FloatArray = numerator / np.cumsum(lam * (1 + w), axis=-1)
    return bounds


def confidence_sequence(x: npt.ArrayLike, population: int | None, alpha: float) -> tuple[FloatArray, FloatArray]:
    """Two-sided (1 - alpha) confidence sequence for the mean of values in [0, 1], after each of the last axis's
    observations: ``(lower, upper)`` arrays of the same shape, running-intersected and clipped to what a
    ``population``-item population allows (``None``: an infinite one, sampling with replacement)."""
    values = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if population is not None and values.shape[-1] > population:
        raise StoppingError(f"{values.shape[-1]} observations from a population of {population}")
    lower = _lower_bounds(values, population, alpha / 2.0)
    upper = 1.0 - _lower_bounds(1.0 - values, population, alpha / 2.0)
    if population is not None:
        t = np.arange(1, values.shape[-1] + 1)
        sums = np.cumsum(values, axis=-1)
        lower = np.maximum(lower, sums / population)
        upper = np.minimum(upper, (sums + population - t) / population)
    lower = np.maximum.accumulate(np.clip(lower, 0.0, 1.0), axis=-1)
    upper = np.minimum.accumulate(np.clip(upper, 0.0, 1.0), axis=-1)
    return lower, np.maximum(upper, lower)


# ------------------------------------------------------------------------------------------------------------------
# ... and incremental (the live session: the same numbers, O(1) per item)
# ------------------------------------------------------------------------------------------------------------------


class _LowerBound:
    """Running sums of :func:`_lower_bounds` for one sequence of values."""

    def __init__(self, population: int | None, alpha: float) -> None:
        self.population = population
        self.log_term = math.log(1.0 / alpha)
        self.t = 0
        self.sum_x = 0.0
        self.mu = 0.5
        self.sigma2 = 0.25
        self.sum_sq = 0.0
        self.sum_num = 0.0  # sum lambda (x + Z)
        self.sum_den = 0.0  # sum lambda (1 + W)
        self.sum_vpsi = 0.0

    def add(self, x: float) -> float:
        self.t += 1
        t = self.t
        lam = min(math.sqrt(2.0 * self.log_term / (self.sigma2 * t * math.log1p(t))), TRUNCATION)
        if self.population is None:
            z = w = 0.0
        else:
            z = self.sum_x / (self.population - t + 1)
            w = (t - 1) / (self.population - t + 1)
        self.sum_vpsi += (x - self.mu) ** 2 * (-math.log1p(-lam) - lam)
        self.sum_num += lam * (x + z)
        self.sum_den += lam * (1 + w)
        self.sum_x += x
        self.mu = (0.5 + self.sum_x) / (t + 1)
        self.sum_sq += (x - self.mu) ** 2
        self.sigma2 = (0.25 + self.sum_sq) / (t + 1)
        return (self.sum_num - self.log_term - self.sum_vpsi) / self.sum_den


class BoundedMeanSequence:
    """The two-sided sequence of :func:`confidence_sequence`, one observation at a time."""

    def __init__(self, population: int | None, alpha: float) -> None:
        self.population = population
        self._low = _LowerBound(population, alpha / 2.0)
        self._high = _LowerBound(population, alpha / 2.0)  # lower bound of 1 - x
        self.n = 0
        self.sum_x = 0.0
        self.lower = 0.0
        self.upper = 1.0

    def add(self, x: float) -> None:
        if self.population is not None and self.n >= self.population:
            raise StoppingError(f"more observations than the population of {self.population}")
        x = min(1.0, max(0.0, float(x)))
        self.n += 1
        self.sum_x += x
        lower = self._low.add(x)
        upper = 1.0 - self._high.add(1.0 - x)
        if self.population is not None:
            lower = max(lower, self.sum_x / self.population)
            upper = min(upper, (self.sum_x + self.population - self.n) / self.population)
        self.lower = max(self.lower, min(1.0, max(0.0, lower)))
        self.upper = max(self.lower, min(self.upper, min(1.0, max(0.0, upper))))

    @property
    def mean(self) -> float | None:
        return self.sum_x / self.n if self.n else None


# ------------------------------------------------------------------------------------------------------------------
# The two sequences of a session and their outcomes
# ------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceState:
    """One sequence after ``n`` pairs. accuracy: B - A in [-1, 1] (fractions); energy: A's share in [0, 1]."""

    kind: Kind
    n: int
    estimate: float | None  # the running mean on the same scale (None before the first pair)
    lo: float
    hi: float
    outcome: Outcome
    delta: float
    alpha: float  # this sequence's share of the session's alpha

    @property
    def settled(self) -> bool:
        return self.outcome != "not settled"


def decide(kind: Kind, lo: float, hi: float, delta: float) -> Outcome:
    """A winner when the interval excludes no-difference, else "equivalent" when it lies within +-delta of it."""
    centre = 0.0 if kind == "accuracy" else 0.5
    if kind == "accuracy":
        if lo > centre:
            return "B"
        if hi < centre:
            return "A"
    else:  # a share of A's energy below one half: A uses less
        if hi < centre:
            return "A"
        if lo > centre:
            return "B"
    if centre - delta < lo and hi < centre + delta:
        return "equivalent"
    return "not settled"


@dataclass(frozen=True)
class StoppingState:
    """Both sequences after the latest complete pair, and whether the comparison is settled."""

    accuracy: SequenceState
    energy: SequenceState | None  # None: no pair with an energy figure on both sides yet
    population: int  # N: the task's items
    planned: int  # items per side the run would do without stopping (N, or the declared cap)
    energy_missing: int  # pairs left out of the energy sequence for lack of a figure

    @property
    def n(self) -> int:
        return self.accuracy.n

    @property
    def settled(self) -> bool:
        """The accuracy comparison is settled (the default rule, see :meth:`settled_on`)."""
        return self.accuracy.settled

    def settled_on(self, rule: SettleOn) -> bool:
        """``accuracy``: its sequence settled. ``both``: energy too, where pairs carry energy figures.

        Accuracy is the default because bets are capped at 1/2: the share's interval is never narrower than about
        2 log(2 / alpha_energy) / n, so two models of equal cost need some 180 pairs (alpha 0.05, margin 5
        points) before "equivalent" can be said, however steady their joules. The energy sequence is still
        reported at the stop, valid there because a confidence sequence holds at any stopping time.
        """
        if rule == "both":
            return self.accuracy.settled and (self.energy is None or self.energy.settled)
        return self.accuracy.settled


class StoppingMonitor:
    """Folds complete item pairs (A's and B's score and joules on the same item) into both sequences."""

    def __init__(
        self, population: int, *, alpha: float = DEFAULT_ALPHA, delta: float = DEFAULT_DELTA, planned: int | None = None
    ) -> None:
        check_parameters(alpha, delta)
        if population < 1:
            raise StoppingError("a stopping rule needs at least one item")
        self.population = population
        self.planned = min(planned or population, population)
        self.alpha = alpha
        self.delta = delta
        self._accuracy = BoundedMeanSequence(population, alpha / 2.0)
        self._energy = BoundedMeanSequence(population, alpha / 2.0)
        self._energy_missing = 0
        self.state = self._state()

    def add_pair(
        self, score_a: float, score_b: float, joules_a: float | None = None, joules_b: float | None = None
    ) -> StoppingState:
        """One item done on both sides; returns the new state (also kept as ``state``)."""
        self._accuracy.add((float(score_b) - float(score_a) + 1.0) / 2.0)
        if (
            joules_a is not None
            and joules_b is not None
            and joules_a >= 0
            and joules_b >= 0
            and joules_a + joules_b > 0
        ):
            self._energy.add(joules_a / (joules_a + joules_b))
        else:
            self._energy_missing += 1
        self.state = self._state()
        return self.state

    def _state(self) -> StoppingState:
        acc = self._accuracy
        lo, hi = 2.0 * acc.lower - 1.0, 2.0 * acc.upper - 1.0
        mean = acc.mean
        accuracy = SequenceState(
            kind="accuracy",
            n=acc.n,
            estimate=None if mean is None else 2.0 * mean - 1.0,
            lo=lo,
            hi=hi,
            outcome=decide("accuracy", lo, hi, self.delta) if acc.n else "not settled",
            delta=self.delta,
            alpha=self.alpha / 2.0,
        )
        energy = None
        if self._energy.n:
            en = self._energy
            energy = SequenceState(
                kind="energy",
                n=en.n,
                estimate=en.mean,
                lo=en.lower,
                hi=en.upper,
                outcome=decide("energy", en.lower, en.upper, self.delta),
                delta=self.delta,
                alpha=self.alpha / 2.0,
            )
        return StoppingState(accuracy, energy, self.population, self.planned, self._energy_missing)
