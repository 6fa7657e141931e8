"""The few figure formats the screens need beyond :mod:`greentui.format` (shared with the CLI and reports).

Every function takes ``None`` for "not available" and returns an em dash, so a missing sensor never shows as 0.
"""

from __future__ import annotations

import time

from greentui.format import DASH, fmt_joules, fmt_num, fmt_seconds, fmt_wh

__all__ = [
    "DASH",
    "EST",
    "about",
    "fmt_joules",
    "fmt_num",
    "fmt_seconds",
    "fmt_wh",
    "grams",
    "percent",
    "power",
    "shorten",
    "timestamp",
]

EST = "est."


def power(power_w: float | None) -> str:
    """Watts, e.g. ``18.2 W``."""
    return DASH if power_w is None else f"{power_w:.1f} W"


def grams(value_g: float | None) -> str:
    """Grams of CO2e as the CLI writes them, e.g. ``0.00642 g``."""
    return DASH if value_g is None else f"{fmt_num(value_g, 5)} g"


def percent(fraction: float | None, decimals: int = 1) -> str:
    """A fraction in [0, 1] as a percentage: ``81.1%``."""
    return DASH if fraction is None else f"{100.0 * fraction:.{decimals}f}%"


def timestamp(unix_s: float | None) -> str:
    """Local wall-clock time to the minute, as the CLI lists sessions: ``2026-11-21 23:10``."""
    if unix_s is None:
        return DASH
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(unix_s))


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    if width <= 1:
        return text[:width]
    return text if len(text) <= width else text[: width - 1] + "…"


def about(seconds: float | None) -> str:
    """A rough duration for an estimate, rounded so it does not flicker: ``about 45 s``, ``about 4 min``,
    ``about 1 h 10 min``."""
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"about {max(5, 5 * round(seconds / 5)):.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min" if minutes else f"about {hours} h"
