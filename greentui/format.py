"""How figures are written for people: units, sensible precision, "—" for unknown, and the estimate mark.

Shared by the headless printer, the reports and the TUI so a number reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

from greentui.core.verdict.text import too_few_for_interval

DASH = "—"
NOISE = 1e-6  # below this magnitude a figure is float noise and prints as 0 (an energy of 8.5e-12 J is 0 J)


def est(quality: str | None) -> str:
    """The suffix every figure derived from an estimated power source carries."""
    return " est." if quality == "estimated" else ""


def fmt_num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return DASH
    if abs(value) < NOISE:
        value = 0.0
    if value != 0 and abs(value) < 10**-digits:
        return f"{value:.{max(digits, 1)}g}" if abs(value) >= 1e-4 else f"{value:.2e}"
    return f"{value:,.{digits}f}"


def fmt_joules(joules: float | None) -> str:
    """412 J, 1.32 kJ, 4.1 MJ; below 1 µJ, 0 J."""
    if joules is None:
        return DASH
    if abs(joules) < NOISE:
        return "0 J"
    for unit, scale in (("MJ", 1e6), ("kJ", 1e3)):
        if abs(joules) >= scale:
            return f"{joules / scale:.2f} {unit}"
    return f"{joules:.1f} J" if abs(joules) < 100 else f"{joules:.0f} J"


def fmt_wh(joules: float | None) -> str:
    """Energy in watt-hours (1 Wh = 3600 J)."""
    if joules is None:
        return DASH
    wh = joules / 3600.0
    return f"{wh * 1000:.2f} mWh" if abs(wh) < 0.01 else f"{wh:.3f} Wh"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def fmt_score(score: Any) -> str:
    """A running score with its 95% CI: ``81.1% (69.2-89.0)``; ``—`` before the first item; below 5 items
    ``50.0% (n = 2: too few for an interval)``."""
    if score is None or not getattr(score, "n", 0):
        return DASH
    too_few = too_few_for_interval(score.n)
    if too_few or score.lo is None or score.hi is None:
        return f"{score.mean * 100:.1f}%" + (f" ({too_few})" if too_few else "")
    return f"{score.mean * 100:.1f}% ({score.lo * 100:.1f}–{score.hi * 100:.1f})"
