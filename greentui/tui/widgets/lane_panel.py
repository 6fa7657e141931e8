"""LanePanel: one model's lane on the live screen -- its current item, streaming output and metric tiles."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical

from greentui.core.records import Side
from greentui.core.run.tally import SideTally, Tally
from greentui.core.verdict.compute import format_params
from greentui.core.verdict.model import MIN_INTERVAL_ITEMS
from greentui.core.verdict.text import too_few_for_interval
from greentui.tui import formatting as fmt
from greentui.tui.safe_text import literal_text
from greentui.tui.widgets.metric_tile import MetricTile
from greentui.tui.widgets.streaming_output import StreamingOutput
from greentui.tui.widgets.text_line import TextLine

# (key, label), most important first: power, energy, J/token and the score (with its interval and the est. mark)
# stay at every size; TTFT and tokens/s fold away first when the lane is small, then CO2e and J/correct.
TILES = (
    ("power", "power now"),
    ("energy", "energy so far"),
    ("jpt", "J / token"),
    ("score", "accuracy"),  # relabelled with the task's metric (ROUGE-L F1, pass@1, ...)
    ("jpc", "J / correct"),
    ("co2", "CO2e"),
    ("speed", "tokens/s"),
    ("ttft", "TTFT p50"),
)
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


def metric_name(tally: Tally) -> str:
    """The task's metric as its task.toml names it (``ROUGE-L F1``, ``pass@1``), else ``accuracy``."""
    started = tally.started
    task = started.settings.get("task_info", {}) if started is not None and isinstance(started.settings, dict) else {}
    return str(task.get("metric") or "accuracy")


def is_estimated(tally: Tally) -> bool:
    """True when the session's power figures come from an estimate rather than a sensor."""
    return tally.started is not None and tally.started.power_quality == "estimated"


def power_source_label(tally: Tally) -> str:
    """The sources behind the latest power readings, e.g. ``estimate`` or ``nvml+rapl``."""
    sources = sorted({sample.source for sample in tally.latest_power.values()})
    return "+".join(sources)


def lane_busy_line(lane: SideTally) -> str | None:
    """The lane's share of the busy line: how many of its measurements other programs disturbed."""
    if not lane.contended_items:
        return None
    share = lane.other_cpu_share
    what = "" if share is None else f": {100 * share:.0f} % of CPU time to other programs"
    return f" machine busy in {lane.contended_items} of {lane.items_done} measurements{what} "


