"""The text interface: one line per finished item while a session runs, tables after, and the listing commands.

Everything here prints with rich; model output and names are wrapped in :class:`rich.text.Text` (never parsed as
markup). Figures derived from an estimated power source carry "estimated".

A line is made of fields ("12.3 tok/s", "running 81.1% (73.0–86.8)") and never breaks inside one: piped or
redirected, each line stays whole (a log keeps one item per line); on a narrow terminal a line breaks only
between fields (:func:`fields_line`), so a figure and its interval always stay together.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from greentui.core.records import (
    Event,
    IdleMeasured,
    ItemScored,
    ModelLoaded,
    ModelLoading,
    RunFailed,
    SessionStarted,
    StoppingChecked,
)
from greentui.core.run.tally import SideTally, Tally
from greentui.core.verdict.text import TOKENS_FROM_MODEL
from greentui.format import (
    NOT_MEASURED,
    est,
    format_cpu_share,
    format_energy,
    format_grams,
    format_intensity,
    format_item_score,
    format_j_per_token,
    format_joules,
    format_params,
    format_power,
    format_score,
    format_seconds,
    format_tokens_per_s,
    with_est,
)
from greentui.text.console import print_natural, script_console

if TYPE_CHECKING:
    from greentui.store.writer import WriterStatus


def fields_line(fields: Sequence[Text | str], width: int | None, *, separator: str = "  ", indent: int = 6) -> Text:
    """``fields`` joined by ``separator``; when ``width`` is given and the line would be wider, it breaks between
    fields (continuation lines indented by ``indent``), never inside one. Print the result with ``soft_wrap=True``
    so that rich does not wrap it again."""
    line = Text()
    used = 0
    for n, field in enumerate(fields):
        part = field if isinstance(field, Text) else Text(field)
        if n:
            if width is not None and used + len(separator) + part.cell_len > width and used > indent:
                line.append("\n" + " " * indent)
                used = indent
            else:
                line.append(separator)
                used += len(separator)
        line.append_text(part)
        used += part.cell_len
    return line


class HeadlessPrinter:
    """Subscribes to a session's events and prints progress; called on the session thread only for items."""

    def __init__(self, *, db_path: Path, tally: Tally, console: Console | None = None) -> None:
        """``tally`` is the session's one tally (``SessionRun.tally``), already fed by the time an event reaches
        :meth:`handle`: the printer reads it and never folds events itself."""
        self.console = console or script_console()
        self.db_path = db_path
        self.tally = tally
        self._last_stage: dict[str, str] = {}
        self._failures_shown: set[str] = set()

    def store_error(self, error: Exception) -> None:
        # soft_wrap: a path is never broken by inserted newlines (the terminal wraps it; it stays copyable)
        self.console.print(Text(f"store: {error}", style="bold red"), soft_wrap=True)

    def store_status(self, status: WriterStatus) -> None:
        """The store writer's changes of state (a :class:`greentui.store.WriterStatus`): waiting for a locked
        database and saving again are shown here; a write that cannot succeed comes through :meth:`store_error`."""
        if status.state == "waiting":
            self.console.print(Text(f"store: {status.message}", style="yellow"), soft_wrap=True)
        elif status.state == "saving" and status.message:
            self.console.print(Text(f"store: {status.message}", style="green"), soft_wrap=True)

    def handle(self, event: Event) -> None:
        if isinstance(event, SessionStarted):
            head = Text.assemble(("greentui ", "bold green"), f"session {event.session_id}")
            self._print_fields(
                [head, f"task {event.task_id} ({event.n_items} items each)", f"schedule {event.schedule}"],
                separator=" · ",
            )
            self._print_fields([Text(f"  A {event.model_a}"), Text(f"B {event.model_b}")], separator="   ")
            self.console.print(Text(f"  power: {event.power_note}"))  # prose: wraps between words
            self._print_fields(
                [
                    f"  grid: {format_intensity(event.grid.g_per_kwh)}",
                    f"({event.grid.source}),",
                    f"PUE {event.grid.pue:g}",
                ],
                separator=" ",
            )
            for warning in event.settings.get("grid_warnings", []):
                self.console.print(Text(f"  warning: {warning}", style="yellow"))
            for side in ("A", "B"):
                note = self.tally.sides[side].energy_note
                if note:  # a served model whose server is elsewhere: said once, before any figure
                    self.console.print(Text(f"  {side} {note}", style="yellow"))
        elif isinstance(event, ModelLoading):
            if self._last_stage.get(event.side) != event.stage:
                self._last_stage[event.side] = event.stage
                self.console.print(Text(f"  {event.side} loading: {event.stage}", style="dim"))
        elif isinstance(event, ModelLoaded):
            params = (
                f"{format_params(event.params_total)} parameters"
                if event.params_total
                else "parameters unknown (params= in the spec gives them)"
            )
            self.console.print(
                Text(
                    f"  {event.side} loaded {event.label} in {format_seconds(event.load_s)}: "
                    f"{params}, {event.dtype}, quant {event.quant}, {event.device}"
                )
            )
        elif isinstance(event, IdleMeasured):
            line = idle_line(event)
            if line:
                self.console.print(Text(f"  {line}", style="yellow" if event.contended else ""))
        elif isinstance(event, ItemScored):
            self._print_item(event)
        elif isinstance(event, StoppingChecked):
            self._print_check(event)
        elif isinstance(event, RunFailed):
            self._failures_shown.add(event.reason)
            self.console.print(Text(f"  {event.side} failed: {event.reason}", style="bold red"))

    def _print_item(self, item: ItemScored) -> None:
        lane = self.tally.sides[item.side]
        mark = ("✓", "green") if item.correct else (("~", "yellow") if item.score > 0 else ("✗", "red"))
        if item.joules is None and lane.energy_note:
            energy = f"energy {NOT_MEASURED}"  # the why was printed once, at the start
        elif item.joules is not None and item.tokens_out is None:
            energy = f"{format_joules(item.joules)}{est(item.energy_quality)} (J/token: tokens not reported)"
        else:
            energy = f"{format_j_per_token(item.joules_per_token):>6} J/token{est(item.energy_quality)}"
        counted = "" if item.tokens_counted_by in TOKENS_FROM_MODEL else f" (tokens {item.tokens_counted_by})"
        fields: list[Text | str] = [
            Text.assemble(f"  {item.side} {item.item_id:<12} ", mark, f" {format_item_score(item.score)}"),
            f"{format_tokens_per_s(item.e2e_tokens_per_s):>5} tok/s{counted}",
            energy,
            f"running {_score(lane, self.tally.continuous)} ({lane.items_done} done)",
        ]
        self._print_fields(fields)

    def _print_fields(self, fields: Sequence[Text | str], *, separator: str = "  ") -> None:
        width = self.console.width if self.console.is_terminal else None
        self.console.print(fields_line(fields, width, separator=separator), soft_wrap=True)

    def _print_check(self, check: StoppingChecked) -> None:
        """The stopping rule after each pair: both running intervals and whether it has settled."""
        from greentui.core.verdict.stopping import check_line

        style = "bold green" if check.settled else "dim"
        self.console.print(Text(f"  = {check_line(check)}", style=style))
        if check.stops:
            self.console.print(
                Text(f"  settled: stopping after {check.n_pairs} of {check.planned} items", style="bold")
            )

    def finish(self, tally: Tally, outcome: Any) -> None:  # services.SessionOutcome: a layer above
        """The final per-model table, the verdict, and where the session was saved."""
        from greentui.text.report import render_verdict

        if outcome.verdict is not None:
            # the verdict holds the per-model table and the busy line: accuracy, energy in J and Wh, J/token, speed
            self.console.print()
            print_natural(self.console, render_verdict(outcome.verdict))
        elif tally.items_done:
            print_natural(self.console, summary_table(tally))
            busy = tally.busy_line()
            if busy:
                self.console.print(Text(busy, style="bold yellow"))
        crosscheck = codecarbon_line(tally.finished.measurements if tally.finished else {})
        if crosscheck:
            self.console.print(Text(crosscheck))
        unsaved = getattr(outcome, "unsaved", False)
        status_style = {"completed": "green", "interrupted": "yellow"}.get(outcome.status, "red")
        line = Text.assemble(("session ", "bold"), (outcome.session_id, "bold"), " ", (outcome.status, status_style))
        if unsaved:
            line.append(" (not all saved in the database)", style="bold red")
        if outcome.reason and outcome.reason not in self._failures_shown:
            line.append(f": {outcome.reason}")
        self.console.print(line)
        self.console.print(Text(saved_line(outcome, self.db_path), style="bold red" if unsaved else ""), soft_wrap=True)


