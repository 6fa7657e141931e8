"""SessionHeader: one line saying what is being compared, and where every figure comes from."""

from __future__ import annotations

from rich.text import Text

from greentui.format import format_intensity
from greentui.tui.safe_text import literal_text
from greentui.tui.views import HeaderView
from greentui.tui.widgets.text_line import TextLine

DETAIL_LEVELS = 4  # 0: everything ... 3: the task and where the power figures come from


def session_summary(view: HeaderView, level: int = 0) -> Text:
    """``sentiment (nlp, 120 items) ─ schedule alternate ─ grid 56 g/kWh (codecarbon data) ─ power: estimated (...)``.

    Higher ``level`` drops detail for narrower terminals (the schedule word, the grid's source, the category, then
    the grid and the schedule), but never the power line: whether figures are measured or estimated always shows.
    """
    if view.task_name is None:
        return Text("starting…", end="")
    category = view.category if level < 2 else None
    what = f"{view.task_name} ({category + ', ' if category else ''}{view.n_items} items)"
    text = Text(end="")
    text.append_text(literal_text(what, style="bold", one_line=True))
    if level == 0:
        text.append(f" ─ schedule {view.schedule} ─ grid ")
        text.append_text(
            literal_text(f"{format_intensity(view.grid_g_per_kwh, short=True)} ({view.grid_source})", one_line=True)
        )
    elif level < 3:
        text.append(f" ─ {view.schedule} ─ grid {format_intensity(view.grid_g_per_kwh, short=True)}")
    text.append(" ─ power: ")
    text.append_text(literal_text(view.power_note if level < 2 else view.power_quality, one_line=True))
    if view.busy:
        text.append(" ─ ")
        text.append(view.busy, style="bold")
    return text


class SessionHeader(TextLine):
    """The top line of the live screen: ``greentui <state> ─ <session summary>``, as much of it as the width holds
    (the state and the measured/estimated word are never cropped)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[Text] = []

    def show(self, view: HeaderView) -> None:  # type: ignore[override]  # a view in, the lines built here
        lines = []
        for level in range(DETAIL_LEVELS):
            text = Text.assemble((" greentui ", "bold reverse"), end="")
            text.append(f" {view.state} ", style="bold")
            text.append("─ ")
            text.append_text(session_summary(view, level))
            lines.append(text)
        if lines != self._lines:
            self._lines = lines
            self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        return next(
            (line for line in self._lines if line.cell_len <= width), self._lines[-1] if self._lines else self.text
        )
