"""SessionsTable: a page of stored sessions at a time, filtered and sorted by the store, with marks for comparing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from greentui.format import est, format_joules, format_percent, format_when, with_est
from greentui.tui.formatting import shorten
from greentui.tui.safe_text import literal_text
from greentui.tui.session_state import short_state, state_message

# (key, heading); the store sorts by each key but the mark (greentui.store.listing.SORT_SQL). The state and the
# energy (with its est. mark) come before the long model specs, so they show whole on an 80-column terminal,
# where the table scrolls sideways
COLUMNS: tuple[tuple[str, str], ...] = (
    ("mark", " "),
    ("date", "date"),
    ("task", "task"),
    ("status", "status"),
    ("items", "items A/B"),
    ("energy", "energy A+B"),
    ("model_a", "model A"),
    ("model_b", "model B"),
    ("verdict", "verdict"),
)
SORTABLE = tuple(key for key, _ in COLUMNS if key != "mark")
SWEEP_PREFIX = "sweep:"


def total_energy_j(summary: Any) -> float | None:
    values = [side.energy_j for side in (summary.a, summary.b) if side.energy_j is not None]
    return sum(values) if values else None


class SessionsTable(DataTable[Text]):
    """Rows keyed by session id, one page of the store's list at a time: :meth:`show` replaces the rows with the
    first page of a filter and sort (done by the store), :meth:`append` adds the next page. Scrolling near the
    last loaded row posts :class:`NearEnd`, so the screen can read the next page before it is needed."""

    @dataclass
    class NearEnd(Message):
        """The view came within a screen of the last loaded row (``rows`` were loaded then)."""

        table: SessionsTable
        rows: int

    _asked_at_rows = -1  # row count when NearEnd was last posted: one request per page

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, heading in COLUMNS:
            self.add_column(heading, key=key)

    def show(self, rows: Sequence[Any], *, sort_key: str, reverse: bool, marked: Sequence[str]) -> None:
        """Replace the rows (already filtered and sorted); keeps the cursor on the same session where it is still
        listed."""
        current = self.current_id()
        self.clear()
        self._asked_at_rows = -1
        for key, heading in COLUMNS:
            arrow = (" ▼" if reverse else " ▲") if key == sort_key else ""
            self.columns[key].label = Text(heading + arrow)  # type: ignore[index]  # DataTable.columns is keyed by ColumnKey; a str key hashes equal
        self.append(rows, marked=marked)
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current))

    def append(self, rows: Sequence[Any], *, marked: Sequence[str]) -> None:
        """Add rows after the loaded ones (the next page)."""
        for summary in rows:
            self.add_row(*self._cells(summary, summary.id in marked), key=summary.id)

    def set_marked(self, session_id: str, marked: bool) -> None:
        """Show or clear the comparison mark of one loaded session."""
        if session_id in self.rows:
            self.update_cell(session_id, "mark", Text("●" if marked else " ", style="bold"))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if (
            self.row_count
            and self.max_scroll_y - new_value <= self.size.height
            and self._asked_at_rows != self.row_count
        ):
            self._asked_at_rows = self.row_count
            self.post_message(self.NearEnd(self, self.row_count))

    def current_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # no valid cursor (the table was just cleared)
            return None

    @staticmethod
    def _cells(summary: Any, marked: bool) -> list[Text]:
        energy = with_est(format_joules(total_energy_j(summary)), summary.power_quality == "estimated")
        status_style = {"completed": "", "interrupted": "italic", "failed": "bold", "running": "bold"}
        return [
            Text("●" if marked else " ", style="bold"),
            Text(format_when(summary.started_unix_s)),
            literal_text(shorten(summary.task_id, 18), one_line=True),
            Text(summary.status, style=status_style.get(summary.status, "")),
            Text(f"{summary.a.items_done}/{summary.b.items_done} of {summary.n_items}"),
            Text(energy, justify="right"),
            literal_text(shorten(summary.model_a, 26), one_line=True),
            literal_text(shorten(summary.model_b, 26), one_line=True),
            literal_text(shorten(short_state(summary), 44), one_line=True),
        ]


def summary_text(summary: Any) -> Text:
    """The highlighted session in full: id, status and reason, the verdict sentence, each side's figures."""
    mark = est(summary.power_quality)
    text = Text.assemble((f"session {summary.id}", "bold"), f" · {summary.status}", end="")
    if getattr(summary, "sweep_id", None):
        text.append_text(literal_text(f" · sweep {summary.sweep_id}", one_line=True))
    if summary.status_reason:
        text.append_text(literal_text(f" ({summary.status_reason})"))
    text.append("\n")
    text.append_text(literal_text(state_message(summary, with_reason=False)))
    for side in (summary.a, summary.b):
        text.append(f"\n{side.side} ", "bold")
        text.append_text(literal_text(side.spec, one_line=True))
        if getattr(side, "provenance", None):
            text.append_text(literal_text(f" · {side.provenance}", one_line=True))
        text.append(
            f" · {side.items_done}/{summary.n_items} items · mean score {format_percent(side.accuracy)}"
            f" · {format_joules(side.energy_j)}{mark if side.energy_j is not None else ''}"
        )
        if side.failure:
            text.append_text(literal_text(f" · failed: {side.failure}"))
    return text
