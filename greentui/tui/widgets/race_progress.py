"""RaceProgress: items done out of the total (both sides), with the ETA and the run state."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar

from greentui.core.run.tally import Tally
from greentui.tui import formatting as fmt
from greentui.tui.widgets.text_line import TextLine


class RaceProgress(Horizontal):
    """A progress bar and a label: ``74/240 items · ETA about 4 min · running``."""

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="race-bar")
        yield TextLine(id="race-label")

    def show(self, tally: Tally, now_mono_s: float | None, state: str) -> None:
        """``now_mono_s``: the session clock (the newest event's time), so a replay shows its own ETA."""
        total = tally.items_total
        bar = self.query_one(ProgressBar)
        if total and (bar.total, bar.progress) != (total, tally.items_done):
            bar.update(total=total, progress=tally.items_done)
        eta = tally.eta_s(now_mono_s) if now_mono_s is not None and tally.finished is None else None
        parts = [f"{tally.items_done}/{total or '?'} items"]
        if eta is not None and eta > 0:
            parts.append(f"ETA {fmt.about(eta)}")
        parts.append(state)
        self.query_one("#race-label", TextLine).show(Text(" · ".join(parts), end=""))
