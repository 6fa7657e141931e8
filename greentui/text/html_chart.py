"""Inline SVG charts for the HTML report: the power trace coloured by the model at work, and the figures with
their 95% intervals. Plain SVG text, no script, no external resource: the report opens offline in any browser.

The power trace is drawn from the stored samples and the items' energy windows, as the live screen's chart is:
samples are averaged per device into at most ``max_bins`` time bins (a long session costs the same to draw as a
short one), the devices' means are added, and each bin is coloured by which model was inside an item window at
its midpoint. Each model's windows are shaded behind the line in a light tint of its colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from greentui.core.records import ItemScored, PowerSample, Side
from greentui.format import format_fixed, format_power
from greentui.untrusted import escape_controls

# The models' colours (solid: lines, marks, legend) and tints (their item windows behind the trace). Chosen apart
# from every other colour of the page, so a test can find each one in a rendered PNG.
COLOURS: dict[str, str] = {"A": "#1f5fbf", "B": "#d9730d", "both": "#7a3fb0", "idle": "#6b7280"}
TINTS: dict[str, str] = {"A": "#dce8f8", "B": "#fbe6d1"}
INK, GRID, MUTED = "#1f2328", "#e3e6ea", "#59636e"


def svg_text(text: object) -> str:
    """Untrusted text for an SVG or HTML text node or attribute: control and bidi characters as visible escapes,
    then ``& < > " '`` as entities."""
    return escape(escape_controls(str(text), keep=""), quote=True)


@dataclass(frozen=True)
class TraceBin:
    t_s: float  # bin midpoint, seconds from the session start
    power_w: float  # sum over devices of each device's mean power in the bin
    activity: str  # "A", "B", "both" or "idle"


def _nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


# Round steps for a time axis, in seconds: whole seconds, then whole minutes, then whole hours.
_TIME_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _time_step(duration_s: float, ticks: int = 8) -> float:
    """The smallest round step that puts at most about ``ticks`` ticks on ``duration_s`` (sub-second: decimal)."""
    raw = duration_s / ticks
    if raw < 1:
        return _nice_step(duration_s, ticks)
    return float(next((step for step in _TIME_STEPS if step >= raw), math.ceil(raw / 86400) * 86400))


def _time_label(seconds: float, step: float) -> str:
    """``30 s``, ``4 min``, ``2 h`` or ``1 h 30 min``: the unit of the step, whole numbers where the step is."""
    if step < 60:
        return f"{seconds:g} s"
    minutes = round(seconds / 60)
    if step < 3600 or minutes % 60:
        return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 60} h"


def trace_bins(
    samples: Iterable[PowerSample], items: Sequence[ItemScored], *, origin_mono_s: float, max_bins: int = 600
) -> tuple[list[TraceBin], float]:
    """(bins in time order, duration in seconds). Bins without any sample are left out (a gap in the line); a
    device missing from one bin counts with its last mean, so a slow second sensor does not make the sum dip."""
    points = [(s.t_mono_s - origin_mono_s, s.device, s.power_w) for s in samples if s.power_w is not None]
    ends = [p[0] for p in points] + [i.ended_mono_s - origin_mono_s for i in items]
    duration = max([0.0, *ends])
    if not points or duration <= 0:
        return [], duration
    bin_s = max(duration / max_bins, 1e-3)
    sums: dict[int, dict[str, list[float]]] = {}
    for t, device, power in points:
        slot = sums.setdefault(min(int(max(t, 0.0) / bin_s), max_bins - 1), {}).setdefault(device, [0.0, 0.0])
        slot[0] += power
        slot[1] += 1
    windows = [(i.side, i.started_mono_s - origin_mono_s, i.ended_mono_s - origin_mono_s) for i in items]
    windows.sort(key=lambda w: w[1])
    last: dict[str, float] = {}
    bins = []
    for index in sorted(sums):
        for device, (total, count) in sums[index].items():
            last[device] = total / count
        mid = (index + 0.5) * bin_s
        active = {side for side, start, end in windows if start <= mid <= end}
        activity = "both" if len(active) > 1 else (next(iter(active)) if active else "idle")
        bins.append(TraceBin(mid, sum(last.values()), activity))
    return bins, duration