def saved_line(outcome: Any, db_path: Path) -> str:  # services.SessionOutcome: a layer above
    """The last line of a session: where its results are (the database, or a recovery journal to recover)."""
    journal = getattr(outcome, "journal", None)
    if journal:
        return f"results not in {db_path} are in {journal}   (greentui recover {journal})"
    if getattr(outcome, "unsaved", False):
        return f"some results could not be saved in {db_path} nor in any recovery journal (see the store errors above)"
    return f"saved in {db_path}   (greentui show {outcome.session_id})"


def idle_line(idle: IdleMeasured | None) -> str | None:
    """The idle baseline in one line ("idle baseline: 7.9 W over 3.0 s est., machine busy: ..."), None if skipped."""
    if idle is None or not idle.seconds:
        return None
    line = f"idle baseline: {format_power(idle.power_w)} over {format_seconds(idle.seconds)}{est(idle.quality)}"
    if idle.contention_share is not None:
        line += f", {format_cpu_share(idle.contention_share)} went to other programs"
    if idle.contended:
        line += " (machine busy: not used, so no dynamic energy)"
    return line


def codecarbon_line(measurements: dict[str, Any]) -> str | None:
    """codecarbon's figure for the run beside greentui's over the same span (``--codecarbon``), or None."""
    figures = measurements.get("codecarbon")
    if not figures:
        return None
    if "error" in figures:
        return f"codecarbon cross-check failed: {figures['error']}"
    run = measurements.get("run") or {}
    ours = (
        f"greentui over the same span: {format_joules(run.get('joules'))}{est(run.get('quality'))}"
        if run
        else "greentui: no whole-run figure"
    )
    return (
        f"codecarbon cross-check (whole run, {format_seconds(run.get('seconds'))}): {format_joules(figures['joules'])}, "
        f"{format_grams(figures['g'])} CO2e (codecarbon's own CPU and RAM model) · {ours}"
    )


