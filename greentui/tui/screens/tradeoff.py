"""The trade-off screen: every stored run of one task, score against energy, the Pareto frontier, and the runs listed.

Opened from the history (``g``) on the highlighted session's task; that session is highlighted, and when the
history is filtered by a sweep, the sweep's runs are drawn together in their own colour. ``t`` switches the energy
axis between joules per item and joules per correct answer.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from greentui.format import format_joules_interval, format_score, with_est
from greentui.store.tradeoff import RunPoint, run_points
from greentui.tui.messages import RunsLoaded, post_result
from greentui.tui.safe_text import literal_text
from greentui.tui.tradeoff import ChartPoint, Per, chart_points
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.tradeoff_chart import COLORS, MARKERS, TradeoffChart


def legend(points: list[ChartPoint], sweep: str | None) -> Text:
    """What the marks and colours mean (only those on the chart)."""
    text = Text(" ", end="")
    text.append("━ Pareto frontier", style=COLORS["frontier"])
    kinds = {"current" for p in points if p.current} | {"sweep" for p in points if p.in_sweep}
    kinds |= {"other" for p in points if not (p.current or p.in_sweep)}
    names = {"current": "this session", "sweep": f"sweep {sweep}", "other": "other runs"}
    for who in ("current", "sweep", "other"):
        if who in kinds:
            text.append(f"   ● {names[who]}", style=COLORS[who])
    text.append(f"   {MARKERS['measured']} measured  {MARKERS['estimated']} estimated   ┼ 95% intervals")
    return text


def energy_cell(value: float, lo: float, hi: float, estimated: bool) -> str:
    """``7.20 J (6.10–8.30) est.``: an energy and its 95% interval, as every view writes energy."""
    return with_est(format_joules_interval(value, lo, hi), estimated) + ("" if estimated else " measured")


class TradeoffScreen(Screen[None]):
    """A passive view of the runs of one task; the data is read off the UI thread."""

    BINDINGS = [
        Binding("t", "toggle_per", "J per item / per correct"),
        Binding("escape", "app.pop_screen", "back"),
    ]

    def __init__(self, task_id: str, *, current_session: str | None = None, sweep: str | None = None) -> None:
        super().__init__()
        self.task_id = task_id
        self.current_session = current_session
        self.sweep = sweep
        self.per: Per = "item"
        self.runs: list[RunPoint] = []
        self.points: list[ChartPoint] = []  # what the chart shows now

    def compose(self) -> ComposeResult:
        yield Static(id="tradeoff-heading")
        yield TradeoffChart(id="tradeoff-chart")
        yield Static(id="tradeoff-legend")
        yield DataTable(id="tradeoff-runs", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for heading in ("", "model", "score (95% CI)", "energy (95% CI)", "items", "status", "session"):
            table.add_column(heading)
        self._heading("reading the runs…")
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tradeoff", description="runs")
    def load(self) -> None:
        store = self.app.store  # type: ignore[attr-defined]  # GreentuiApp's; screens are typed against App
        post_result(self, lambda: RunsLoaded(run_points(store, task_id=self.task_id)), failure="cannot read the runs")

    @on(RunsLoaded)
    def _loaded(self, message: RunsLoaded) -> None:
        self.runs = list(message.runs)
        self.redraw()

    def action_toggle_per(self) -> None:
        self.per = "correct" if self.per == "item" else "item"
        self.redraw()

    def _heading(self, what: str) -> None:
        text = Text.assemble((" greentui ", "bold reverse"), " trade-off ─ ", end="")
        text.append_text(literal_text(f"{self.task_id} ─ {what}", one_line=True))
        self.query_one("#tradeoff-heading", Static).update(text)

    def redraw(self) -> None:
        runs = self.runs
        points = self.points = chart_points(runs, self.per, current_session=self.current_session, sweep=self.sweep)
        metric = runs[0].metric if runs else "score"
        continuous = bool(runs and runs[0].continuous)
        per_words = "J per item" if self.per == "item" else "J per correct answer"
        left_out = len(runs) - len(points)
        note = f" ({left_out} without the figure left out)" if left_out else ""
        self._heading(f"{metric} against {per_words} · {len(points)} runs{note}")
        self.query_one(TradeoffChart).show(points, per=self.per, metric=metric, continuous=continuous)
        self.query_one("#tradeoff-legend", Static).update(legend(points, self.sweep))
        table = self.query_one(DataTable)
        table.clear()
        ordered = sorted(points, key=lambda p: (not p.on_frontier, p.energy_j.value))
        for point in ordered:
            run = point.run
            mark = "★" if point.on_frontier else ""
            table.add_row(
                Text(mark + ("◀" if point.current else ""), style="bold"),
                literal_text(run.spec, one_line=True),
                Text(
                    format_score(
                        point.score.value, point.score.lo, point.score.hi, run.n, continuous=continuous, compact=True
                    )
                ),
                Text(energy_cell(point.energy_j.value, point.energy_j.lo, point.energy_j.hi, run.estimated)),
                Text(str(run.n)),
                Text(run.status),
                Text(f"{run.session_id[:12]} {run.side}"),
            )
