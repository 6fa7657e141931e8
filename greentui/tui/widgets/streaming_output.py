"""StreamingOutput: a model's output as it is generated, always showing its last lines, shown literally."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from greentui.tui.safe_text import literal_text

CURSOR = "▌"


class StreamingOutput(Widget):
    """Shows ``text`` wrapped to the widget's width, keeping the tail when it is longer than the widget.

    The text is untrusted model output: it goes through :func:`literal_text`, so markup and escape sequences
    are shown as written, never interpreted.
    """

    text: reactive[str] = reactive("", layout=False)
    streaming: reactive[bool] = reactive(False)
    """Draw a cursor after the text while tokens are still arriving."""

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        text = self.text
        if width > 0 and height > 0:
            # Only the tail can be seen: wrap at most two screenfuls, so a long output costs the same as a short one.
            text = text[-2 * width * height :]
        body = literal_text(text)
        if self.streaming:
            body.append(CURSOR)
        if width <= 0 or height <= 0:
            return body
        lines = list(body.wrap(self.app.console, width, overflow="fold"))
        return Text("\n", end="").join(lines[-height:])
