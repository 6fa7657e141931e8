"""Differences between two runs of a model in two sessions, figure by figure, with bootstrap intervals.

Comparing two stored sessions asks "did this change?" for each figure: the score, the energy per item, J per token,
J per correct answer and CO2e per item. Every figure is a ratio of sums over items (``sum(num) / sum(den)``), so one
bootstrap serves them all. When both runs answered the same task items, items are resampled in pairs (an easy item
is easy in both runs, and pairing removes that shared variance); otherwise each run is resampled on its own.
Pure functions over :class:`~greentui.core.records.ItemScored`; seeded, so a comparison reads the same every time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from greentui.core.records import ItemScored

MIN_PAIRED = 5  # fewer common items than this: compare the runs unpaired, over all their items
RESAMPLES = 2000
KWH_PER_J = 1.0 / 3.6e6

Better = Literal["left", "right", "neither", "unknown"]


@dataclass(frozen=True)
class FigureSpec:
    """One compared figure: its name, unit, which direction is better, and its per-item numerator/denominator."""

    key: str
    name: str
    unit: str
    higher_is_better: bool
    energy: bool  # derived from joules: estimated when the power was


@dataclass(frozen=True)
class FigureDiff:
    """``right - left`` of one figure, with its 95% CI and which run is better (``neither``: the CI holds 0)."""

    figure: FigureSpec
    left: float | None
    right: float | None
    diff: float | None
    lo: float | None
    hi: float | None
    better: Better
    n_left: int
    n_right: int

    @property
    def relative(self) -> float | None:
        """The difference as a fraction of the left value (``-0.12``: 12% less), None when it has no meaning."""
        if self.diff is None or not self.left:
            return None
        return self.diff / self.left


@dataclass(frozen=True)
class RunComparison:
    """Every figure of one side (model) compared between two sessions."""

    paired: bool
    n_paired: int  # items both runs answered (the pairs used when ``paired``)
    figures: tuple[FigureDiff, ...]


FIGURES = (
    FigureSpec("score", "score", "pts", True, False),
    FigureSpec("energy", "energy / item", "J", False, True),
    FigureSpec("jpt", "J / token", "J", False, True),
    FigureSpec("jpc", "J / correct answer", "J", False, True),
    FigureSpec("co2", "CO2e / item", "g", False, True),
)


def _parts(key: str, items: Sequence[ItemScored], g_per_kwh: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-item numerator and denominator of a figure (energy figures use the items that have joules)."""
    if key == "score":
        return np.array([100.0 * i.score for i in items]), np.ones(len(items))
    measured = [i for i in items if i.joules is not None]
    joules = np.array([float(i.joules or 0.0) for i in measured])
    ones = np.ones(len(measured))
    per_item: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        "energy": lambda: (joules, ones),
        # J/token over the items with both figures (a served model's server may report no token counts)
        "jpt": lambda: (
            np.array([float(i.joules or 0.0) for i in measured if i.tokens_out]),
            np.array([float(i.tokens_out or 0) for i in measured if i.tokens_out]),
        ),
        "jpc": lambda: (joules, np.array([i.score for i in measured])),
        "co2": lambda: (joules * KWH_PER_J * g_per_kwh, ones),
    }
    return per_item[key]()


def _ratio(num: np.ndarray, den: np.ndarray) -> float | None:
    total = float(den.sum()) if den.size else 0.0
    return float(num.sum()) / total if total > 0 else None


def _resampled_ratios(num: np.ndarray, den: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The ratio of sums for each row of resampled indices (NaN where the denominator sums to 0)."""
    dens = den[idx].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dens > 0, num[idx].sum(axis=1) / dens, np.nan)


def _better(spec: FigureSpec, lo: float | None, hi: float | None) -> Better:
    if lo is None or hi is None:
        return "unknown"
    if lo <= 0.0 <= hi:
        return "neither"
    right_higher = lo > 0.0
    return "right" if right_higher == spec.higher_is_better else "left"


def _diff(
    spec: FigureSpec,
    left: Sequence[ItemScored],
    right: Sequence[ItemScored],
    left_g_per_kwh: float,
    right_g_per_kwh: float,
    paired: bool,
    seed: int,
) -> FigureDiff:
    num_l, den_l = _parts(spec.key, left, left_g_per_kwh)
    num_r, den_r = _parts(spec.key, right, right_g_per_kwh)
    value_l, value_r = _ratio(num_l, den_l), _ratio(num_r, den_r)
    n_l, n_r = int(num_l.size), int(num_r.size)
    if value_l is None or value_r is None:
        return FigureDiff(spec, value_l, value_r, None, None, None, "unknown", n_l, n_r)
    rng = np.random.default_rng(seed)
    if paired and n_l == n_r:
        idx = rng.integers(0, n_l, size=(RESAMPLES, n_l))
        diffs = _resampled_ratios(num_r, den_r, idx) - _resampled_ratios(num_l, den_l, idx)
    else:
        idx_l = rng.integers(0, n_l, size=(RESAMPLES, n_l))
        idx_r = rng.integers(0, n_r, size=(RESAMPLES, n_r))
        diffs = _resampled_ratios(num_r, den_r, idx_r) - _resampled_ratios(num_l, den_l, idx_l)
    diffs = diffs[np.isfinite(diffs)]
    # Sums of the same numbers in another order differ in the last bits: below this, a difference is zero.
    dust = 1e-9 * max(abs(value_l), abs(value_r))

    def clean(x: float) -> float:
        return 0.0 if abs(x) <= dust else x

    lo = hi = None
    if diffs.size:
        lo, hi = (clean(float(q)) for q in np.quantile(diffs, [0.025, 0.975]))
    diff = clean(value_r - value_l)
    return FigureDiff(spec, value_l, value_r, diff, lo, hi, _better(spec, lo, hi), n_l, n_r)


def compare_runs(
    left: Sequence[ItemScored],
    right: Sequence[ItemScored],
    *,
    same_items: bool,
    left_g_per_kwh: float = 0.0,
    right_g_per_kwh: float = 0.0,
    seed: int = 0,
) -> RunComparison:
    """Compare one model's run in the left session with one in the right, figure by figure (``right - left``).

    ``same_items``: both sessions ran the same task (same id and version), so items with the same id are the same
    question. Then, with at least :data:`MIN_PAIRED` items answered in both runs, the comparison is paired over
    those items; otherwise it is unpaired over all items of each run. Grid intensities turn joules into CO2e.
    """
    common: list[str] = []
    if same_items:
        right_ids = {item.item_id for item in right}
        common = sorted({item.item_id for item in left} & right_ids)
    paired = len(common) >= MIN_PAIRED
    if paired:
        by_id_l = {item.item_id: item for item in left}
        by_id_r = {item.item_id: item for item in right}
        left = [by_id_l[i] for i in common]
        right = [by_id_r[i] for i in common]
        # energy figures pair on the items both runs have joules for
        both = [
            i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a.joules is not None and b.joules is not None
        ]
        energy_left, energy_right = [left[i] for i in both], [right[i] for i in both]
    else:
        energy_left, energy_right = list(left), list(right)
    figures = []
    for spec in FIGURES:
        l_items, r_items = (energy_left, energy_right) if spec.energy else (left, right)
        figures.append(_diff(spec, l_items, r_items, left_g_per_kwh, right_g_per_kwh, paired, seed))
    return RunComparison(paired=paired, n_paired=len(common), figures=tuple(figures))
