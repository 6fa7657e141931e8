"""Consoles for the command line: the terminal's width on a terminal, the output's natural width elsewhere.

Piped or redirected, rich falls back to 80 columns and squeezes tables into it (``d…``, ``s…``): a script, a
pager or a file then gets cut words. Off a terminal these consoles are wide instead, and :func:`print_natural`
prints a renderable at the width it needs (a panel at the width of its text, not of the console), so every
word and every figure arrives whole, one row per line.
"""

from __future__ import annotations

from typing import IO

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement

NATURAL_WIDTH = 4096  # wider than any row greentui prints; tables and panels still take only what they need


def script_console(file: IO[str] | None = None) -> Console:
    """A console for listings and reports: highlighting off (untrusted text is never styled by its content),
    the terminal's width on a terminal, :data:`NATURAL_WIDTH` and no word wrapping elsewhere."""
    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, width=NATURAL_WIDTH, soft_wrap=True)
    return console


def print_natural(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable`` at the terminal's width on a terminal, else at the widest width it needs."""
    if console.is_terminal:
        console.print(renderable)
        return
    if isinstance(renderable, Group):  # each part at its own width: a panel is not as wide as the longest line
        for part in renderable.renderables:
            print_natural(console, part)
        return
    needed = Measurement.get(console, console.options, renderable).maximum
    console.print(renderable, width=max(needed, 1), soft_wrap=False)
