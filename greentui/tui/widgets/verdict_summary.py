"""VerdictSummary: the verdict sentence first, then the Pareto line, the energy note, the stopping rule (when the
session ran one) and the legend of marks."""

from __future__ import annotations

from textual.widgets import Static

from greentui.core.verdict.compute import Verdict
from greentui.tui.safe_text import literal_text

ESTIMATE_LEGEND = "est. marks every figure derived from the estimated power (no power sensor read it)"


class VerdictSummary(Static):
    """The one-sentence conclusion in bold, with what qualifies it underneath."""

    COMPONENT_CLASSES = {"verdict-summary--note"}

    def show(self, verdict: Verdict) -> None:
        text = literal_text(verdict.sentence, style="bold")
        text.append("\n")
        text.append_text(literal_text(verdict.pareto))
        note = self.get_component_rich_style("verdict-summary--note", partial=True)
        if verdict.energy_note:
            text.append("\n")
            text.append_text(literal_text(verdict.energy_note, style=note))
        if verdict.stopping is not None:
            from greentui.core.verdict.stopping import stopping_lines

            for line in stopping_lines(verdict.stopping):
                text.append("\n")
                text.append_text(literal_text(line))
        if verdict.energy_quality == "estimated":
            text.append("\n")
            text.append(ESTIMATE_LEGEND, style=note)
        self.update(text)
