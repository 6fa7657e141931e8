"""SessionHeader: one line saying what is being compared, and where every figure comes from."""

from __future__ import annotations

from rich.text import Text

from greentui.core.run.tally import Tally
from greentui.tui.safe_text import literal_text
from greentui.tui.widgets.text_line import TextLine


def session_summary(tally: Tally) -> Text:
    """``sentiment (nlp, 120 items) ─ alternate ─ grid FRA 56 g/kWh (codecarbon data) ─ power: estimated (...)``."""
    started = tally.started
    if started is None:
        return Text("starting…", end="")
    task = started.settings.get("task_info", {}) if isinstance(started.settings, dict) else {}
    category = task.get("category")
    what = f"{started.task_name} ({category + ', ' if category else ''}{started.n_items} items)"
    grid = started.grid
    text = Text(end="")
    text.append_text(literal_text(what, style="bold", one_line=True))
    text.append(f" ─ schedule {started.schedule} ─ grid ")
    text.append_text(literal_text(f"{grid.g_per_kwh:.0f} g/kWh ({grid.source})", one_line=True))
    text.append(" ─ power: ")
    text.append_text(literal_text(started.power_note or started.power_quality, one_line=True))
    busy = tally.busy_line()
    if busy:
        text.append(" ─ ")
        text.append(busy, style="bold")
    return text


class SessionHeader(TextLine):
    """The top line of the live screen: ``greentui <state> ─ <session summary>`` (the state never gets cropped)."""

    def show(self, tally: Tally, state: str) -> None:  # type: ignore[override]
        text = Text.assemble((" greentui ", "bold reverse"), end="")
        text.append(f" {state} ", style="bold")
        text.append("─ ")
        text.append_text(session_summary(tally))
        super().show(text)
