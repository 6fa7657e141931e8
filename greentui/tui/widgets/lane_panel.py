"""LanePanel: one model's lane on the live screen -- its current item, streaming output and metric tiles."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical

from greentui.core.records import Side
from greentui.core.run.tally import SideTally, Tally
from greentui.core.verdict.compute import format_params
from greentui.tui import formatting as fmt
from greentui.tui.safe_text import literal_text
from greentui.tui.widgets.metric_tile import MetricTile
from greentui.tui.widgets.streaming_output import StreamingOutput
from greentui.tui.widgets.text_line import TextLine

TILES = (
    ("power", "power now"),
    ("energy", "energy so far"),
    ("speed", "tokens/s"),
    ("ttft", "TTFT p50"),
    ("jpt", "J / token"),
    ("accuracy", "accuracy"),
    ("jpc", "J / correct"),
    ("co2", "CO2e"),
)


def is_estimated(tally: Tally) -> bool:
    """True when the session's power figures come from an estimate rather than a sensor."""
    return tally.started is not None and tally.started.power_quality == "estimated"


def power_source_label(tally: Tally) -> str:
    """The sources behind the latest power readings, e.g. ``estimate`` or ``nvml+rapl``."""
    sources = sorted({sample.source for sample in tally.latest_power.values()})
    return "+".join(sources)


class LanePanel(Vertical):
    """A passive view of one side of a :class:`Tally`; :meth:`show` redraws it from the tally."""

    def __init__(self, side: Side, *, id: str | None = None) -> None:
        super().__init__(id=id, classes=f"lane -side-{side.lower()}")
        self.side = side
        self._title = Text()
        self._energy_note: str | None = None

    def compose(self) -> ComposeResult:
        yield TextLine(classes="lane-item")
        yield StreamingOutput(classes="lane-output")
        with Grid(classes="lane-tiles"):
            for key, label in TILES:
                yield MetricTile(label, classes=f"tile-{key}")

    def on_mount(self) -> None:
        self.border_title = Text(f"{self.side}  ")
        # looked up once: show() runs ten times a second
        self._tiles = {key: self.query_one(f".tile-{key}", MetricTile) for key, _ in TILES}
        self._item = self.query_one(".lane-item", TextLine)
        self._output = self.query_one(StreamingOutput)

    def _tile(self, key: str) -> MetricTile:
        return self._tiles[key]

    def show(self, tally: Tally) -> None:
        """Redraw the lane from the tally's figures for this side."""
        lane = tally.sides[self.side]
        title = Text.assemble((f" {self.side} ", "bold reverse"))
        title.append(" ")
        title.append_text(literal_text(lane.spec or lane.display_name or "—", style="bold", one_line=True))
        if lane.loaded is not None:
            loaded = lane.loaded
            title.append_text(
                literal_text(
                    f" · {lane.display_name} · {format_params(loaded.params_total) if loaded.params_total else '? params'}"
                    f" · {loaded.device}",
                    one_line=True,
                )
            )
        if title != self._title:
            self._title = title
            self.border_title = title
        # a served model whose server is elsewhere: the one line saying why its energy is not measured
        if lane.energy_note != self._energy_note:
            self._energy_note = lane.energy_note
            self.border_subtitle = literal_text(lane.energy_note, one_line=True) if lane.energy_note else None
        self.set_class(lane.state == "failed", "-failed")
        self.set_class(tally.active_side == self.side, "-active")
        self._item.show(self._status_line(tally, lane))
        output = self._output
        output.text = (lane.failed_reason or "") if lane.state == "failed" else lane.current_output
        output.streaming = lane.state == "generating"
        self._show_tiles(tally, lane)

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
            mark = "✓" if last.correct else ("~" if last.score > 0 else "✗")
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
        score = lane.score
        if score is None or score.mean is None:
            self._tile("accuracy").show(fmt.DASH)
        else:
            ci = (
                f"{100 * score.lo:.0f}–{100 * score.hi:.0f}% · "
                if score.lo is not None and score.hi is not None
                else ""
            )
            correct = sum(1 for item in lane.items if item.correct)
            self._tile("accuracy").show(fmt.percent(score.mean), f"{ci}{correct}/{score.n}")
        self._tile("jpc").show(fmt.fmt_num(lane.joules_per_correct, 2), estimated=est)
        grid = tally.grid
        self._tile("co2").show(
            fmt.grams(tally.co2_g(self.side)), f"grid {grid.g_per_kwh:.0f} g/kWh" if grid else "", estimated=est
        )
