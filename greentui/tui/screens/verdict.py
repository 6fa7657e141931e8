"""The verdict screen: the sentence first, the A-vs-B table, bar charts, CEGI with its inputs, the power chart, and
every item with why it scored what it did."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from greentui.core.run.tally import Tally
from greentui.core.verdict.compute import Verdict
from greentui.format import format_joules, format_score, format_when, with_est
from greentui.tui.power_trace import PowerTrace
from greentui.tui.safe_text import literal_text
from greentui.tui.widgets.cegi_panel import CegiPanel
from greentui.tui.widgets.comparison_table import ComparisonTable
from greentui.tui.widgets.item_list import ItemList
from greentui.tui.widgets.key_footer import KeyFooter
from greentui.tui.widgets.paired_bars import PairedBars
from greentui.tui.widgets.power_chart import PowerChart
from greentui.tui.widgets.verdict_summary import VerdictSummary


def verdict_heading(tally: Tally, status: str | None = None, *, dated: bool = True) -> Text:
    """``Verdict  interrupted · Arithmetic · 12 of 20 items each · 2026-11-21 23:10 · session 8f3a…``.

    ``status``: the stored status of the session (a crashed session has no SessionFinished but is stored as
    interrupted), or the live screen's state; else the status the tally saw, else "running". It comes first, so
    it is never the part a narrow terminal crops. ``dated``: with the start date (the compare screen says it
    once above).
    """
    started = tally.started
    text = Text.assemble((" Verdict ", "bold reverse"), end="")
    if started is None:
        return text
    status = status or (tally.finished.status if tally.finished else "running")
    text.append(f" {status} ", style="bold")
    done = max((len(lane.items) for lane in tally.sides.values()), default=0)
    # a session that stopped early (settled, interrupted) says how far it got: "53 of 60 items each"
    items = f"{done} of {started.n_items}" if 0 < done < started.n_items else f"{started.n_items}"
    text.append_text(
        literal_text(
            f"· {started.task_name} · {items} items each · "
            + (f"{format_when(started.started_unix_s)} · " if dated else "")
            + f"session {started.session_id}",
            one_line=True,
        )
    )
    return text


def jpc_title(verdict: Verdict) -> str:
    """Energy per correct answer; for continuous scores (ROUGE-L) nothing is "correct": per unit of score."""
    return "J per correct-equivalent (sum of scores)" if verdict.continuous else "J per correct answer"


def score_label(score: float | None, continuous: bool) -> str:
    """``87.5%`` for a share of correct answers; ``41.2`` (points out of 100) for a continuous score."""
    return format_score(score, continuous=continuous)


class VerdictScreen(Screen[None]):
    """A passive view of one :class:`Verdict` and the session's power trace."""

    BINDINGS = [
        Binding("e", "export", "export"),
        Binding("h", "app.history", "history"),
        Binding("escape", "app.pop_screen", "back"),
    ]

    def __init__(self, verdict: Verdict, tally: Tally, trace: PowerTrace, *, status: str | None = None) -> None:
        super().__init__()
        self.verdict = verdict
        self.tally = tally
        self.trace = trace
        self.status = status  # the session's stored status or the live state; None: what the tally saw

    @property
    def session_id(self) -> str | None:
        return self.tally.started.session_id if self.tally.started else None

    def compose(self) -> ComposeResult:
        yield Static(verdict_heading(self.tally, self.status), id="verdict-heading")
        with VerticalScroll(id="verdict-body"):
            yield VerdictSummary(id="verdict-summary")
            yield ComparisonTable(id="comparison-table")
            with Horizontal(id="verdict-bars"):
                yield PairedBars(self.verdict.metric or "accuracy", id="bars-accuracy")
                yield PairedBars(jpc_title(self.verdict), id="bars-jpc")
            yield CegiPanel(id="cegi-panel")
            yield PowerChart(self.trace, id="verdict-power-chart")
            yield ItemList(id="item-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        verdict = self.verdict
        self.query_one(VerdictSummary).show(verdict)
        self.query_one(ComparisonTable).show(verdict)
        self.query_one(CegiPanel).show(verdict)
        a, b = verdict.a, verdict.b
        self.query_one("#bars-accuracy", PairedBars).show(
            a.accuracy,
            score_label(a.accuracy, verdict.continuous),
            b.accuracy,
            score_label(b.accuracy, verdict.continuous),
            "(higher is better)",
        )
        estimated = verdict.energy_quality == "estimated"
        self.query_one("#bars-jpc", PairedBars).show(
            a.joules_per_correct,
            with_est(format_joules(a.joules_per_correct), estimated),
            b.joules_per_correct,
            with_est(format_joules(b.joules_per_correct), estimated),
            "(lower is better)",
        )
        self.query_one(ItemList).show(
            [item for lane in self.tally.sides.values() for item in lane.items],
            estimated=verdict.energy_quality == "estimated",
        )
        chart = self.query_one(PowerChart)
        chart.window_s = None
        if self.tally.started is not None:
            chart.describe_session(self.tally.started)

    def action_export(self) -> None:
        from greentui.tui.screens.export import ExportScreen

        if self.session_id is None:
            return
        self.app.push_screen(ExportScreen(self.session_id))
