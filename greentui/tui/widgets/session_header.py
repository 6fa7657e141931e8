"""SessionHeader: one line saying what is being compared, and where every figure comes from."""

from __future__ import annotations

from rich.text import Text

from greentui.core.run.tally import Tally
from greentui.tui.safe_text import literal_text
from greentui.tui.widgets.text_line import TextLine

DETAIL_LEVELS = 4  # 0: everything ... 3: the task and where the power figures come from


def session_summary(tally: Tally, level: int = 0) -> Text:
    """``sentiment (nlp, 120 items) ─ schedule alternate ─ grid 56 g/kWh (codecarbon data) ─ power: estimated (...)``.

    Higher ``level`` drops detail for narrower terminals (the schedule word, the grid's source, the category, then
    the grid and the schedule), but never the power line: whether figures are measured or estimated always shows.
    """
    started = tally.started
    if started is None:
        return Text("starting…", end="")
    task = started.settings.get("task_info", {}) if isinstance(started.settings, dict) else {}
    category = task.get("category") if level < 2 else None
    what = f"{started.task_name} ({category + ', ' if category else ''}{started.n_items} items)"
    grid = started.grid
    text = Text(end="")
    text.append_text(literal_text(what, style="bold", one_line=True))
    if level == 0:
        text.append(f" ─ schedule {started.schedule} ─ grid ")
        text.append_text(literal_text(f"{grid.g_per_kwh:.0f} g/kWh ({grid.source})", one_line=True))
    elif level < 3:
        text.append(f" ─ {started.schedule} ─ grid {grid.g_per_kwh:.0f} g/kWh")
    text.append(" ─ power: ")
    note = started.power_note or started.power_quality
    text.append_text(literal_text(note if level < 2 else started.power_quality, one_line=True))
    busy = tally.busy_line()
    if busy:
        text.append(" ─ ")
        text.append(busy, style="bold")
    return text


class SessionHeader(TextLine):
    """The top line of the live screen: ``greentui <state> ─ <session summary>``, as much of it as the width holds
    (the state and the measured/estimated word are never cropped)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Text] = []

    def show(self, tally: Tally, state: str) -> None:  # type: ignore[override]
        lines = []
        for level in range(DETAIL_LEVELS):
            text = Text.assemble((" greentui ", "bold reverse"), end="")
            text.append(f" {state} ", style="bold")
            text.append("─ ")
            text.append_text(session_summary(tally, level))
            lines.append(text)
        if lines != self._lines:
            self._lines = lines
            self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        return next(
            (line for line in self._lines if line.cell_len <= width), self._lines[-1] if self._lines else self.text
        )
