"""LanePanel: one model's lane on the live screen -- its current item, streaming output and metric tiles."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical

from greentui.core.records import Side
from greentui.tui.safe_text import literal_text
from greentui.tui.views import TILES, LaneLine, LaneView
from greentui.tui.widgets.metric_tile import MetricTile
from greentui.tui.widgets.streaming_output import StreamingOutput
from greentui.tui.widgets.text_line import TextLine

KEPT_TILES = 4  # the first four never fold
TILE_MIN_WIDTH = 16  # "0.00045 g est." and "75.0% (30–95)" fit whole
FIXED_ROWS = 4  # the item line, at least two rows of output, and the margin under it


@dataclass(frozen=True)
class TileLayout:
    """How the tiles fit a lane of a given inner size: columns, how many show, and whether notes show."""

    columns: int
    shown: int
    notes: bool

    @property
    def classes(self) -> tuple[str, ...]:
        return (f"-cols-{self.columns}", f"-show-{self.shown}", "-notes" if self.notes else "-no-notes")


def tile_layout(width: int, height: int) -> TileLayout:
    """The most tiles that fit (all eight, else six, else the four kept ones), with their notes where room is left.

    A tile is two rows (label, value) or three with its note; rows of noted tiles have a blank row between them.
    """
    columns = 4 if width >= 4 * TILE_MIN_WIDTH + 3 * 2 else 2
    space = height - FIXED_ROWS
    for shown, notes in ((8, True), (8, False), (6, False)):
        rows = -(-shown // columns)
        if (4 * rows - 1 if notes else 2 * rows) <= space:
            return TileLayout(columns, shown, notes)
    return TileLayout(columns, KEPT_TILES, False)


class LanePanel(Vertical):
    """A passive view of one model's lane; :meth:`show` redraws it from a :class:`LaneView`."""

    def __init__(self, side: Side, *, id: str | None = None) -> None:
        super().__init__(id=id, classes=f"lane -side-{side.lower()}")
        self.side = side
        self._title = Text()
        self._subtitle: str | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(classes="lane-item")
        yield StreamingOutput(classes="lane-output")
        with Grid(classes="lane-tiles"):
            for rank, (key, label) in enumerate(TILES, start=1):
                yield MetricTile(label, classes=f"tile-{key} -rank-{rank}")

    def on_mount(self) -> None:
        self.border_title = Text(f"{self.side}  ")
        # looked up once: show() runs ten times a second
        self._tiles = {key: self.query_one(f".tile-{key}", MetricTile) for key, _ in TILES}
        self._item = self.query_one(".lane-item", TextLine)
        self._output = self.query_one(StreamingOutput)
        self._layout: TileLayout | None = None

    def on_resize(self) -> None:
        """Fold tiles to the lane's size (the classes pick the grid and what shows, in app.tcss)."""
        size = self.content_size
        layout = tile_layout(size.width, size.height)
        if layout != self._layout:
            if self._layout is not None:
                self.remove_class(*self._layout.classes)
            self.add_class(*layout.classes)
            self._layout = layout

    def _tile(self, key: str) -> MetricTile:
        return self._tiles[key]

    def show(self, view: LaneView) -> None:
        """Redraw the lane (each part repaints only when it changed)."""
        title = Text.assemble((f" {self.side} ", "bold reverse"))
        title.append(" ")
        title.append_text(literal_text(view.title_spec, style="bold", one_line=True))
        if view.title_detail:
            title.append_text(literal_text(view.title_detail, one_line=True))
        if title != self._title:
            self._title = title
            self.border_title = title
        self.set_class(view.failed, "-failed")
        self.set_class(view.active, "-active")
        self._item.show(item_line(view.line))
        # one line under the lane: a served model whose server is elsewhere says why its energy is not measured;
        # otherwise, when the machine was busy, that
        subtitle = view.subtitle
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = literal_text(subtitle, one_line=True) if subtitle else None
        output = self._output
        output.text = view.output
        output.streaming = view.streaming
        for tile_view in view.tiles:
            tile = self._tile(tile_view.key)
            tile.label = tile_view.label
            tile.show(tile_view.value, tile_view.note, estimated=tile_view.estimated)


def item_line(line: LaneLine) -> Text:
    """The lane's item line as the lane draws it: prompts, answers and loader stages shown literally."""
    if line.kind == "generating":
        text = Text.assemble((line.text, "bold"), end="")
        text.append_text(literal_text(line.prompt, style="italic", one_line=True))
        return text
    if line.kind == "loading":
        return literal_text(line.text, one_line=True)
    if line.kind == "bold":
        return Text(line.text, style="bold", end="")
    if line.kind == "answered":
        text = Text(line.text, end="")
        text.append_text(literal_text(line.answer, style="bold", one_line=True))
        text.append("  expected ")
        text.append_text(literal_text(line.expected, style="bold", one_line=True))
        if line.tail:
            text.append(line.tail)
        return text
    return Text(line.text, end="")
