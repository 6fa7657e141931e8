"""What the verdict's claims rest on: contention, whether both sides were measured the same way, and the gates
that keep a claim back until its evidence holds.

* "The ranking holds" only when both sides' energy came from the same source, method and scope, no window was
  contended (other programs busy), and the energy ratio's 95% CI excludes 1 (by MIN_ENERGY_DIFFERENCE).
* The at-scale projections need at least :data:`MIN_SCALE_ITEMS` items with energy on each side and an energy
  ratio whose 95% CI excludes 1 (by MIN_ENERGY_DIFFERENCE); otherwise one line says what is missing.

Pure functions over the scored items and the comparison; the words are in :mod:`greentui.core.verdict.text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from greentui.core.records import ItemScored, Side
from greentui.core.verdict.model import (
    MIN_ENERGY_DIFFERENCE,
    MIN_PAIRED_ITEMS,
    MIN_SCALE_ITEMS,
    Comparison,
    SideSummary,
)
from greentui.format import format_share


@dataclass(frozen=True)
class Evidence:
    contended_windows: int
    windows_with_contention: int  # item windows that recorded contention at all
    other_cpu_share: float | None  # time-weighted over those windows
    process_scope: bool  # some energy figure is charged per process tree (the CPU estimate's attribution)
    measured_same_way: bool
    ways: dict[Side, tuple[str, ...]]  # each side's "source, method, scope" combinations
    idle_contended: bool
    idle_contention_share: float | None

    @property
    def busy(self) -> bool:
        return self.contended_windows > 0 or self.idle_contended


def _way(item: ItemScored) -> str:
    parts = [item.energy_source, item.measurement_method or "", item.energy_scope or ""]
    return " · ".join(p for p in parts if p)


def gather_evidence(
    a_items: Iterable[ItemScored],
    b_items: Iterable[ItemScored],
    *,
    idle_contended: bool = False,
    idle_contention_share: float | None = None,
) -> Evidence:
    """Contention and measurement method over both sides' items (items without energy are left out)."""
    sides: dict[Side, list[ItemScored]] = {"A": list(a_items), "B": list(b_items)}
    everything = sides["A"] + sides["B"]
    with_share = [i for i in everything if i.contention_share is not None]
    seconds = sum(i.seconds for i in with_share)
    share = sum((i.contention_share or 0.0) * i.seconds for i in with_share) / seconds if seconds > 0 else None
    recorded = [i for i in everything if i.contention_share is not None or i.contended]
    ways: dict[Side, tuple[str, ...]] = {
        side: tuple(sorted({_way(i) for i in items if i.joules is not None})) for side, items in sides.items()
    }
    return Evidence(
        contended_windows=sum(1 for i in everything if i.contended),
        windows_with_contention=len(recorded),
        other_cpu_share=share,
        process_scope=any(i.energy_scope == "process tree" for i in everything),
        measured_same_way=ways["A"] == ways["B"] and len(ways["A"]) <= 1,
        ways=ways,
        idle_contended=idle_contended,
        idle_contention_share=idle_contention_share,
    )


def ranking(evidence: Evidence, comparison: Comparison) -> tuple[bool, str]:
    """(whether the energy ranking holds, and if not, why in a few words)."""
    if comparison.energy_ratio is None:
        return False, "there is no energy ratio (too few paired items with energy)"
    if not evidence.measured_same_way:
        return False, "the two models were not measured the same way"
    if evidence.contended_windows:
        return False, f"{evidence.contended_windows} measurement(s) were disturbed by other programs"
    if comparison.cheaper is None:
        return False, (
            f"the energy ratio's 95% CI reaches within {100 * MIN_ENERGY_DIFFERENCE:.0f}% of 1 "
            "(neither model is shown to use less)"
        )
    return True, ""


def scale_withheld(a: SideSummary, b: SideSummary, comparison: Comparison) -> str | None:
    """Why the at-scale projection is not shown, or None when its evidence holds."""
    if not a.energy_items and not b.energy_items:
        return "At scale: no energy figures, so no projection."
    missing = []
    if min(a.energy_items, b.energy_items) < MIN_SCALE_ITEMS:
        missing.append(
            f"at least {MIN_SCALE_ITEMS} items with energy on each side (A has {a.energy_items}, B {b.energy_items})"
        )
    if comparison.cheaper is None:
        if comparison.energy_ratio_lo is not None and comparison.energy_ratio_hi is not None:
            missing.append(
                f"an energy ratio whose 95% CI excludes 1 by at least {100 * MIN_ENERGY_DIFFERENCE:.0f}% "
                f"(B/A: {format_share(comparison.energy_ratio_lo)}–{format_share(comparison.energy_ratio_hi)})"
            )
        else:
            missing.append(f"an energy ratio over at least {MIN_PAIRED_ITEMS} paired items")
    if not missing:
        return None
    return "At scale: no projection; it needs " + " and ".join(missing) + "."