def power_trace_svg(
    samples: Iterable[PowerSample],
    items: Sequence[ItemScored],
    *,
    origin_mono_s: float,
    labels: Mapping[Side, str],
    idle_power_w: float | None = None,
    estimated: bool = False,
    width: int = 960,
    plot_height: int = 210,
) -> str:
    """The session's power over time as an SVG element (``<svg>...</svg>``), or a short note when no sample
    carries a power value. The legend sits under the time axis, on as many rows as the labels need."""
    bins, duration = trace_bins(samples, items, origin_mono_s=origin_mono_s)
    if not bins:
        return '<p class="note">No power samples were stored for this session, so there is no trace to draw.</p>'
    left, right, top = 56, 16, 26
    plot_w, plot_h = width - left - right, plot_height
    legend, legend_rows = _legend(labels, idle_power_w, {b.activity for b in bins}, left, top + plot_h + 44, plot_w)
    height = top + plot_h + 44 + 22 * legend_rows
    y_max = max(max(b.power_w for b in bins), idle_power_w or 0.0) * 1.08 or 1.0
    y_step = _nice_step(y_max)
    y_max = math.ceil(y_max / y_step) * y_step

    def x(t: float) -> float:
        return left + plot_w * min(max(t / duration, 0.0), 1.0)

    def y(w: float) -> float:
        return top + plot_h * (1 - w / y_max)

    parts = [
        f'<svg class="trace" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="power over time, coloured by the model at work" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{left - 44}" y="{top - 10}" class="axis">power (W{", estimated" if estimated else ""})</text>',
    ]
    for item in items:  # each item's energy window, in its model's tint
        x0, x1 = x(item.started_mono_s - origin_mono_s), x(item.ended_mono_s - origin_mono_s)
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.0):.1f}" height="{plot_h}" '
            f'fill="{TINTS[item.side]}" stroke="#ffffff" stroke-width="1"/>'
        )
    tick = 0.0
    while tick <= y_max + 1e-9:  # horizontal grid and power labels
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">{tick:g}</text>')
        tick += y_step
    t_step = _time_step(duration)
    t = 0.0
    while t <= duration + 1e-9:
        parts.append(
            f'<text x="{x(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">'
            f"{_time_label(t, t_step)}</text>"
        )
        t += t_step
    if idle_power_w is not None:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(idle_power_w):.1f}" y2="{y(idle_power_w):.1f}" '
            f'stroke="{COLOURS["idle"]}" stroke-dasharray="6 4"/>'
        )
    for activity, points in _runs(bins, x, y):  # the line, one colour per stretch of the same activity
        parts.append(
            f'<polyline fill="none" stroke="{COLOURS[activity]}" stroke-width="2.5" stroke-linejoin="round" '
            f'points="{points}"/>'
        )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="{MUTED}" stroke-width="1"/>'
    )
    parts.append(legend)
    parts.append("</svg>")
    return "\n".join(parts)


def _runs(bins: Sequence[TraceBin], x: Callable[[float], float], y: Callable[[float], float]) -> list[tuple[str, str]]:
    """Consecutive bins with the same activity as SVG polyline points; each stretch starts at the previous
    stretch's last point so the line stays unbroken."""
    runs: list[tuple[str, list[str]]] = []
    previous: str | None = None
    for b in bins:
        point = f"{x(b.t_s):.1f},{y(b.power_w):.1f}"
        if runs and runs[-1][0] == b.activity:
            runs[-1][1].append(point)
        else:
            runs.append((b.activity, [previous, point] if previous else [point]))
        previous = point
    return [(activity, " ".join(points)) for activity, points in runs]


