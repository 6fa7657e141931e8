"""What ``greentui sweep`` prints: the plan, one line per session as it ends, the summary, the list of sweeps and
the leaderboard. Names and model specs are wrapped in :class:`rich.text.Text` (never parsed as markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from greentui.format import (
    DASH,
    est,
    format_joules,
    format_number,
    format_points,
    format_seconds,
    format_share,
    format_when,
    with_est,
)

if TYPE_CHECKING:  # steps, results and outcomes are greentui.sweeps' (a layer above): Any here
    from greentui.core.run.sweep import Sweep
    from greentui.store.sweeps import BoardRow, SweepRecord

_WOULD = {
    "run": "run (new)",
    "resume": "resume",
    "skip": "skip (done)",
    "keep-failed": "keep (failed; --retry-failed runs it)",
    "busy": "wait (running elsewhere)",
}
_STATUS_STYLE = {"completed": "green", "skipped": "dim", "interrupted": "yellow", "failed": "red"}


def fmt_diff(row: BoardRow) -> str:
    """Accuracy difference (candidate - reference) in points with its 95% interval: ``-2.1 (-6.0 … +1.8)``."""
    if row.diff_points is None:
        return DASH
    if row.diff_lo_points is None or row.diff_hi_points is None:
        return f"{format_points(row.diff_points)} (n too small)"
    return (
        f"{format_points(row.diff_points)} ({format_points(row.diff_lo_points)} … {format_points(row.diff_hi_points)})"
    )


def fmt_ratio(row: BoardRow) -> str:
    """Energy ratio E_candidate / E_reference as a percentage with its interval: ``88% (81%–95%)``, as the
    verdict's sentence writes it."""
    if row.energy_ratio is None:
        return DASH
    mark = est(row.energy_quality)
    if row.energy_ratio_lo is None or row.energy_ratio_hi is None:
        return f"{format_share(row.energy_ratio)}{mark}"
    return (
        f"{format_share(row.energy_ratio)} ({format_share(row.energy_ratio_lo)}–{format_share(row.energy_ratio_hi)})"
        f"{mark}"
    )


def fmt_cegi(value: float | None, status: str) -> str:
    if value is None:
        return status if status not in ("ok", "") else DASH
    return format_number(value)


def fmt_outcome(row: BoardRow) -> str:
    """The verdict's outcome from the candidate's point of view."""
    who = {"A": "reference", "B": "candidate"}.get(row.more_accurate or "", "")
    words = {
        "matches": "matches the reference",
        "more_accurate": f"{who} more accurate",
        "dominates": f"{who} more accurate and cheaper",
        "too_close": "too close to call",
        "no_correct": "no correct answers",
        "incomplete": "incomplete",
    }
    return words.get(row.outcome or "", (row.outcome or DASH).replace("_", " "))


def print_plan(steps: Sequence[Any], sweep: Sweep, executor: str) -> None:
    """``greentui sweep FILE --plan``: every planned session and what running the sweep would do with it."""
    console = Console(highlight=False)
    table = Table(title=f"sweep {sweep.name}: {len(steps)} sessions, reference {sweep.reference}", title_justify="left")
    for column in ("#", "task", "candidate (B)", "reference (A)", "would", "key", "session"):
        table.add_column(column, no_wrap=column in ("#", "key", "session"))
    for number, step in enumerate(steps, start=1):
        done = sum(len(ids) for ids in step.done.values())
        action = _WOULD.get(step.action, step.action) + (f" ({done} items kept)" if step.action == "resume" else "")
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    number,
                    step.planned.task_id,
                    step.planned.candidate,
                    step.planned.reference,
                    action,
                    step.planned.key[:12],
                    (step.session_id or DASH)[:12],
                )
            )
        )
    console.print(table)
    runs = sum(1 for s in steps if s.runs)
    options = ", ".join(f"{name}={value}" for name, value in sweep.options.items()) or "the defaults"
    console.print(Text(f"{runs} of {len(steps)} sessions would run ({executor}); session options: {options}"))


def result_line(result: Any, number: int, total: int) -> Text:
    """One line per session as it ends: ``[2/4] completed  B vs A · task  12.3 s  on HOST  session ID  reason``."""
    planned = result.step.planned
    line = Text(f"[{number}/{total}] ")
    line.append(f"{result.status:<11}", style=_STATUS_STYLE.get(result.status, ""))
    line.append(f" {planned.label}")
    if result.seconds is not None and result.status != "skipped":
        line.append(f"  {format_seconds(result.seconds)}")
    if result.where and result.status != "skipped":
        line.append(f"  on {result.where}")
    if result.session_id:
        line.append(f"  session {result.session_id[:12]}")
    if result.reason:
        line.append(f"  {result.reason}", style="dim" if result.status == "skipped" else "")
    for error in result.store_errors:
        line.append(f"  store: {error}", style="red")
    return line


