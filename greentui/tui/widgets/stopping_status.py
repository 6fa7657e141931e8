"""StoppingStatus: the stopping rule's two running intervals and whether the comparison has settled yet.

Hidden for a session that runs its items in file order (no stopping rule); otherwise two lines under the power
chart, redrawn from the tally after every pair::

    ● settled after 34 of 60 items: B more accurate · accuracy B − A +12 … +58 points
      energy B/A 0.81 … 1.20 (not settled) · α 0.05 · margin ±5 points · stops when settled
"""

from __future__ import annotations

from rich.text import Text

from greentui.tui.widgets.text_line import TextLine


class StoppingStatus(TextLine):
    """Passive view of the stopping rule's lines (``LiveView.stopping``, built by ``tui.views.stopping_text``);
    hides itself when the session has none (None)."""

    def show(self, lines: Text | None) -> None:
        visible = lines is not None
        if self.display != visible:
            self.display = visible
        if lines is not None:
            super().show(lines)
