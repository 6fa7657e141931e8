"""PowerChart: total device power over time as block-character bars, coloured by which model was active.

Drawn with ``▁▂▃▄▅▆▇█`` (eighths of a row), the idle baseline as a dashed line behind the bars, a y axis in watts
and the time span on the x axis. Colours come from component classes styled in ``app.tcss`` (theme variables).
"""

from __future__ import annotations

import math
import time
from itertools import groupby

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from greentui.core.records import SessionStarted
from greentui.format import format_power
from greentui.tui.formatting import shorten
from greentui.tui.power_trace import Activity, PowerTrace
from greentui.tui.safe_text import literal_text

_BLOCKS = " ▁▂▃▄▅▆▇█"
_AXIS_WIDTH = 7  # "1250 ┤ "
REDRAW_S = 0.5  # the chart follows the trace at 2 Hz; the lanes and tiles update at the bridge's 10 Hz


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= ``value`` (a y-axis top that reads well)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = step * 10.0**exponent
        if top >= value * 0.999999:
            return top
    return 10.0 ** (exponent + 1)


class PowerChart(Widget):
    """A passive view of a :class:`PowerTrace`; call :meth:`refresh_trace` after feeding the trace."""

    COMPONENT_CLASSES = {
        "power-chart--a",
        "power-chart--b",
        "power-chart--both",
        "power-chart--idle",
        "power-chart--baseline",
        "power-chart--axis",
    }

    window_s: reactive[float | None] = reactive(60.0)
    """Seconds shown, ending at the latest sample; None shows the whole session."""

    def __init__(
        self,
        trace: PowerTrace,
        *,
        estimated: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.trace = trace
        self.estimated = estimated
        self.labels: dict[str, str] = {"A": "A", "B": "B"}
        self._drawn_version = -1
        self._drawn_at = float("-inf")

    def on_mount(self) -> None:
        self._update_titles()

    def describe_session(self, started: SessionStarted) -> None:
        """Take the legend's model names and the figures' quality (measured or estimated) from the session."""
        self.labels = {"A": started.model_a, "B": started.model_b}
        self.estimated = started.power_quality == "estimated"
        self._update_titles()

    def refresh_trace(self) -> None:
        """Redraw if the trace changed, the chart is visible, and the last draw is at least ``REDRAW_S`` old.

        A column spans about half a second of a one-minute window, so redrawing at every sample (20 Hz) would
        cost a full chart render per frame for no visible gain.
        """
        now = time.monotonic()
        if self.trace.version != self._drawn_version and self.is_on_screen and now - self._drawn_at >= REDRAW_S:
            self._drawn_at = now
            self.refresh()
            self._update_titles()

    def watch_window_s(self) -> None:
        self._update_titles()
        self.refresh()

    def _update_titles(self) -> None:
        span = "whole session" if self.window_s is None else f"last {self.window_s:.0f} s"
        quality = "estimated" if self.estimated else "measured"
        self.border_title = f"power (W) · {quality} · {span}"
        legend = Text()
        for key, label in (("a", self.labels["A"]), ("b", self.labels["B"])):
            legend.append(" ■ ", self.get_component_rich_style(f"power-chart--{key}", partial=True))
            legend.append_text(literal_text(shorten(label, 28), one_line=True))
        legend.append(" ■ ", self.get_component_rich_style("power-chart--idle", partial=True))
        legend.append("no model ")
        legend.append(" ╌╌ ", self.get_component_rich_style("power-chart--baseline", partial=True))
        legend.append(f"idle baseline {format_power(self.trace.baseline_w)} ")
        self.border_subtitle = legend

    def _span(self) -> tuple[float, float]:
        end = self.trace.duration_s
        if self.window_s is None:
            return 0.0, max(end, 1.0)
        return max(end - self.window_s, 0.0), max(end, self.window_s)

    def render(self) -> Text:
        self._drawn_version = self.trace.version
        width, height = self.content_size.width, self.content_size.height
        plot_width, plot_rows = width - _AXIS_WIDTH, height - 1
        if plot_width < 4 or plot_rows < 1:
            return Text("")
        start_s, end_s = self._span()
        columns = self.trace.columns(plot_width, start_s, end_s)
        baseline = self.trace.baseline_w
        peak = max([c.power_w for c in columns if c.power_w is not None] + [baseline or 0.0, 1.0])
        top = nice_ceiling(peak * 1.05)
        styles: dict[Activity, Style] = {
            "A": self.get_component_rich_style("power-chart--a", partial=True),
            "B": self.get_component_rich_style("power-chart--b", partial=True),
            "both": self.get_component_rich_style("power-chart--both", partial=True),
            "idle": self.get_component_rich_style("power-chart--idle", partial=True),
        }
        axis = self.get_component_rich_style("power-chart--axis", partial=True)
        dashed = self.get_component_rich_style("power-chart--baseline", partial=True)
        levels = [None if c.power_w is None else c.power_w / top * plot_rows * 8 for c in columns]
        baseline_row = None
        if baseline is not None:
            baseline_row = plot_rows - 1 - min(int(baseline / top * plot_rows), plot_rows - 1)
        out = Text(no_wrap=True, overflow="crop", end="")
        for row in range(plot_rows):
            label = ""
            if row == 0 or (plot_rows >= 4 and 2 * (plot_rows - row) == plot_rows):
                label = f"{top * (plot_rows - row) / plot_rows:.4g}"  # the value at the row's top edge
            out.append(f"{label[: _AXIS_WIDTH - 2]:>{_AXIS_WIDTH - 2}} ┤", axis)
            row_floor = (plot_rows - 1 - row) * 8
            cells: list[tuple[str, Style | None]] = []
            for level, column in zip(levels, columns):
                fill = 0 if level is None else int(min(max(level - row_floor, 0), 8))
                if fill == 0 and row == plot_rows - 1 and level is not None and level > 0:
                    fill = 1  # a non-zero reading never disappears into the axis
                if fill:
                    cells.append((_BLOCKS[fill], styles[column.activity]))
                elif row == baseline_row:
                    cells.append(("╌", dashed))
                else:
                    cells.append((" ", None))
            for style, run in groupby(cells, key=lambda cell: cell[1]):  # one span per run, not per cell
                out.append("".join(char for char, _ in run), style)
            out.append("\n")
        left, right = f"{start_s:.0f} s", f"{end_s:.0f} s"
        rule = "─" * max(plot_width - len(left) - len(right) - 2, 0)
        out.append(f"{'0':>{_AXIS_WIDTH - 2}} ┼{left} {rule} {right}", axis)
        return out
