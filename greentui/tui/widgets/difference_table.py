"""DifferenceTable: for each figure, how one model's run changed from the left session to the right one."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from greentui.core.verdict.difference import FigureDiff
from greentui.format import format_number
from greentui.tui.comparison import SessionComparison
from greentui.tui.safe_text import literal_text

BETTER_WORDS = {
    "left": "left is better",
    "right": "right is better",
    "neither": "no clear difference",
    "unknown": "",
}


def display_scale(diff: FigureDiff) -> tuple[float, str]:
    """Grams of CO2e per item are tiny: milligrams or micrograms read better than an exponent."""
    unit = diff.figure.unit
    if unit != "g":
        return 1.0, unit
    largest = max(abs(v) for v in (diff.left or 0.0, diff.right or 0.0))
    if largest and largest < 1e-4:
        return 1e6, "µg"
    if largest and largest < 0.1:
        return 1e3, "mg"
    return 1.0, unit


def _value(x: float | None, unit: str) -> str:
    if x is None:
        return "—"
    return f"{format_number(x)} {unit}"


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + format_number(x)


def difference_cell(diff: FigureDiff, estimated: bool) -> Text:
    """``57.6 → 44.8 J est.`` then ``-12.8 J (-15.0 … -10.1) · right is better``."""
    scale, unit = display_scale(diff)

    def scaled(x: float | None) -> float | None:
        return None if x is None else x * scale

    est = " est." if estimated and diff.figure.energy else ""
    text = literal_text(f"{_value(scaled(diff.left), unit)} → {_value(scaled(diff.right), unit)}{est}")
    if diff.diff is None:
        text.append("\nno difference: a figure is missing on one side", style="dim")
        return text
    text.append(f"\n{_signed(diff.diff * scale)} {unit}", style="bold")
    if diff.lo is not None and diff.hi is not None:
        text.append(f" ({_signed(diff.lo * scale)} … {_signed(diff.hi * scale)})")
    relative = diff.relative
    if relative is not None and diff.figure.energy:
        text.append(f" {_signed(100 * relative)}%")
    words = BETTER_WORDS[diff.better]
    if words:
        text.append(f" · {words}", style="bold" if diff.better in ("left", "right") else "dim")
    return text


class DifferenceTable(Static):
    """Rows: score, energy / item, J / token, J / correct answer, CO2e / item; a column per model."""

    table: Table | None = None  # the table shown (for tests and exports)

    def show(self, comparison: SessionComparison) -> None:
        table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
        table.add_column(Text("right − left (95% CI)"), style="dim", ratio=1)
        for side in comparison.sides:
            spec = side.left_spec if side.left_spec == side.right_spec else f"{side.left_spec} / {side.right_spec}"
            table.add_column(literal_text(f"model {side.left_side}: {spec}", style="bold", one_line=True), ratio=2)
        for row, first in enumerate(comparison.sides[0].result.figures if comparison.sides else ()):
            cells = [difference_cell(side.result.figures[row], comparison.estimated) for side in comparison.sides]
            table.add_row(literal_text(first.figure.name), *cells)
        self.table = table
        self.update(table)
