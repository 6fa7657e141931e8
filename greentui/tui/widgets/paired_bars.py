"""PairedBars: one figure of model A and model B as two horizontal bars, e.g. accuracy or J per correct answer."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from greentui.core.records import Side

_EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int) -> str:
    """A bar ``fraction`` (0..1) of ``width`` cells long, to an eighth of a cell."""
    eighths = round(max(0.0, min(fraction, 1.0)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


class PairedBars(Widget):
    """Two bars scaled to the larger value; a missing value (None) shows its label alone."""

    COMPONENT_CLASSES = {"paired-bars--a", "paired-bars--b", "paired-bars--title"}

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.values: dict[Side, tuple[float | None, str]] = {"A": (None, "—"), "B": (None, "—")}
        self.note = ""

    def show(self, value_a: float | None, label_a: str, value_b: float | None, label_b: str, note: str = "") -> None:
        """Set both values (any unit; bars are relative) with the text printed after each bar."""
        self.values = {"A": (value_a, label_a), "B": (value_b, label_b)}
        self.note = note
        self.refresh()

    def render(self) -> Text:
        width = self.content_size.width
        labels_width = max(len(label) for _, label in self.values.values()) + 1
        bar_width = max(width - 4 - labels_width, 1)
        top = max((v for v, _ in self.values.values() if v is not None and v > 0), default=None)
        text = Text.assemble((self.title, self.get_component_rich_style("paired-bars--title", partial=True)), end="")
        if self.note:
            text.append(f"  {self.note}")
        for side in ("A", "B"):
            value, label = self.values[side]
            style = self.get_component_rich_style(f"paired-bars--{side.lower()}", partial=True)
            text.append(f"\n{side} ", "bold")
            drawn = bar(value / top, bar_width) if value is not None and top else ""
            text.append(drawn, style)
            text.append(f" {label}")
        return text