def print_summary(outcome: Any, name: str, rows: Sequence[BoardRow], db_path: Path) -> None:
    """The table at the end of ``greentui sweep FILE``: every planned session with its figures."""
    console = Console(highlight=False)
    table = Table(
        title=f"sweep summary ({outcome.executor}, {format_seconds(outcome.seconds)}): "
        f"{outcome.count('completed')} completed now, {outcome.count('skipped')} already done, "
        f"{outcome.count('interrupted')} interrupted, {outcome.count('failed')} failed, "
        f"{outcome.count('not started')} not started",
        title_justify="left",
    )
    for column in (
        "task",
        "candidate (B)",
        "status",
        "items A/B",
        "Δ accuracy, points (95% CI)",
        "energy B/A",
        "session",
    ):
        table.add_column(column, no_wrap=column in ("status", "session"))
    for row in rows:
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    row.task_id,
                    row.candidate,
                    row.status,
                    f"{row.items_done[0]}/{row.items_done[1]}" + (f" of {row.n_items}" if row.n_items else ""),
                    fmt_diff(row),
                    fmt_ratio(row),
                    (row.session_id or DASH)[:12],
                )
            )
        )
    console.print(table)
    console.print(Text(f"stored in {db_path}; the leaderboard: greentui sweep show {name}"))
    if outcome.stopped:
        console.print(Text("the sweep was stopped: run it again to resume it", style="yellow"))


def print_sweeps(records: Sequence[SweepRecord], db_path: Path) -> None:
    """``greentui sweeps``."""
    console = Console(highlight=False)
    if not records:
        console.print(Text(f"no sweeps in {db_path} (run one with: greentui sweep FILE)"))
        return
    table = Table(title=f"sweeps in {db_path}", title_justify="left")
    for column in ("name", "last run", "reference", "candidates", "tasks", "sessions"):
        table.add_column(column, no_wrap=column in ("name", "last run"))
    for record in records:
        definition = record.definition
        counts = ", ".join(f"{n} {status}" for status, n in record.counts.items() if n)
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    record.name,
                    format_when(record.updated_unix_s),
                    definition.get("reference", ""),
                    len(definition.get("candidates", [])),
                    ", ".join(definition.get("tasks", [])),
                    f"{record.planned}: {counts}",
                )
            )
        )
    console.print(table)


def _rank(row: BoardRow) -> tuple[int, float]:
    """Candidates not shown to be less accurate come first, cheapest first; then the less accurate; then the rest."""
    if row.energy_ratio is None or row.diff_points is None:
        return (2, 0.0)
    worse = row.diff_hi_points is not None and row.diff_hi_points < 0
    return (1 if worse else 0, row.energy_ratio)


def print_board(record: SweepRecord, rows: Sequence[BoardRow]) -> None:
    """``greentui sweep show NAME``: per task, each candidate against the reference."""
    console = Console(highlight=False)
    definition = record.definition
    console.print(
        Text(
            f"sweep {record.name} · reference (A) {definition.get('reference')} · last run {format_when(record.updated_unix_s)}"
            + (f" · {definition['description']}" if definition.get("description") else "")
        )
    )
    keys = {row.fingerprint_key for row in rows if row.fingerprint_key}
    if len(keys) > 1 or "mixed" in keys:
        hosts = sorted({row.host for row in rows if row.host})
        console.print(
            Text(
                f"hardware differs between sessions ({len(keys)} fingerprints, hosts {', '.join(hosts)}): "
                "compare energy within a task only where the 'hw' column matches",
                style="yellow",
            )
        )
    for task_id, group in groupby(sorted(rows, key=lambda r: r.task_id), key=lambda r: r.task_id):
        ordered = sorted(group, key=_rank)
        reference = next((r for r in ordered if r.j_per_correct[0] is not None or r.cegi[0] is not None), ordered[0])
        table = Table(
            title=f"{task_id}: reference J/correct "
            f"{with_est(format_joules(reference.j_per_correct[0]), reference.energy_quality == 'estimated')}"
            f", CEGI {fmt_cegi(reference.cegi[0], reference.cegi_status[0])}",
            title_justify="left",
        )
        columns = ("candidate (B)", "items", "Δ accuracy, points (95% CI)", "energy B/A (95% CI)", "J/correct",
                   "CEGI", "outcome", "settled", "hw", "status")  # fmt: skip
        for column in columns:
            table.add_column(column, no_wrap=column in ("items", "hw", "status"))
        for row in ordered:
            table.add_row(
                *(
                    Text(str(v))
                    for v in (
                        row.candidate,
                        f"{row.items_done[1]}" + (f"/{row.n_items}" if row.n_items else ""),
                        fmt_diff(row),
                        fmt_ratio(row),
                        with_est(format_joules(row.j_per_correct[1]), row.energy_quality == "estimated"),
                        fmt_cegi(row.cegi[1], row.cegi_status[1]),
                        fmt_outcome(row),
                        row.settled or DASH,
                        row.fingerprint_key or DASH,
                        row.status,
                    )
                )
            )
        console.print(table)
    console.print(
        Text(
            "Δ accuracy: candidate minus reference, paired over the items both answered; energy B/A: the candidate's "
            "energy as a share of the reference's on those items; CEGI: g CO2e per point above the task baseline per "
            "million parameters (lower is better). Sorted: not shown less accurate first, cheapest first.",
            style="dim",
        )
    )
