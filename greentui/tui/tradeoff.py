"""The trade-off chart's data: each stored run as (energy, score) with 95% intervals, and the Pareto frontier.

Pure arithmetic over :class:`greentui.store.tradeoff.RunPoint` sums. The score interval is Wilson's for 0/1 scores
and a normal one for continuous scores; energy per item has a normal interval; energy per correct answer is a
ratio of two means, with a delta-method interval (the same ratio the verdict's J per correct answer is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from greentui.core.verdict.stats import wilson_interval
from greentui.store.tradeoff import RunPoint

Per = Literal["item", "correct"]
Z95 = 1.959964


@dataclass(frozen=True)
class Interval:
    value: float
    lo: float
    hi: float


@dataclass(frozen=True)
class ChartPoint:
    """One run on the chart: ``score`` in [0, 1] and ``energy_j`` (per item or per correct answer)."""

    run: RunPoint
    score: Interval
    energy_j: Interval
    current: bool  # the session highlighted in the history
    in_sweep: bool  # belongs to the sweep the history is filtered by
    on_frontier: bool = False

    @property
    def label(self) -> str:
        return f"{self.run.spec} ({self.run.session_id[:8]} {self.run.side})"


def _sample_var(total: float, sq_total: float, n: int) -> float:
    if n < 2:
        return 0.0
    return max(0.0, (sq_total - total * total / n) / (n - 1))


def score_interval(run: RunPoint) -> Interval:
    """Mean score with its 95% interval: Wilson for 0/1 scores, normal (clamped to [0, 1]) for continuous ones."""
    mean = run.score_sum / run.n
    if not run.continuous:
        lo, hi = wilson_interval(min(run.score_sum, float(run.n)), run.n, z=Z95)
        return Interval(mean, lo, hi)
    half = Z95 * math.sqrt(_sample_var(run.score_sum, run.score_sq_sum, run.n) / run.n)
    return Interval(mean, max(0.0, mean - half), min(1.0, mean + half))


def energy_interval(run: RunPoint, per: Per) -> Interval | None:
    """Energy per item, or per correct answer (per unit of score), with a 95% interval; None without energy (or,
    per correct answer, without a correct answer)."""
    n = run.n_energy
    if n == 0:
        return None
    mean_j = run.e_joules_sum / n
    var_j = _sample_var(run.e_joules_sum, run.e_joules_sq_sum, n)
    if per == "item":
        half = Z95 * math.sqrt(var_j / n)
        return Interval(mean_j, max(0.0, mean_j - half), mean_j + half)
    mean_s = run.e_score_sum / n
    if mean_s <= 0:
        return None
    ratio = mean_j / mean_s
    var_s = _sample_var(run.e_score_sum, run.e_score_sq_sum, n)
    cov = (run.e_joules_score_sum - run.e_joules_sum * run.e_score_sum / n) / (n - 1) if n > 1 else 0.0
    var_ratio = max(0.0, (var_j - 2 * ratio * cov + ratio * ratio * var_s) / (n * mean_s * mean_s))
    half = Z95 * math.sqrt(var_ratio)
    return Interval(ratio, max(0.0, ratio - half), ratio + half)


def chart_points(
    runs: list[RunPoint], per: Per, *, current_session: str | None = None, sweep: str | None = None
) -> list[ChartPoint]:
    """The runs that have the figure, with the Pareto frontier marked (most score for least energy)."""
    points = []
    for run in runs:
        energy = energy_interval(run, per)
        if energy is None or run.n == 0:
            continue
        points.append(
            ChartPoint(
                run,
                score_interval(run),
                energy,
                current=run.session_id == current_session,
                in_sweep=sweep is not None and run.sweep_id == sweep,
            )
        )
    frontier = {id(p) for p in pareto_frontier(points)}
    return [
        ChartPoint(p.run, p.score, p.energy_j, p.current, p.in_sweep, on_frontier=id(p) in frontier) for p in points
    ]


def pareto_frontier(points: list[ChartPoint]) -> list[ChartPoint]:
    """The points no other point beats on both axes (at least the score for at most the energy, one strictly),
    from the least energy to the most."""
    ordered = sorted(points, key=lambda p: (p.energy_j.value, -p.score.value))
    frontier: list[ChartPoint] = []
    for point in ordered:
        if not frontier or point.score.value > frontier[-1].score.value:
            frontier.append(point)
    return frontier
