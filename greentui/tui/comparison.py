"""Two stored sessions compared: which runs to match, whether their items pair up, and the per-figure differences.

Built off the UI thread from two :class:`FoldedSession` (the bootstrap takes a moment on long sessions); the
compare screen only shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from greentui.core.records import Side
from greentui.core.verdict.difference import RunComparison, compare_runs
from greentui.tui.replay import FoldedSession


@dataclass(frozen=True)
class SideComparison:
    """One model compared across the two sessions (``left_side`` of the left one with ``right_side`` of the other)."""

    left_side: Side
    right_side: Side
    left_spec: str
    right_spec: str
    result: RunComparison


@dataclass(frozen=True)
class SessionComparison:
    left: FoldedSession
    right: FoldedSession
    same_task: bool
    estimated: bool  # an energy figure of either session comes from an estimate
    sides: tuple[SideComparison, ...]

    @property
    def note(self) -> str:
        """What the differences can be trusted for: same task and paired, same task unpaired, or different tasks."""
        left, right = self.left.tally.started, self.right.tally.started
        if left is None or right is None:
            return ""
        if not self.same_task:
            same_id = left.task_id == right.task_id
            what = (
                f"different versions of the task {left.task_id}"
                if same_id
                else f"different tasks ({left.task_id} and {right.task_id})"
            )
            return (
                f"These sessions ran {what}: their scores measure different things, so the score difference says "
                "little; energy figures are compared item for item, unpaired."
            )
        paired = [s for s in self.sides if s.result.paired]
        if paired:
            counts = " and ".join(sorted({str(s.result.n_paired) for s in paired}))
            return (
                f"Same task ({left.task_id}): differences are paired over the {counts} items both sessions answered "
                "(paired bootstrap, 95% CI)."
            )
        return (
            f"Same task ({left.task_id}), but fewer than 5 items answered in both sessions: differences are unpaired "
            "(bootstrap of each session, 95% CI)."
        )


def _matched_sides(left: FoldedSession, right: FoldedSession) -> list[tuple[Side, Side]]:
    """Match the runs by model: A with A and B with B, unless the two sessions have the models the other way round."""
    la, lb = left.tally.sides["A"].spec, left.tally.sides["B"].spec
    ra, rb = right.tally.sides["A"].spec, right.tally.sides["B"].spec
    if la != lb and la == rb and lb == ra:
        return [("A", "B"), ("B", "A")]
    return [("A", "A"), ("B", "B")]


def compare_sessions(left: FoldedSession, right: FoldedSession, *, seed: int = 0) -> SessionComparison:
    """Compare the two sessions side by side (reads nothing: the folded sessions hold every item)."""
    started_l, started_r = left.tally.started, right.tally.started
    same_task = (
        started_l is not None
        and started_r is not None
        and started_l.task_id == started_r.task_id
        and left.task_version == right.task_version
    )
    g_l = started_l.grid.g_per_kwh * started_l.grid.pue if started_l is not None else 0.0
    g_r = started_r.grid.g_per_kwh * started_r.grid.pue if started_r is not None else 0.0
    sides = []
    for side_l, side_r in _matched_sides(left, right):
        lane_l, lane_r = left.tally.sides[side_l], right.tally.sides[side_r]
        result = compare_runs(
            lane_l.items, lane_r.items, same_items=same_task, left_g_per_kwh=g_l, right_g_per_kwh=g_r, seed=seed
        )
        sides.append(SideComparison(side_l, side_r, lane_l.spec, lane_r.spec, result))
    estimated = any(s is not None and s.power_quality == "estimated" for s in (started_l, started_r)) or any(
        item.energy_quality == "estimated"
        for f in (left, right)
        for lane in f.tally.sides.values()
        for item in lane.items
    )
    return SessionComparison(left, right, same_task, estimated, tuple(sides))
