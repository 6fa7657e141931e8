"""TextLine: a fixed-size piece of text that redraws itself without asking for a new layout.

``Static.update`` always refreshes the layout of the whole screen, which is what a text that may change size
needs, but at ten updates a second on a dozen widgets it makes every frame a full relayout. The figures of the
live screen have fixed sizes (set in ``app.tcss``), so they only repaint their own region.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextLine(Widget):
    """Shows a :class:`Text`; :meth:`show` repaints only when the text changed. Give it a fixed height in CSS."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text()

    def show(self, text: Text) -> None:
        if text == self._text:
            return
        self._text = text
        self.refresh()

    @property
    def text(self) -> Text:
        return self._text

    def render(self) -> Text:
        return self._text
