"""Text helpers only the screens need. Every figure (numbers, units, "est.", "—", durations, dates) is written by
:mod:`greentui.format`, the one formatter shared with the CLI and the reports."""

from __future__ import annotations

__all__ = ["shorten"]


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    if width <= 1:
        return text[:width]
    return text if len(text) <= width else text[: width - 1] + "…"
