"""TradeoffChart: every stored run of a task, score against energy, with intervals and the Pareto frontier.

A passive view over :func:`greentui.tui.tradeoff.chart_points` drawn with textual-plotext: the frontier as a line,
each run's 95% intervals as thin crosses, measured runs as filled dots and estimated ones as hollow ones, the
runs of the filtered sweep in the accent colour and the session highlighted in the history in bold.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from greentui.tui.tradeoff import ChartPoint, Per

MAX_INTERVALS = 150  # more runs than this: the crosses would hide the points, so only the points are drawn
MARKERS = {"measured": "●", "estimated": "○"}
# plotext colour names; the frontier and the highlighted session stand out from the rest
# colour names both plotext and rich know (the screen's legend uses the same)
COLORS = {"other": "cyan", "sweep": "magenta", "current": "red", "frontier": "green", "interval": "gray"}
DRAW_ORDER = ("other", "sweep", "current")


class TradeoffChart(PlotextPlot):
    """Call :meth:`show` with the points; the chart redraws at its own size."""

    def show(self, points: list[ChartPoint], *, per: Per, metric: str, continuous: bool) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        scale = 100.0  # scores as percent (or points out of 100 for continuous metrics)
        unit = "" if continuous else " (%)"
        plt.ylabel(f"{metric}{unit} ↑ better")
        plt.xlabel(f"J per {'item' if per == 'item' else 'correct answer'} ← better")
        if len(points) <= MAX_INTERVALS:
            for point in points:
                x, y = point.energy_j, point.score
                color = COLORS["current"] if point.current else COLORS["interval"]
                plt.plot([x.lo, x.hi], [scale * y.value] * 2, marker="braille", color=color)
                plt.plot([x.value] * 2, [scale * y.lo, scale * y.hi], marker="braille", color=color)
        frontier = sorted((p for p in points if p.on_frontier), key=lambda p: p.energy_j.value)
        if len(frontier) > 1:
            plt.plot(
                [p.energy_j.value for p in frontier],
                [scale * p.score.value for p in frontier],
                marker="braille",
                color=COLORS["frontier"],
            )
        groups: dict[tuple[str, str], list[ChartPoint]] = {}
        for point in points:
            who = "current" if point.current else "sweep" if point.in_sweep else "other"
            quality = "estimated" if point.run.estimated else "measured"
            groups.setdefault((who, quality), []).append(point)
        # drawn last, so the highlighted session's dots sit on top (the legend is the screen's, under the chart)
        for (who, quality), members in sorted(groups.items(), key=lambda kv: DRAW_ORDER.index(kv[0][0])):
            plt.scatter(
                [p.energy_j.value for p in members],
                [scale * p.score.value for p in members],
                marker=MARKERS[quality],
                color=COLORS[who],
            )
        self.refresh()
