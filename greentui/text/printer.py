"""The text interface: one line per finished item while a session runs, tables after, and the listing commands.

Everything here prints with rich; model output and names are wrapped in :class:`rich.text.Text` (never parsed as
markup). Figures derived from an estimated power source carry "estimated".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from greentui.format import est, fmt_joules, fmt_num, fmt_score, fmt_seconds, fmt_wh


class HeadlessPrinter:
    """Subscribes to a session's events and prints progress; called on the session thread only for items."""

    def __init__(self, *, db_path: Path, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.db_path = db_path
        self.tally = Tally()
        self._last_stage: dict[str, str] = {}
        self._failures_shown: set[str] = set()

    def store_error(self, error: Exception) -> None:
        self.console.print(Text(f"store: {error}", style="bold red"))

    def handle(self, event: Event) -> None:
        tally = self.tally
        tally.apply(event)
        if isinstance(event, SessionStarted):
            self.console.print(
                Text.assemble(
                    ("greentui ", "bold green"),
                    f"session {event.session_id} · task {event.task_id} "
                    f"({event.n_items} items each) · schedule {event.schedule}\n",
                    f"  A {event.model_a}   B {event.model_b}\n",
                    f"  power: {event.power_note}\n",
                    f"  grid: {event.grid.g_per_kwh:.0f} g CO2e/kWh ({event.grid.source}), PUE {event.grid.pue:g}",
                )
            )
            for warning in event.settings.get("grid_warnings", []):
                self.console.print(Text(f"  warning: {warning}", style="yellow"))
        elif isinstance(event, ModelLoading):
            if self._last_stage.get(event.side) != event.stage:
                self._last_stage[event.side] = event.stage
                self.console.print(Text(f"  {event.side} loading: {event.stage}", style="dim"))
        elif isinstance(event, ModelLoaded):
            params = (
                f"{event.params_total / 1e6:.1f} M parameters"
                if event.params_total
                else "parameters unknown (params= in the spec gives them)"
            )
            self.console.print(
                Text(
                    f"  {event.side} loaded {event.display_name} in {event.load_s:.1f} s: "
                    f"{params}, {event.dtype}, quant {event.quant}, {event.device}"
                )
            )
        elif isinstance(event, IdleMeasured):
            if event.seconds > 0:
                self.console.print(
                    Text(
                        f"  idle baseline: {fmt_num(event.power_w, 1)} W over {event.seconds:.1f} s{est(event.quality)}"
                    )
                )
        elif isinstance(event, ItemScored):
            self._print_item(event)
        elif isinstance(event, StoppingChecked):
            self._print_check(event)
        elif isinstance(event, RunFailed):
            self._failures_shown.add(event.reason)
            self.console.print(Text(f"  {event.side} failed: {event.reason}", style="bold red"))

    def _print_item(self, item: ItemScored) -> None:
        lane = self.tally.sides[item.side]
        score = lane.score
        mark = ("✓", "green") if item.correct else (("~", "yellow") if item.score > 0 else ("✗", "red"))
        per_token = item.joules_per_token
        self.console.print(
            Text.assemble(
                f"  {item.side} {item.item_id:<12} ",
                mark,
                f" {item.score:4.2f}  ",
                f"{fmt_num(item.e2e_tokens_per_s, 1):>5} tok/s  ",
                f"{fmt_num(per_token, 3):>6} J/token{est(item.energy_quality)}  ",
                f"running {fmt_score(score)} ({lane.items_done} done)",
            )
        )

    def _print_check(self, check: StoppingChecked) -> None:
        """The stopping rule after each pair: both running intervals and whether it has settled."""
        from greentui.core.verdict.stopping import check_line

        style = "bold green" if check.settled else "dim"
        self.console.print(Text(f"  = {check_line(check)}", style=style))
        if check.stops:
            self.console.print(
                Text(f"  settled: stopping after {check.n_pairs} of {check.planned} items", style="bold")
            )

    def finish(self, tally: Tally, outcome: Any) -> None:
        """The final per-model table, the verdict, and where the session was saved."""
        from greentui.text.report import render_verdict

        if outcome.verdict is not None:
            # the verdict holds the per-model table: accuracy, energy in J and Wh, J/token, J/correct, speed
            self.console.print()
            self.console.print(render_verdict(outcome.verdict))
        elif tally.items_done:
            self.console.print(summary_table(tally))
        crosscheck = codecarbon_line(tally.finished.measurements if tally.finished else {})
        if crosscheck:
            self.console.print(Text(crosscheck))
        status_style = {"completed": "green", "interrupted": "yellow"}.get(outcome.status, "red")
        line = Text.assemble(("session ", "bold"), (outcome.session_id, "bold"), " ", (outcome.status, status_style))
        if outcome.reason and outcome.reason not in self._failures_shown:
            line.append(f": {outcome.reason}")
        self.console.print(line)
        self.console.print(Text(f"saved in {self.db_path}   (greentui show {outcome.session_id})"))


def codecarbon_line(measurements: dict[str, Any]) -> str | None:
    """codecarbon's figure for the run beside greentui's over the same span (``--codecarbon``), or None."""
    figures = measurements.get("codecarbon")
    if not figures:
        return None
    if "error" in figures:
        return f"codecarbon cross-check failed: {figures['error']}"
    run = measurements.get("run") or {}
    ours = (
        f"greentui over the same span: {fmt_joules(run.get('joules'))}{est(run.get('quality'))}"
        if run
        else "greentui: no whole-run figure"
    )
    return (
        f"codecarbon cross-check (whole run, {fmt_seconds(run.get('seconds'))}): {fmt_joules(figures['joules'])}, "
        f"{figures['g']:.3g} g CO2e (codecarbon's own CPU and RAM model) · {ours}"
    )


def summary_table(tally: Tally) -> Table:
    """Accuracy, energy, J/token, J/correct, tokens/s and TTFT of both models, estimates marked."""
    quality = tally.started.power_quality if tally.started else "estimated"
    table = Table(
        title="Results" + (" (energy estimated: no power sensor)" if quality == "estimated" else ""),
        title_justify="left",
    )
    table.add_column("")
    lanes: list[SideTally] = [tally.sides["A"], tally.sides["B"]]
    for lane in lanes:
        table.add_column(Text(f"{lane.side}  {lane.display_name or lane.spec}"), justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("items", [f"{lane.items_done}" + (" (failed)" if lane.state == "failed" else "") for lane in lanes]),
        ("accuracy (95% CI)", [fmt_score(lane.score) for lane in lanes]),
        ("energy", [f"{fmt_joules(lane.energy_j)} · {fmt_wh(lane.energy_j)}{est(quality)}" for lane in lanes]),
        ("J / token", [f"{fmt_num(lane.joules_per_token, 3)}{est(quality)}" for lane in lanes]),
        ("J / correct answer", [f"{fmt_num(lane.joules_per_correct, 2)}{est(quality)}" for lane in lanes]),
        ("CO2e", [f"{fmt_num(tally.co2_g(lane.side), 5)} g" for lane in lanes]),
        ("tokens/s", [fmt_num(lane.tokens_per_s, 1) for lane in lanes]),
        ("TTFT p50", [fmt_seconds(lane.ttft_p50_s) for lane in lanes]),
    ]
    for label, values in rows:
        table.add_row(label, *[Text(v) for v in values])
    return table
