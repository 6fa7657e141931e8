"""Untrusted text (model output, prompts, file names) turned into something the terminal shows literally.

Model output is untrusted input: ``[bold red]x[/]`` must not turn red, ``[link=...]`` must not become a link,
and ``\\x1b[31m`` or an OSC 8 hyperlink must not reach the terminal. Two rules keep it so:

* build :class:`rich.text.Text` objects directly (``Text(str)`` never parses markup), never markup strings;
* replace every C0/C1 control character except the newline (and the bidi overrides that reorder what is
  shown) with a visible escape such as ``\\x1b``; tabs become spaces (the escaper itself is
  :func:`greentui.untrusted.escape_controls`, shared with the exports).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from greentui.untrusted import escape_controls as _escape_controls

_TAB_SPACES = "    "


def escape_controls(text: str) -> str:
    """``text`` with control characters replaced by visible escapes (``\\x1b``), tabs by four spaces."""
    return _escape_controls(text, keep="\n\t").replace("\t", _TAB_SPACES)


def literal_text(text: str, style: str | Style = "", *, one_line: bool = False) -> Text:
    """A :class:`Text` showing ``text`` exactly as written: no markup, no escape sequences, no emoji codes.

    ``one_line`` also shows newlines as ``⏎`` so a multi-line prompt fits a single row.
    """
    safe = escape_controls(text)
    if one_line:
        safe = safe.replace("\n", "⏎")
    rich_text = Text(safe, no_wrap=one_line, end="")
    if style:
        rich_text.stylize(style)  # a span, not the base style, so text appended later keeps its own style
    return rich_text
