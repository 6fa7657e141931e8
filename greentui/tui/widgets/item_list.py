"""ItemList: every scored item of a session, and the highlighted one in full: why it scored what it did (the
scorer's detail), what its energy rests on (method, scope, contention, GPU temperature)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from greentui.core.records import ItemScored
from greentui.format import DASH, format_cpu_share, format_item_score, format_joules, with_est
from greentui.tui.formatting import shorten
from greentui.tui.safe_text import literal_text

COLUMNS = ("side", "item", "score", "answer", "expected", "energy", "busy", "why")


def item_detail(item: ItemScored) -> Text:
    """One item in full: score and the scorer's reason, the energy figure and what it rests on."""
    text = Text.assemble((f"{item.side} {item.item_id}", "bold"), f" · score {format_item_score(item.score)}", end="")
    text.append_text(literal_text(f" · {item.score_detail or 'no detail recorded'}", one_line=True))
    energy = [f"energy {format_joules(item.joules)} ({item.energy_quality}, {item.energy_source}"]
    if item.measurement_method:
        energy.append(f", {item.measurement_method}")
    if item.energy_scope:
        energy.append(f", {item.energy_scope}")
    energy.append(")")
    if item.joules_machine is not None:
        energy.append(f"; whole machine {format_joules(item.joules_machine)}")
    if item.energy_flagged:
        energy.append("; window too short to trust alone")
    text.append("\n" + "".join(energy))
    busy = []
    if item.contention_share is not None:
        busy.append(f"{format_cpu_share(item.contention_share)} went to other programs")
    if item.gpu_other_processes:
        busy.append(f"{item.gpu_other_processes} other process(es) on the GPU")
    if item.gpu_temperature_c is not None:
        busy.append(f"GPU at {item.gpu_temperature_c:.0f} °C")
    if busy:
        text.append(" · " + ", ".join(busy) + (" (contended)" if item.contended else ""))
    text.append("\nanswer ")
    text.append_text(literal_text(shorten(item.answer or DASH, 200), style="bold", one_line=True))
    text.append("  expected ")
    text.append_text(literal_text(shorten(item.reference, 200), style="bold", one_line=True))
    return text


class ItemList(Vertical):
    """A table of items (A, then B, in task order) and the highlighted item's detail beneath it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._items: list[ItemScored] = []

    def compose(self) -> ComposeResult:
        yield DataTable[Text](id="item-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="item-detail")

    def on_mount(self) -> None:
        self.border_title = "items · the highlighted one in full"
        table = self.query_one("#item-table", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)

    def show(self, items: Sequence[ItemScored], *, estimated: bool) -> None:
        self._items = sorted(items, key=lambda i: (i.side, i.index))
        table: DataTable[Text] = self.query_one("#item-table", DataTable)
        table.clear()
        for number, item in enumerate(self._items):
            table.add_row(
                Text(item.side),
                literal_text(shorten(item.item_id, 16), one_line=True),
                Text(format_item_score(item.score)),
                literal_text(shorten(item.answer or DASH, 24), one_line=True),
                literal_text(shorten(item.reference, 24), one_line=True),
                Text(with_est(format_joules(item.joules), estimated)),
                Text("busy" if item.contended else ""),
                literal_text(shorten(item.score_detail or DASH, 60), one_line=True),
                key=str(number),
            )
        self._show_detail(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(int(event.row_key.value or 0))

    def _show_detail(self, number: int) -> None:
        detail = self.query_one("#item-detail", Static)
        if not 0 <= number < len(self._items):
            detail.update("no scored items")
            return
        detail.update(item_detail(self._items[number]))
