"""Two stored sessions side by side: each one's verdict sentence, comparison table and power chart."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from greentui.tui.replay import FoldedSession
from greentui.tui.screens.verdict import verdict_heading
from greentui.tui.widgets.comparison_table import ComparisonTable
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.power_chart import PowerChart
from greentui.tui.widgets.verdict_summary import VerdictSummary


class CompareScreen(Screen[None]):
    """Left: the first marked session; right: the second."""

    BINDINGS = [Binding("escape", "app.pop_screen", "back")]

    def __init__(self, left: FoldedSession, right: FoldedSession) -> None:
        super().__init__()
        self.sessions = (left, right)

    def compose(self) -> ComposeResult:
        yield Static(" greentui ─ two sessions side by side", id="compare-heading")
        with Horizontal(id="compare-columns"):
            for index, session in enumerate(self.sessions):
                with VerticalScroll(classes="compare-column"):
                    yield Static(verdict_heading(session.tally), classes="compare-title")
                    yield VerdictSummary(id=f"compare-summary-{index}")
                    yield ComparisonTable(id=f"compare-table-{index}")
                    yield PowerChart(session.trace, id=f"compare-chart-{index}", classes="compare-chart")
        yield KeyFooter()

    def on_mount(self) -> None:
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
