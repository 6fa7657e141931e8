"""Two stored sessions compared: what changed, figure by figure, then each one's verdict and power chart."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from greentui.format import format_when
from greentui.tui.comparison import SessionComparison
from greentui.tui.replay import FoldedSession
from greentui.tui.safe_text import literal_text
from greentui.tui.screens.verdict import verdict_heading
from greentui.tui.widgets.comparison_table import ComparisonTable
from greentui.tui.widgets.difference_table import DifferenceTable
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.power_chart import PowerChart
from greentui.tui.widgets.verdict_summary import VerdictSummary


def session_line(label: str, session: FoldedSession) -> Text:
    """``left   8f3a2c1b9d04 · interrupted (stopped by the user) · Sentiment · A 3/8, B 3/8 items · 2026-11-20``."""
    tally = session.tally
    started = tally.started
    status = session.status or (tally.finished.status if tally.finished else "running")
    text = Text.assemble((f" {label:<6}", "bold"), end="")
    if started is None:
        return text.append(session.session_id)
    reason = f" ({session.status_reason})" if session.status_reason else ""
    done = ", ".join(f"{side} {lane.items_done}/{started.n_items}" for side, lane in tally.sides.items())
    text.append(f"{session.session_id} · ")
    text.append(status, style="bold")
    text.append_text(
        literal_text(
            f"{reason} · {started.task_name} · {done} items · {format_when(started.started_unix_s)}",
            one_line=True,
        )
    )
    return text


class CompareScreen(Screen[None]):
    """The differences first (right minus left, per model, with intervals), then left and right in full."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back")]

    def __init__(self, comparison: SessionComparison) -> None:
        super().__init__()
        self.comparison = comparison
        self.sessions = (comparison.left, comparison.right)

    def compose(self) -> ComposeResult:
        yield Static(" greentui ─ two sessions compared", id="compare-heading")
        with VerticalScroll(id="compare-body"):
            yield Static(id="compare-sessions")
            yield DifferenceTable(id="difference-table")
            with Horizontal(id="compare-columns"):
                for index, session in enumerate(self.sessions):
                    with VerticalScroll(classes="compare-column"):
                        yield Static(
                            verdict_heading(session.tally, session.status or None, dated=False), classes="compare-title"
                        )
                        yield VerdictSummary(id=f"compare-summary-{index}")
                        yield ComparisonTable(id=f"compare-table-{index}")
                        yield PowerChart(session.trace, id=f"compare-chart-{index}", classes="compare-chart")
        yield KeyFooter()

    def on_mount(self) -> None:
        left, right = self.sessions
        lines = session_line("left", left)
        lines.append("\n")
        lines.append_text(session_line("right", right))
        note = self.comparison.note
        if note:
            lines.append("\n")
            lines.append_text(literal_text(note, style="italic" if self.comparison.same_task else "bold"))
        self.query_one("#compare-sessions", Static).update(lines)
        self.query_one(DifferenceTable).show(self.comparison)
        for index, session in enumerate(self.sessions):
            summary = self.query_one(f"#compare-summary-{index}", VerdictSummary)
            table = self.query_one(f"#compare-table-{index}", ComparisonTable)
            if session.verdict is not None:
                summary.show(session.verdict)
                table.show(session.verdict)
            else:
                summary.update("no finished items on either side: no verdict")
            chart = self.query_one(f"#compare-chart-{index}", PowerChart)
            chart.window_s = None
            if session.tally.started is not None:
                chart.describe_session(session.tally.started)