def _legend(
    labels: Mapping[Side, str], idle_power_w: float | None, activities: set[str], left: float, y: float, width: float
) -> tuple[str, int]:
    """(the legend, its number of rows): each model (its tint and colour), both at once and between items when the
    trace has them, and the idle baseline; left-aligned from ``left``, a new row when one is full."""
    sides: tuple[Side, ...] = ("A", "B")
    # (swatch fill or None for a line, stroke colour, dash, text)
    entries: list[tuple[str | None, str, str, str]] = []
    for side in sides:
        text = labels.get(side, side)
        entries.append((TINTS[side], COLOURS[side], "", text if len(text) <= 60 else text[:59] + "…"))
    if "both" in activities:
        entries.append((None, COLOURS["both"], "", "both at once"))
    if "idle" in activities:
        entries.append((None, COLOURS["idle"], "", "no item running"))
    if idle_power_w is not None:
        entries.append(
            (None, COLOURS["idle"], ' stroke-dasharray="6 4"', f"idle baseline {format_power(idle_power_w)}")
        )
    parts, cursor, row = [], left, 0
    for fill, colour, dash, text in entries:
        entry_w = 7 * len(text) + 48  # about 7 px a character at the legend's 12 px
        if cursor > left and cursor + entry_w > left + width:
            cursor, row = left, row + 1
        base = y + 22 * row
        if fill is not None:
            parts.append(
                f'<rect x="{cursor:.0f}" y="{base - 10:.0f}" width="22" height="12" fill="{fill}" '
                f'stroke="{colour}" stroke-width="3"/>'
            )
        else:
            parts.append(
                f'<line x1="{cursor:.0f}" x2="{cursor + 22:.0f}" y1="{base - 4:.0f}" y2="{base - 4:.0f}" '
                f'stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
        parts.append(f'<text x="{cursor + 28:.0f}" y="{base:.0f}" class="legend">{svg_text(text)}</text>')
        cursor += entry_w
    return "".join(parts), row + 1


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: a point estimate and its 95% interval (either end may be unknown)."""

    label: str
    value: float | None
    lo: float | None
    hi: float | None
    colour: str


# characters of a row label that fit left of an interval chart (250 px less the gap, at the row font's ~7.5 px)
LABEL_CHARS = 31


def _fit(label: str, chars: int) -> str:
    """``label`` shortened in the middle to ``chars`` characters, so both its start (the side) and its end (what
    tells two variants of one model apart, such as "+ lora-arithmetic") stay readable."""
    if len(label) <= chars:
        return label
    head = (chars - 1) // 2
    return f"{label[:head]}…{label[len(label) - (chars - 1 - head) :]}"


def interval_svg(
    title: str,
    rows: Sequence[Interval],
    *,
    low: float,
    high: float,
    reference: float | None = None,
    unit: str = "",
    digits: int = 1,
    width: int = 960,
) -> str:
    """A small forest plot: each row a dot at its value and a bar over its interval, on one axis from ``low`` to
    ``high``; ``reference`` (0 for a difference, 1 for a ratio) is drawn as a dashed line; the figures are written
    beside the plot with ``digits`` decimals."""
    shown = [r for r in rows if r.value is not None]
    if not shown:
        return ""
    left, right, row_h, top = 250, 200, 30, 30
    height = top + row_h * len(shown) + 30
    plot_w = width - left - right
    span = (high - low) or 1.0

    def x(v: float) -> float:
        return left + plot_w * min(max((v - low) / span, 0.0), 1.0)

    parts = [
        f'<svg class="intervals" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{svg_text(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="16" class="axis">{svg_text(title)}</text>',
    ]
    step = _nice_step(span, 6)
    tick = math.ceil(low / step) * step
    while tick <= high + 1e-9:
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{height - 26}" stroke="{GRID}"/>'
            f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle" class="tick">{tick:g}{unit}</text>'
        )
        tick += step
    if reference is not None:
        parts.append(
            f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{top - 6}" y2="{height - 26}" '
            f'stroke="{INK}" stroke-dasharray="4 3"/>'
        )
    for n, row in enumerate(shown):
        cy = top + row_h * n + row_h / 2
        assert row.value is not None
        label = _fit(row.label, LABEL_CHARS)
        hover = f"<title>{svg_text(row.label)}</title>" if label != row.label else ""
        parts.append(
            f'<text x="{left - 12}" y="{cy + 4:.1f}" text-anchor="end" class="row">{hover}{svg_text(label)}</text>'
        )
        if row.lo is not None and row.hi is not None:
            parts.append(
                f'<line x1="{x(row.lo):.1f}" x2="{x(row.hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                f'stroke="{row.colour}" stroke-width="6" stroke-linecap="round" opacity="0.45"/>'
            )
        parts.append(f'<circle cx="{x(row.value):.1f}" cy="{cy:.1f}" r="6.5" fill="{row.colour}"/>')
        figures = f"{format_fixed(row.value, digits)}{unit}" + (
            f"  ({format_fixed(row.lo, digits)} to {format_fixed(row.hi, digits)})"
            if row.lo is not None and row.hi is not None
            else ""
        )
        parts.append(f'<text x="{left + plot_w + 16}" y="{cy + 4:.1f}" class="row">{figures}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
