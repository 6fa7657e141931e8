"""SessionsTable: the stored sessions, filtered by a text and sorted by any column, with marks for comparing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from greentui.tui import formatting as fmt
from greentui.tui.safe_text import literal_text
from greentui.tui.session_state import short_state, state_message

# (key, heading, sort key); the state and the energy (with its est. mark) come before the long model specs, so
# they show whole on an 80-column terminal, where the table scrolls sideways
COLUMNS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("mark", " ", lambda s: 0),
    ("date", "date", lambda s: s.started_unix_s),
    ("task", "task", lambda s: s.task_id),
    ("status", "status", lambda s: s.status),
    ("items", "items A/B", lambda s: s.a.items_done + s.b.items_done),
    ("energy", "energy A+B", lambda s: total_energy_j(s) or 0.0),
    ("model_a", "model A", lambda s: s.model_a),
    ("model_b", "model B", lambda s: s.model_b),
    ("verdict", "verdict", lambda s: s.verdict_sentence or ""),
)
SORTABLE = tuple(key for key, _, _ in COLUMNS if key != "mark")


def total_energy_j(summary: Any) -> float | None:
    values = [side.energy_j for side in (summary.a, summary.b) if side.energy_j is not None]
    return sum(values) if values else None


SWEEP_PREFIX = "sweep:"


def matches(summary: Any, needle: str) -> bool:
    """Case-insensitive substring match over id, task, models, status, sweep and verdict; a ``sweep:NAME`` word
    keeps only the sessions of that sweep (exactly)."""
    words = needle.split()
    sweeps = [w[len(SWEEP_PREFIX) :] for w in words if w.lower().startswith(SWEEP_PREFIX)]
    if sweeps and getattr(summary, "sweep_id", None) not in sweeps:
        return False
    needle = " ".join(w for w in words if not w.lower().startswith(SWEEP_PREFIX))
    if not needle:
        return True
    haystack = " ".join(
        str(v)
        for v in (
            summary.id,
            summary.task_id,
            summary.task_name,
            summary.model_a,
            summary.model_b,
            summary.status,
            getattr(summary, "sweep_id", None) or "",
            summary.verdict_sentence or "",
        )
    )
    return needle.lower() in haystack.lower()


class SessionsTable(DataTable[Text]):
    """Rows keyed by session id; :meth:`show` re-renders from summaries, filter, sort and marks."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, heading, _ in COLUMNS:
            self.add_column(heading, key=key)

    def show(
        self, summaries: Sequence[Any], *, needle: str, sort_key: str, reverse: bool, marked: Sequence[str]
    ) -> list[Any]:
        """Replace the rows; keeps the cursor on the same session where it is still listed. Returns the rows."""
        current = self.current_id()
        rows = [s for s in summaries if matches(s, needle)]
        key_fn = next(fn for key, _, fn in COLUMNS if key == sort_key)
        rows.sort(key=key_fn, reverse=reverse)
        self.clear()
        for key, heading, _ in COLUMNS:
            arrow = (" ▼" if reverse else " ▲") if key == sort_key else ""
            self.columns[key].label = Text(heading + arrow)  # type: ignore[index]
        for summary in rows:
            self.add_row(*self._cells(summary, summary.id in marked), key=summary.id)
        if current is not None and current in {s.id for s in rows}:
            self.move_cursor(row=self.get_row_index(current))
        return rows

    def current_id(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:  # no valid cursor (the table was just cleared)
            return None

    @staticmethod
    def _cells(summary: Any, marked: bool) -> list[Text]:
        energy = fmt.fmt_joules(total_energy_j(summary))
        if summary.power_quality == "estimated" and energy != fmt.DASH:
            energy += " est."
        status_style = {"completed": "", "interrupted": "italic", "failed": "bold", "running": "bold"}
        return [
            Text("●" if marked else " ", style="bold"),
            Text(fmt.timestamp(summary.started_unix_s)),
            literal_text(fmt.shorten(summary.task_id, 18), one_line=True),
            Text(summary.status, style=status_style.get(summary.status, "")),
            Text(f"{summary.a.items_done}/{summary.b.items_done} of {summary.n_items}"),
            Text(energy, justify="right"),
            literal_text(fmt.shorten(summary.model_a, 26), one_line=True),
            literal_text(fmt.shorten(summary.model_b, 26), one_line=True),
            literal_text(fmt.shorten(short_state(summary), 44), one_line=True),
        ]


def summary_text(summary: Any) -> Text:
    """The highlighted session in full: id, status and reason, the verdict sentence, each side's figures."""
    est = " est." if summary.power_quality == "estimated" else ""
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
            f" · {side.items_done}/{summary.n_items} items · mean score {fmt.percent(side.accuracy)}"
            f" · {fmt.fmt_joules(side.energy_j)}{est if side.energy_j is not None else ''}"
        )
        if side.failure:
            text.append_text(literal_text(f" · failed: {side.failure}"))
    return text
