"""A Textual SVG screenshot as plain text, one terminal row per line (for reviewing snapshots and for tests).

python tests/snapshots/svg_text.py tests/snapshots/__snapshots__/test_snapshots/NAME.svg
"""

from __future__ import annotations

import html
import re
import sys
from collections import defaultdict
from pathlib import Path

_TEXT = re.compile(r'<text[^>]*x="([\d.]+)"[^>]*y="([\d.]+)"[^>]*>(.*?)</text>')
_CELL_WIDTH = 12.2  # Textual's SVG export: one terminal cell is 12.2 units wide


def svg_rows(svg: str) -> list[str]:
    """The screen's rows, top to bottom (the window title, drawn above the first row, is left out)."""
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for match in _TEXT.finditer(svg):
        text = html.unescape(match.group(3)).replace("\xa0", " ")  # Textual writes spaces as no-break spaces
        rows[float(match.group(2))].append((float(match.group(1)), text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / _CELL_WIDTH)
            line = line.ljust(column) + text
        lines.append(line.rstrip())
    return [line for line in lines if line.strip() != "greentui"]


if __name__ == "__main__":
    print("\n".join(svg_rows(Path(sys.argv[1]).read_text())))
