"""KeyFooter: Textual's footer with the keys that matter everywhere -- quit and help -- first, and only the keys
that fit the terminal's width.

Textual lists the focused widget's and the screen's keys before the app's, so on a narrow terminal the app's
``^q quit`` and ``f1 help`` were the ones pushed off the right edge (and a footer far wider than the screen was
not drawn at all). Here they lead, and the screen's later keys are left out when the width runs out: help (f1)
and the command palette (ctrl+p) list every key.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST_ACTIONS = ("quit_app", "help")  # the app's own actions, in this order
PALETTE_CELLS = 14  # "▏^p palette", docked on the right


def key_cells(key: FooterKey) -> int:
    """Cells a footer key takes: `` ^q quit ``."""
    return cell_len(key.key_display) + (cell_len(key.description) + 1 if key.description else 0) + 2


class KeyFooter(Footer):
    """A :class:`Footer` that leads with quit and help and drops the keys that would not fit."""

    _composed_width = 0

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        self._composed_width = self.size.width
        first = sorted(
            (key for key in keys if isinstance(key, FooterKey) and key.action in FIRST_ACTIONS),
            key=lambda key: FIRST_ACTIONS.index(key.action),
        )
        room = (self.size.width or self.app.size.width) - PALETTE_CELLS - sum(key_cells(key) for key in first)
        yield from first
        for key in keys:
            if key in first:
                continue
            if isinstance(key, FooterKey) and not key.has_class("-command-palette"):
                room -= key_cells(key)
                if room < 0:
                    continue  # this key and every later one (room only shrinks)
            yield key

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and event.size.width != self._composed_width:
            self.call_after_refresh(self.recompose)
