"""MetricTile: one figure with its label and a note (source, CI, second unit), e.g. ``energy / 412 J est. / 0.114 Wh``."""

from __future__ import annotations

from rich.text import Text

from greentui.format import DASH, EST
from greentui.tui.widgets.text_line import TextLine


class MetricTile(TextLine):
    """Label, then the value (bold, with ``est.`` when estimated), then a muted note; a 2-row tile drops the note."""

    COMPONENT_CLASSES = {"metric-tile--label", "metric-tile--value", "metric-tile--note", "metric-tile--est"}

    def __init__(self, label: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self._shown: tuple[str, str, str, bool] | None = None

    def on_mount(self) -> None:
        self.show(DASH)

    def show(self, value: str, note: str = "", *, estimated: bool = False) -> None:  # type: ignore[override]  # a value and its note, not Static's visual
        """Set the figure; ``estimated`` appends an ``est.`` mark. Skips the redraw when nothing changed."""
        if self._shown == (self.label, value, note, estimated):
            return
        self._shown = (self.label, value, note, estimated)
        text = Text.assemble((self.label, self.get_component_rich_style("metric-tile--label", partial=True)), end="")
        text.append("\n")
        text.append(value, self.get_component_rich_style("metric-tile--value", partial=True))
        if estimated and value != DASH:
            text.append(f" {EST}", self.get_component_rich_style("metric-tile--est", partial=True))
        if note:
            text.append("\n")
            text.append(note, self.get_component_rich_style("metric-tile--note", partial=True))
        super().show(text)
