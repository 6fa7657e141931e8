"""How spread out a benchmark's repeated measurements are, and whether they allow a verdict at all.

Every benchmark in this folder measures each side several times, reports each side's spread, and says "ok" or
"BELOW GOAL" only when the measurements are steadier than the margin its goal tests; otherwise it prints
"inconclusive" with the reason. A ratio of medians computed while both sides swung by a factor of ten says nothing
about a 3 % goal.

* The spread of one side is its interquartile range relative to its median: (q3 - q1) / median, with the quartiles
  of ``statistics.quantiles(method="inclusive")``. Robust to one outlier, and still wide when the values swing.
* The margin a goal tests is stated by the benchmark: for a ratio goal such as ">= 0.97" it is the tolerance around
  the ideal ratio of 1 (3 %); for an absolute limit such as "< 200 ms" it is the room between the measured median
  and the limit, relative to the median (see :func:`room`).

Import it from a benchmark with ``sys.path.insert(0, str(Path(__file__).resolve().parent))``: the folder is not a
package.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one side: median, quartiles, extremes, and the relative interquartile range."""

    label: str
    unit: str
    values: tuple[float, ...]
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @property
    def relative(self) -> float:
        """(q3 - q1) / |median|; infinite when the median is 0 or there is only one value."""
        if len(self.values) < 2 or self.median == 0:
            return math.inf
        return (self.q3 - self.q1) / abs(self.median)

    def describe(self, digits: int = 2) -> str:
        """One line: ``bare 30.21 tok/s (IQR 29.80-30.60, min-max 28.10-31.00, n=7, spread 2.6%)``."""
        f = f"{{:.{digits}f}}"
        spread = "n/a" if math.isinf(self.relative) else f"{self.relative * 100:.1f}%"
        return (
            f"{self.label} {f.format(self.median)} {self.unit} (IQR {f.format(self.q1)}-{f.format(self.q3)}, "
            f"min-max {f.format(self.low)}-{f.format(self.high)}, n={len(self.values)}, spread {spread})"
        )


def spread(values: Sequence[float], label: str = "", unit: str = "") -> Spread:
    """The :class:`Spread` of at least one measurement."""
    data = tuple(float(v) for v in values)
    if not data:
        raise ValueError("no measurements")
    if len(data) == 1:
        q1 = q3 = data[0]
    else:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return Spread(label, unit, data, statistics.median(data), q1, q3, min(data), max(data))


def room(median: float, limit: float) -> float:
    """The margin an absolute limit leaves a measurement: |limit - median| / |median| (0 when either is 0)."""
    return abs(limit - median) / abs(median) if median else 0.0


def verdict(meets_goal: bool, sides: Sequence[Spread], margin: float) -> str:
    """``ok`` / ``BELOW GOAL`` when every side's spread is within ``margin`` (a fraction), else ``inconclusive``."""
    widest = max(sides, key=lambda s: s.relative)
    if widest.relative > margin:
        shown = "unknown (one value)" if math.isinf(widest.relative) else f"{widest.relative * 100:.1f}%"
        return (
            f"inconclusive: {widest.label or 'a side'} spread {shown} is wider than the {margin * 100:.1f}% margin "
            "the goal tests (run it again on a quieter machine)"
        )
    return "ok" if meets_goal else "BELOW GOAL"


def load_average() -> str:
    """``load average 0.21, 0.35, 0.40 (2 cores)``: printed beside every timing."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"
