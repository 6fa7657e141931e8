"""RaceProgress: items done out of the total (both sides), with the ETA and the run state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar

from greentui.format import format_about
from greentui.tui.views import ProgressView
from greentui.tui.widgets.text_line import TextLine


class RaceProgress(Horizontal):
    """A progress bar and a label: ``74/240 items · ETA about 4 min · running``."""

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="race-bar")
        yield TextLine(id="race-label")

    def show(self, view: ProgressView) -> None:
        """Redraw from the frame's progress (its ETA runs on the session clock, so a replay shows its own)."""
        total = view.items_total
        bar = self.query_one(ProgressBar)
        if total and (bar.total, bar.progress) != (total, view.items_done):
            bar.update(total=total, progress=view.items_done)
        parts = [f"{view.items_done}/{total or '?'} items"]
        if view.eta_s is not None and view.eta_s > 0:
            parts.append(f"ETA {format_about(view.eta_s)}")
        parts.append(view.state)
        self.query_one("#race-label", TextLine).show(Text(" · ".join(parts), end=""))