def summary_table(tally: Tally) -> Table:
    """Accuracy, energy, J/token, J/correct, tokens/s and TTFT of both models, estimates marked."""
    quality = tally.started.power_quality if tally.started else "estimated"
    estimated = quality == "estimated"
    table = Table(
        title="Results" + (" (energy estimated: no power sensor)" if quality == "estimated" else ""),
        title_justify="left",
    )
    table.add_column("")
    lanes: list[SideTally] = [tally.sides["A"], tally.sides["B"]]
    for lane in lanes:
        table.add_column(Text(f"{lane.side}  {lane.label}"), justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("items", [f"{lane.items_done}" + (" (failed)" if lane.state == "failed" else "") for lane in lanes]),
        ("accuracy (95% CI)", [_score(lane, tally.continuous) for lane in lanes]),
        ("energy", [_energy(lane, with_est(format_energy(lane.energy_j), estimated)) for lane in lanes]),
        (
            "J / token",
            [_energy(lane, with_est(format_j_per_token(lane.joules_per_token), estimated)) for lane in lanes],
        ),
        (
            "J / correct answer",
            [_energy(lane, with_est(format_joules(lane.joules_per_correct), estimated)) for lane in lanes],
        ),
        ("CO2e", [_energy(lane, with_est(format_grams(tally.co2_g(lane.side)), estimated)) for lane in lanes]),
        ("tokens/s", [format_tokens_per_s(lane.tokens_per_s) for lane in lanes]),
        ("TTFT p50", [format_seconds(lane.ttft_p50_s) for lane in lanes]),
    ]
    for label, values in rows:
        table.add_row(label, *[Text(v) for v in values])
    return table


def _score(lane: SideTally, continuous: bool) -> str:
    """The lane's running score with its 95% interval (the verdict's format)."""
    score = lane.score
    if score is None:
        return format_score(None)
    return format_score(score.mean, score.lo, score.hi, score.n, continuous=continuous)


def _energy(lane: SideTally, figure: str) -> str:
    """An energy figure of one lane, or "not measured here" for a served model whose server is elsewhere."""
    return NOT_MEASURED if lane.energy_note and lane.energy_j is None else figure
