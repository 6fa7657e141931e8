"""Confidence intervals for the verdict and the live view: Wilson and seeded percentile bootstraps.

Pure functions over plain sequences of floats. Every bootstrap takes a ``seed`` and builds its own
``numpy.random.Generator``, so the same inputs always give the same interval (the verdict is stored and
must read the same when a session is reopened). Intervals are two-sided; ``confidence=0.95`` by default.

Scores are in [0, 1] (a task's scorer returns one per item). Differences are reported in the same unit
(fractions); callers multiply by 100 for percentage points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greentui.core.figures import Z95, SideFigures

DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class RunningScore:
    """Mean score so far with its 95% CI; all None until the first item (``n == 0``)."""

    mean: float | None
    lo: float | None
    hi: float | None
    n: int


@dataclass(frozen=True)
class PairedDiff:
    """Mean of ``b - a`` over paired items (fractions of 1, not points) with its bootstrap CI."""

    mean: float
    lo: float
    hi: float
    n: int

    @property
    def contains_zero(self) -> bool:
        return self.lo <= 0.0 <= self.hi


@dataclass(frozen=True)
class RatioCI:
    """``sum(numerator) / sum(denominator)`` with its bootstrap CI (e.g. energy of B over energy of A)."""

    ratio: float
    lo: float
    hi: float
    n: int

    @property
    def contains_one(self) -> bool:
        return self.lo <= 1.0 <= self.hi


def _z_for(confidence: float) -> float:
    """Two-sided normal quantile for ``confidence`` (1.959964 for 0.95), without scipy."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _tails(confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return alpha / 2.0, 1.0 - alpha / 2.0


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Behaves well at 0 and n successes and for small n, unlike the normal ("Wald") interval.
    ``n == 0`` carries no information: the whole range (0, 1) is returned.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p_hat = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p_hat + z2 / (2.0 * n)) / denominator
    half = z * math.sqrt(p_hat * (1.0 - p_hat) / n + z2 / (4.0 * n * n)) / denominator
    # At 0 and n successes the bound is exactly 0 (or 1); the formula leaves floating-point dust there.
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def _as_array(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{what}: need a non-empty sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what}: values must be finite numbers")
    return array


def _resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_resamples, n))


def bootstrap_mean_ci(
    values: Sequence[float],
    seed: int = 0,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile-bootstrap CI of the mean of ``values`` (seeded: same input, same interval)."""
    array = _as_array(values, "bootstrap_mean_ci")
    means = array[_resample_indices(array.size, n_resamples, seed)].mean(axis=1)
    lo_q, hi_q = _tails(confidence)
    lo, hi = np.quantile(means, [lo_q, hi_q])
    return float(lo), float(hi)


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    seed: int = 0,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
) -> PairedDiff:
    """Mean of ``b[i] - a[i]`` with a percentile-bootstrap CI that resamples *items* (keeping pairs together).

    Pairing removes the between-item variance both models share (an easy item is easy for both), so the
    interval is much narrower than comparing two independent accuracies.
    """
    a_array = _as_array(a, "paired_bootstrap_diff a")
    b_array = _as_array(b, "paired_bootstrap_diff b")
    if a_array.size != b_array.size:
        raise ValueError(f"paired_bootstrap_diff: {a_array.size} vs {b_array.size} values; pairs need equal lengths")
    diffs = b_array - a_array
    means = diffs[_resample_indices(diffs.size, n_resamples, seed)].mean(axis=1)
    lo_q, hi_q = _tails(confidence)
    lo, hi = np.quantile(means, [lo_q, hi_q])
    return PairedDiff(mean=float(diffs.mean()), lo=float(lo), hi=float(hi), n=int(diffs.size))


def bootstrap_ratio_ci(
    numerator: Sequence[float],
    denominator: Sequence[float],
    seed: int = 0,
    *,
    paired: bool = True,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
) -> RatioCI:
    """Percentile-bootstrap CI of ``sum(numerator) / sum(denominator)``.

    ``paired=True`` (equal lengths, item i of both sides is the same task item) resamples items jointly;
    ``paired=False`` resamples each side on its own and compares per-item means, so sides of unequal length
    compare fairly. Raises ValueError when the denominator sums to <= 0.
    Resamples whose denominator is 0 (possible with many zero-joule items) are dropped, not counted as inf.
    """
    num = _as_array(numerator, "bootstrap_ratio_ci numerator")
    den = _as_array(denominator, "bootstrap_ratio_ci denominator")
    if den.sum() <= 0:
        raise ValueError("bootstrap_ratio_ci: the denominator sums to zero or less; no ratio")
    ratio = float(num.sum() / den.sum())
    if paired:
        if num.size != den.size:
            raise ValueError(f"bootstrap_ratio_ci: paired needs equal lengths, got {num.size} and {den.size}")
        idx = _resample_indices(num.size, n_resamples, seed)
        num_sums, den_sums = num[idx].sum(axis=1), den[idx].sum(axis=1)
    else:
        num_sums = num[_resample_indices(num.size, n_resamples, seed)].sum(axis=1)
        den_sums = den[_resample_indices(den.size, n_resamples, seed + 1)].sum(axis=1)
    keep = den_sums > 0
    # Compare sums scaled to the same item count, so an unpaired ratio of unequal lengths is per item.
    scale = den.size / num.size
    if not keep.any():  # every resample drew only zero-joule items: nothing to spread the estimate with
        return RatioCI(ratio=ratio * scale, lo=ratio * scale, hi=ratio * scale, n=int(num.size))
    ratios = num_sums[keep] / den_sums[keep] * scale
    lo_q, hi_q = _tails(confidence)
    lo, hi = np.quantile(ratios, [lo_q, hi_q])
    return RatioCI(ratio=ratio * scale, lo=float(lo), hi=float(hi), n=int(num.size))


def running_score_of(figures: SideFigures, *, confidence: float = 0.95) -> RunningScore:
    """The live view's running score from running sums, in O(1) per update whatever the item count.

    Binary scores: the Wilson interval of the correct count (the same interval the verdict gives). Continuous
    scores: the normal-approximation interval from the running variance (the verdict bootstraps once, at the
    end); None below two items, where a spread cannot be told.
    """
    if figures.n == 0:
        return RunningScore(mean=None, lo=None, hi=None, n=0)
    mean = figures.mean_score
    if figures.continuous:
        interval = figures.mean_interval(z=_z_for(confidence))
        lo, hi = interval if interval is not None else (None, None)
    else:
        lo, hi = wilson_interval(min(figures.score_sum, float(figures.n)), figures.n, z=_z_for(confidence))
    return RunningScore(mean=mean, lo=lo, hi=hi, n=figures.n)


def percentile(values: Sequence[float | None], q: float) -> float | None:
    """The ``q``-th percentile (0..100, linear interpolation) of the values that are not None; None if none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return float(np.percentile(np.asarray(present, dtype=float), q))
