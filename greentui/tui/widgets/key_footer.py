"""KeyFooter: Textual's footer with the keys that matter everywhere -- quit and help -- first.

Textual lists the focused widget's and the screen's keys before the app's, so on a narrow terminal the app's
``^q quit`` and ``f1 help`` are the ones pushed off the right edge. Here they lead, whatever the width.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

FIRST_ACTIONS = ("quit_app", "help")  # the app's own actions, in this order


class KeyFooter(Footer):
    """A :class:`Footer` whose first keys are quit and help (the command palette key stays on the right)."""

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        first = sorted(
            (key for key in keys if isinstance(key, FooterKey) and key.action in FIRST_ACTIONS),
            key=lambda key: FIRST_ACTIONS.index(key.action),
        )
        yield from first
        yield from (key for key in keys if key not in first)
