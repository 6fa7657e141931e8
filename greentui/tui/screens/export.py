"""Export a stored session to a markdown, HTML, CSV or JSON file in the current folder, and say where it went."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from greentui.store import SessionStore

FORMATS = (
    ("md", "markdown report"),
    ("html", "HTML page to share: verdict, power trace, figures, outputs"),
    ("csv", "CSV, one row per item"),
    ("json", "JSON, everything stored"),
)


def export_to_file(store: SessionStore, session_id: str, fmt: str, folder: Path) -> Path:
    """Write ``greentui-<id>.<fmt>`` into ``folder`` with the same text `greentui export` prints; returns the path."""
    from greentui.text.listing import export_session

    path = folder / f"greentui-{session_id}.{fmt}"
    path.write_text(export_session(store, session_id, fmt), encoding="utf-8")
    return path


class ExportScreen(ModalScreen[Path | None]):
    """Pick a format; the file is written to the current folder and its path shown in a notification."""

    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Export session {self.session_id} to the current folder as…", classes="dialog-title")
            yield OptionList(*(Option(f"{fmt:<5} {what}", id=fmt) for fmt, what in FORMATS), id="export-formats")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        fmt = event.option.id or "md"
        store = getattr(self.app, "store", None)
        if store is None:
            self.notify("no session store is open: nothing to export", severity="error")
            self.dismiss(None)
            return
        try:
            path = export_to_file(store, self.session_id, fmt, Path.cwd())
        except Exception as exc:  # a store or file error becomes a notification, never a crash
            from greentui.errors import one_line

            self.notify(one_line(exc), title="export failed", severity="error", timeout=10)
            self.dismiss(None)
            return
        self.notify(str(path), title=f"exported {fmt}", timeout=10)
        self.dismiss(path)
