"""The stopping rule in the verdict: its summary at the end of a session, and the same in words (pure).

The sequences themselves are in :mod:`greentui.core.verdict.sequential`; a session's
:class:`~greentui.core.run.stopping.PairStopper` emits a :class:`StoppingChecked` after every pair, and the last
one becomes the verdict's :class:`StoppingSummary`, with what the items not run would have cost: an estimate from
each side's measured mean energy and time per item, never presented as a measurement.
"""

from __future__ import annotations

from collections.abc import Sequence

from greentui.core.records import ItemScored, StoppingChecked
from greentui.core.verdict.model import StoppingSummary
from greentui.format import format_energy, format_seconds


def _points(delta: float) -> str:
    return f"{delta * 100:g}"


def outcome_words(kind: str, outcome: str, delta: float) -> str:
    """``A more accurate`` / ``B more accurate`` / ``equivalent within ±5 points`` / ``not settled``, and the
    same for energy (``A uses less energy`` ...)."""
    if outcome == "equivalent":
        unit = "points" if kind == "accuracy" else "points of energy share"
        return f"equivalent within ±{_points(delta)} {unit}"
    if outcome in ("A", "B"):
        return f"{outcome} more accurate" if kind == "accuracy" else f"{outcome} uses less energy"
    return "not settled"


def accuracy_interval(lo: float, hi: float) -> str:
    """``B − A −3 … +22 points`` (the confidence sequence's current interval on the paired difference)."""
    return f"B − A {lo * 100:+.0f} … {hi * 100:+.0f} points"


def energy_interval(lo: float | None, hi: float | None) -> str:
    """``B/A 0.81 … 1.20`` from A's share s = E_A / (E_A + E_B): E_B / E_A = (1 - s) / s."""
    if lo is None or hi is None:
        return "no energy figures yet"

    def ratio(share: float) -> str:
        return "∞" if share <= 0 else f"{(1 - share) / share:.2f}"

    return f"B/A {ratio(hi)} … {ratio(lo)}"


def check_line(check: StoppingChecked) -> str:
    """One line after a pair: ``12/60 pairs · accuracy: B − A −5 … +40 points, not settled · energy: ...``."""
    accuracy = outcome_words("accuracy", check.accuracy_outcome, check.delta)
    energy = outcome_words("energy", check.energy_outcome, check.delta)
    state = "settled" if check.settled else "not yet settled"
    return (
        f"{check.n_pairs}/{check.planned} pairs · accuracy {accuracy_interval(check.accuracy_lo, check.accuracy_hi)}"
        f" ({accuracy}) · energy {energy_interval(check.energy_lo, check.energy_hi)} ({energy}) · {state}"
    )


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarise(
    check: StoppingChecked,
    sides: Sequence[Sequence[ItemScored]],
    *,
    stop_when_settled: bool,
    settled_after: int | None,
    order_seed: int | None,
) -> StoppingSummary:
    """The verdict's stopping block from the last check and each side's finished items.

    The items not run are counted per side (planned minus finished); their cost is each side's mean joules and
    seconds per finished item times that count, summed over the sides: an estimate, and None where a side has
    no energy figure to go by.
    """
    not_run = [max(0, check.planned - len({i.item_id for i in items})) for items in sides]
    energy: float | None = 0.0
    seconds: float | None = 0.0
    for items, missing in zip(sides, not_run):
        if not missing:
            continue
        mean_j = _mean([i.joules for i in items if i.joules is not None])
        mean_s = _mean([i.seconds for i in items])
        energy = None if energy is None or mean_j is None else energy + mean_j * missing
        seconds = None if seconds is None or mean_s is None else seconds + mean_s * missing
    items_not_run = max(not_run) if not_run else 0
    stopped_early = stop_when_settled and check.settled and items_not_run > 0
    accuracy = outcome_words("accuracy", check.accuracy_outcome, check.delta)
    if check.settled:
        summary = f"settled after {settled_after or check.n_pairs} of {check.planned} items: {accuracy}"
    else:
        summary = (
            f"not settled after {check.n_pairs} of {check.planned} items: "
            f"{accuracy_interval(check.accuracy_lo, check.accuracy_hi)}"
        )
    return StoppingSummary(
        stop_when_settled=stop_when_settled,
        alpha=check.alpha,
        delta=check.delta,
        population=check.population,
        planned=check.planned,
        order_seed=order_seed,
        n_pairs=check.n_pairs,
        settled=check.settled,
        settled_after=settled_after,
        stopped_early=stopped_early,
        accuracy_outcome=check.accuracy_outcome,
        accuracy_estimate=check.accuracy_estimate,
        accuracy_lo=check.accuracy_lo,
        accuracy_hi=check.accuracy_hi,
        energy_outcome=check.energy_outcome,
        energy_pairs=check.energy_pairs,
        energy_estimate=check.energy_estimate,
        energy_lo=check.energy_lo,
        energy_hi=check.energy_hi,
        items_not_run=items_not_run if stopped_early else 0,
        saved_energy_j_estimate=energy if stopped_early and items_not_run else None,
        saved_seconds_estimate=seconds if stopped_early and items_not_run else None,
        summary=summary,
    )


def stopping_lines(summary: StoppingSummary) -> list[str]:
    """The verdict's words on stopping: the rule, when it settled and on what, the final intervals, and what the
    items not run would have cost (labelled as an estimate)."""
    rule = "stop when settled" if summary.stop_when_settled else "watched only (stop when settled was off)"
    seed = f", items in seeded random order {summary.order_seed}" if summary.order_seed is not None else ""
    lines = [
        f"Anytime-valid stopping ({rule}): α {summary.alpha:g} split over accuracy and energy, margin "
        f"±{_points(summary.delta)} points, at most {summary.planned} of the task's {summary.population} items{seed}."
    ]
    accuracy = outcome_words("accuracy", summary.accuracy_outcome, summary.delta)
    energy = outcome_words("energy", summary.energy_outcome, summary.delta)
    intervals = (
        f"accuracy {accuracy_interval(summary.accuracy_lo, summary.accuracy_hi)} ({accuracy}); "
        f"energy {energy_interval(summary.energy_lo, summary.energy_hi)} ({energy})"
    )
    if summary.settled and summary.stopped_early:
        lines.append(f"Settled after {summary.n_pairs} of {summary.planned} items: {intervals}.")
    elif summary.settled:
        after = summary.settled_after or summary.n_pairs
        went_on = f" (the run went on to {summary.n_pairs})" if after < summary.n_pairs else ""
        lines.append(f"Settled after {after} of {summary.planned} items{went_on}: {intervals}.")
    else:
        lines.append(f"Not settled after {summary.n_pairs} of {summary.planned} items; final {intervals}.")
    if summary.items_not_run:
        cost = []
        if summary.saved_energy_j_estimate is not None:
            cost.append(format_energy(summary.saved_energy_j_estimate))
        if summary.saved_seconds_estimate is not None:
            cost.append(format_seconds(summary.saved_seconds_estimate))
        if cost:
            lines.append(
                f"The {summary.items_not_run} items per side not run would have cost about {' and '.join(cost)} "
                "(estimate: each side's measured mean per item × the items it did not run)."
            )
    return lines