class LanePanel(Vertical):
    """A passive view of one side of a :class:`Tally`; :meth:`show` redraws it from the tally."""

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

    def show(self, tally: Tally, *, ended: bool = False) -> None:
        """Redraw the lane from the tally's figures for this side; ``ended``: no more events will come (a replay
        of a session that crashed ends without its SessionFinished, its item in flight lost)."""
        lane = tally.sides[self.side]
        title = Text.assemble((f" {self.side} ", "bold reverse"))
        title.append(" ")
        title.append_text(literal_text(lane.spec or lane.display_name or "—", style="bold", one_line=True))
        if lane.loaded is not None:
            loaded = lane.loaded
            title.append_text(
                literal_text(
                    f" · {lane.label} · {format_params(loaded.params_total) if loaded.params_total else '? params'}"
                    f" · {loaded.device}",
                    one_line=True,
                )
            )
        if title != self._title:
            self._title = title
            self.border_title = title
        # one line under the lane: a served model whose server is elsewhere says why its energy is not measured;
        # otherwise, when the machine was busy, that
        subtitle = lane.energy_note or lane_busy_line(lane)
        if subtitle != self._subtitle:
            self._subtitle = subtitle
            self.border_subtitle = literal_text(subtitle, one_line=True) if subtitle else None
        self.set_class(lane.state == "failed", "-failed")
        self.set_class(tally.active_side == self.side, "-active")
        cut_short = ended and tally.finished is None and lane.state not in ("failed", "done")
        self._item.show(self._stopped_line(tally, lane) if cut_short else self._status_line(tally, lane))
        output = self._output
        output.text = (lane.failed_reason or "") if lane.state == "failed" else lane.current_output
        output.streaming = lane.state == "generating" and not cut_short
        self._show_tiles(tally, lane)

    @staticmethod
    def _stopped_line(tally: Tally, lane: SideTally) -> Text:
        lost = " (the item in flight was not kept)" if lane.state == "generating" else ""
        return Text(f"stopped at {lane.items_done}/{tally.n_items} items{lost}", end="")

    def _status_line(self, tally: Tally, lane: SideTally) -> Text:
        n_items = tally.n_items
        if lane.state == "generating":
            line = Text.assemble((f"item {lane.items_done + 1}/{n_items}  ", "bold"), end="")
            line.append_text(literal_text(fmt.shorten(lane.current_prompt, 200), style="italic", one_line=True))
            return line
        if lane.state == "loading":
            fraction = "" if lane.load_fraction is None else f" {lane.load_fraction:.0%}"
            return literal_text(f"loading: {lane.load_stage}{fraction}", one_line=True)
        if lane.state == "failed":
            return Text(f"failed after {lane.items_done} items; its finished items are kept", style="bold", end="")
        if lane.state == "done":
            return Text(f"done: {lane.items_done}/{n_items} items", end="")
        if lane.items:
            last = lane.items[-1]
            mark = f"score {last.score:.2f}" if tally.continuous else ("✓" if last.correct else "✗")
            line = Text(f"item {lane.items_done}/{n_items} {mark}  answer ", end="")
            line.append_text(literal_text(fmt.shorten(last.answer or "—", 40), style="bold", one_line=True))
            line.append("  expected ")
            line.append_text(literal_text(fmt.shorten(last.reference, 40), style="bold", one_line=True))
            other = "B" if self.side == "A" else "A"
            if tally.active_side == other:
                line.append(f"  · waiting ({other} is measuring)")
            return line
        if lane.state == "ready":
            return Text("loaded; waiting for the first item", end="")
        return Text("waiting", end="")

    def _show_tiles(self, tally: Tally, lane: SideTally) -> None:
        est = is_estimated(tally)
        active = tally.active_side == self.side
        self._tile("power").show(
            fmt.power(tally.power_now_w) if active else fmt.DASH,
            power_source_label(tally) if active else "idle",
            estimated=est,
        )
        elsewhere = lane.energy_note is not None and lane.energy_j is None  # "not measured here", never 0
        if elsewhere:
            self._tile("energy").show("not measured", "here (see below)")
        else:
            self._tile("energy").show(fmt.fmt_joules(lane.energy_j), fmt.fmt_wh(lane.energy_j), estimated=est)
        now_rate = None
        if active and lane.current_started_mono_s is not None and lane.last_token_mono_s is not None:
            elapsed = lane.last_token_mono_s - lane.current_started_mono_s
            now_rate = lane.current_tokens / elapsed if elapsed > 0 else None
        self._tile("speed").show(fmt.fmt_num(lane.tokens_per_s, 1), f"now {fmt.fmt_num(now_rate, 1)}" if active else "")
        self._tile("ttft").show(fmt.fmt_seconds(lane.ttft_p50_s), "median")
        counted = lane.tokens_counted_by
        self._tile("jpt").show(
            fmt.DASH if elsewhere else fmt.fmt_num(lane.joules_per_token, 3),
            "" if counted in ("", "generated ids", "reported by the server") else f"tokens {counted}",
            estimated=est,
        )
        score_tile = self._tile("score")
        score_tile.label = metric_name(tally)
        score = lane.score
        if score is None or score.mean is None:
            score_tile.show(fmt.DASH)
        else:
            unit = "" if tally.continuous else "%"
            too_few = too_few_for_interval(score.n)
            ci = (
                f" ({100 * score.lo:.0f}–{100 * score.hi:.0f})"
                if not too_few and score.lo is not None and score.hi is not None
                else ""
            )
            if tally.continuous:  # scores in [0, 1]: nothing is "correct", the note counts the items
                note = f"{score.n} items"
            else:
                note = f"{lane.figures.correct}/{score.n} correct"
            if too_few:  # the tile is narrow: the short form of "too few for an interval"
                note += f" · n < {MIN_INTERVAL_ITEMS}: no CI"
            score_tile.show(f"{100 * score.mean:.1f}{unit}{ci}", note)
        jpc = self._tile("jpc")
        jpc.label = "J / correct-eq." if tally.continuous else "J / correct"
        jpc.show(
            fmt.fmt_num(lane.joules_per_correct, 2), "per unit of score" if tally.continuous else "", estimated=est
        )
        grid = tally.grid
        self._tile("co2").show(
            fmt.grams(tally.co2_g(self.side)), f"grid {grid.g_per_kwh:.0f} g/kWh" if grid else "", estimated=est
        )
