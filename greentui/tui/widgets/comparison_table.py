"""ComparisonTable: the verdict's A-vs-B figures, the same rows the CLI and the markdown export show."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from greentui.core.verdict.compute import Verdict, model_label
from greentui.text.report import comparison_rows
from greentui.tui.safe_text import literal_text


class ComparisonTable(Static):
    """A rich table of :func:`greentui.text.report.comparison_rows`; every cell is literal text."""

    def show(self, verdict: Verdict) -> None:
        table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
        table.add_column(Text("figure"), style="dim", ratio=1)
        for side, other in ((verdict.a, verdict.b), (verdict.b, verdict.a)):
            table.add_column(literal_text(model_label(side, other), style="bold", one_line=True), ratio=1)
        for figure, value_a, value_b in comparison_rows(verdict):
            table.add_row(literal_text(figure), literal_text(value_a), literal_text(value_b))
        self.update(table)
