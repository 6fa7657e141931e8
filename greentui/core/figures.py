"""One definition of every per-side figure: "correct", J/token, J per correct answer, dynamic energy.

The live tally, the verdict and the store's summaries all read these figures through :class:`SideFigures`, so the
screen during a run and the verdict after it cannot divide by different denominators. The definitions:

* **correct**: a binary item is correct when its score is 1 (``score >= 1.0``); for a continuous metric (ROUGE-L,
  a partial pass rate) no item is "correct": the *correct equivalent* is the sum of the scores, so that "J per
  correct answer" becomes "J per unit of score".
* **J/token**: the energy of the items that have an energy figure, divided by the tokens those same items
  generated (items without a token count are left out of both sums).
* **J per correct answer**: the energy of the items that have an energy figure, divided by the correct equivalent
  of those same items; None when none of them is correct.
* **dynamic energy**: per item, its energy minus idle power x its duration, clamped at 0 (a window that drew less
  than the idle baseline did no measurable extra work; its negative value is sensor noise and must not cancel the
  energy of other items). None when no usable idle baseline exists.

Everything is kept as running sums, so adding an item costs the same at item 800 as at item 5. The running mean and
variance (Welford) give the live interval of a continuous score without resampling; the verdict's bootstrap is
computed once, at the end.

Pure and dependency-free (the store may import it, as it imports :mod:`greentui.core.records`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from greentui.core.records import ItemScored, is_correct

__all__ = ["Z95", "SideFigures", "correct_equivalent", "dynamic_joules", "is_correct"]

Z95 = NormalDist().inv_cdf(0.975)  # 1.959964: the two-sided 95 % normal quantile every interval here uses


def correct_equivalent(correct: float, score_sum: float, continuous: bool) -> float:
    """Correct answers (binary metric) or the sum of the scores (continuous metric): the J/correct denominator."""
    return float(score_sum) if continuous else float(correct)


def dynamic_joules(joules: float | None, seconds: float, idle_power_w: float | None) -> float | None:
    """One window's energy above the idle baseline, clamped at 0; None without energy or without a baseline."""
    if joules is None or idle_power_w is None:
        return None
    return max(0.0, joules - idle_power_w * seconds)


@dataclass
class SideFigures:
    """Running sums of one side's finished items; every derived figure is one division away.

    ``continuous`` says how "correct" is counted (see the module docstring). Add items with :meth:`add`.
    """

    continuous: bool = False
    n: int = 0
    score_sum: float = 0.0
    correct: int = 0  # items that scored 1 (binary sense, kept for continuous metrics too)
    tokens_out: int = 0  # over every item with a token count (a served model may report none)
    token_items: int = 0  # items with a token count
    token_seconds: float = 0.0  # their generation time
    seconds: float = 0.0
    # the items with an energy figure, and what they produced
    energy_items: int = 0
    joules: float = 0.0
    energy_tokens: int = 0  # tokens of the items with energy (and a token count)
    energy_token_joules: float = 0.0  # energy of those same items
    energy_correct: int = 0
    energy_score_sum: float = 0.0
    # Welford's running mean and sum of squared deviations of the score
    _mean: float = 0.0
    _m2: float = 0.0

    def add(self, item: ItemScored) -> None:
        self.n += 1
        score = float(item.score)
        delta = score - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (score - self._mean)
        self.score_sum += score
        correct = is_correct(score)
        self.correct += correct
        tokens = item.tokens_out
        if tokens is not None:
            self.tokens_out += tokens
            self.token_items += 1
            self.token_seconds += item.seconds
        self.seconds += item.seconds
        if item.joules is not None:
            self.energy_items += 1
            self.joules += item.joules
            self.energy_correct += correct
            self.energy_score_sum += score
            if tokens is not None:
                self.energy_tokens += tokens
                self.energy_token_joules += item.joules

    @classmethod
    def of(cls, items: list[ItemScored] | tuple[ItemScored, ...], continuous: bool) -> SideFigures:
        figures = cls(continuous=continuous)
        for item in items:
            figures.add(item)
        return figures

    # ---- derived --------------------------------------------------------------------------------------------
    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.n if self.n else None

    @property
    def score_variance(self) -> float | None:
        """Sample variance of the scores (n - 1 in the denominator); None below two items."""
        return self._m2 / (self.n - 1) if self.n > 1 else None

    @property
    def correct_equivalent(self) -> float:
        return correct_equivalent(self.correct, self.score_sum, self.continuous)

    @property
    def energy_j(self) -> float | None:
        """Energy of the items that have a figure; None while none has."""
        return self.joules if self.energy_items else None

    @property
    def joules_per_token(self) -> float | None:
        if not self.energy_items or self.energy_tokens <= 0:
            return None
        return self.energy_token_joules / self.energy_tokens

    @property
    def joules_per_correct(self) -> float | None:
        if not self.energy_items:
            return None
        correct = correct_equivalent(self.energy_correct, self.energy_score_sum, self.continuous)
        return self.joules / correct if correct > 0 else None

    @property
    def tokens_known(self) -> int | None:
        """New tokens of the items whose count is known; None while none is (a server that reports no usage)."""
        return self.tokens_out if self.token_items else None

    @property
    def tokens_per_s(self) -> float | None:
        """End-to-end tokens per second over the finished items with a token count (their tokens / their time)."""
        return self.tokens_out / self.token_seconds if self.token_seconds > 0 else None

    def mean_interval(self, z: float = Z95) -> tuple[float, float] | None:
        """Normal-approximation interval of the mean score (the live view's, for continuous metrics), in [0, 1].

        The verdict uses a bootstrap instead; this one is O(1) per update and close to it once n is moderate.
        """
        variance = self.score_variance
        if variance is None:
            return None
        half = z * math.sqrt(variance / self.n)
        mean = self._mean
        return max(0.0, mean - half), min(1.0, mean + half)
