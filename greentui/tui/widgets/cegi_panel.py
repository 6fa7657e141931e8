"""CegiPanel: CEGI with its formula, inputs and mode, then what the run means at scale."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from greentui.core.verdict.compute import Verdict, cegi_lines, scale_lines
from greentui.tui.safe_text import literal_text


class CegiPanel(Static):
    """The lines of :func:`cegi_lines` (first one bold) and :func:`scale_lines`, as the CLI prints them."""

    def show(self, verdict: Verdict) -> None:
        cegi = cegi_lines(verdict)
        text = literal_text(cegi[0], style="bold")
        for line in cegi[1:]:
            text.append("\n  ")
            text.append_text(literal_text(line))
        text.append("\n")
        for line in scale_lines(verdict):
            text.append("\n")
            text.append_text(literal_text(line))
        self.update(text)
        self.border_title = Text(f"CEGI · {verdict.cegi.mode} mode · lower is better")
