"""THE formatter: how greentui writes every figure for a person, in the CLI, the TUI, the markdown and HTML
reports and the human-readable fields of the JSON export.

A figure shown in two places is written by the same function in both, so the verdict screen, ``greentui show``
and an exported report of one session print the same rounded values. One rule per kind of figure:

=================  ======================================================================  =====================
figure             rule                                                                    e.g.
=================  ======================================================================  =====================
number             3 significant digits, trailing zeros kept; separators from 100 up; an   0.0450 · 1.60 · 1,320
                   exponent only from 1e9; below 1e-6 float noise, printed 0
energy             J, kJ, MJ, GJ (3 significant digits); below 1 µJ ``0 J``; watt-hours     412 J · 1.32 kJ
                   (µWh, mWh, Wh, kWh) beside it where there is room                       1.32 kJ · 367 mWh
J/token            a number: the label says J                                              1.60
J per correct      an energy                                                               13.6 J
CO2e               grams, stepping down to mg, µg, ng and up to kg, t                      896 µg · 1.50 kg
accuracy           percent with one decimal, its 95% CI likewise; fewer than               80.8% (73.0–86.8)
                   ``MIN_INTERVAL_ITEMS`` items: no interval, said in words
continuous score   points out of 100, one decimal, no % sign                               41.2 (30.0–50.0)
durations          ms below 1 s, s below a minute (3 significant digits), then             210 ms · 1.23 s
                   minutes and seconds, hours and minutes                                  4m05s · 1h02m
tokens/s, W, Hz    one decimal                                                             30.8 · 18.2 W
parameters         4 significant digits with k, M, B, T                                    134.5 M
dates              local time to the minute, with the zone named                           2026-11-21 23:10 CET
=================  ======================================================================  =====================

``—`` (:data:`DASH`) stands for "not available" (never 0, never with ``est.``). Every figure derived from an
estimated power source carries `` est.`` (:func:`est`, :func:`with_est`), written whole: a narrow view drops a
figure's note or the figure, never the mark. Machine fields stay unformatted: the JSON and CSV exports carry
joules, grams and seconds as numbers and times as unix seconds (UTC); their human-readable fields come from here.

This module imports nothing from greentui (the core's verdict words use it too) and nothing heavy.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

DASH = "—"
EST = "est."
NOT_MEASURED = "not measured here"  # a served model's energy, drawn by a server on another host
NOISE = 1e-6  # below this magnitude a figure is float noise and prints as 0 (an energy of 8.5e-12 J is 0 J)
# Fewer items than this on a side: no confidence interval is printed for its score ("n = 2: too few for an
# interval"), since a Wilson or bootstrap interval over two or three items says more about the method than the model.
MIN_INTERVAL_ITEMS = 5

_ENERGY_UNITS = ((1.0, "J"), (1e3, "kJ"), (1e6, "MJ"), (1e9, "GJ"))
_WH_UNITS = ((1e-6, "µWh"), (1e-3, "mWh"), (1.0, "Wh"), (1e3, "kWh"))
_GRAM_UNITS = ((1e-9, "ng"), (1e-6, "µg"), (1e-3, "mg"), (1.0, "g"), (1e3, "kg"), (1e6, "t"))


# ---- the marks ----------------------------------------------------------------------------------------------------


def est(quality: str | None) -> str:
    """The suffix (`` est.``) of every figure derived from an estimated power source; "" for a measured one."""
    return f" {EST}" if quality == "estimated" else ""


def with_est(text: str, estimated: bool) -> str:
    """``text`` with the estimate mark when ``estimated``; a dash (not available) never gets one."""
    return f"{text} {EST}" if estimated and text != DASH else text


# ---- numbers ------------------------------------------------------------------------------------------------------


def format_number(x: float, sig: int = 3) -> str:
    """``sig`` significant digits, trailing zeros kept ("5.00", "0.0500"); thousands separators from
    10**(sig-1) up; magnitudes below 1e-6 (float noise at the scales greentui prints) are 0; an exponent only
    from 1e9 (small values carry their unit one step down instead, see :func:`format_grams`)."""
    if abs(x) < NOISE:
        return "0"
    rounded = float(f"{x:.{sig}g}")  # round first, so 9.9999 becomes 10.0 and not "10.00"
    ax = abs(rounded)
    if ax >= 1e9:
        return f"{rounded:.{sig - 1}e}"
    if ax >= 10 ** (sig - 1):
        return f"{rounded:,.0f}"
    return f"{rounded:.{sig - 1 - math.floor(math.log10(ax))}f}"


def format_fixed(x: float | None, decimals: int = 1) -> str:
    """A figure to a fixed number of decimals with thousands separators (rates, watts); "—" for None."""
    if x is None:
        return DASH
    return f"{round(x, decimals) + 0.0:,.{decimals}f}"  # + 0.0 turns a rounded -0.0 into 0.0


def format_points(x: float | None) -> str:
    """A signed difference in percentage points, one decimal: ``+1.8``, ``-2.1``, ``+0.0``."""
    return DASH if x is None else f"{round(x, 1) + 0.0:+.1f}"  # + 0.0 turns -0.0 into 0.0


def format_percent(fraction: float | None, decimals: int = 1) -> str:
    """A fraction in [0, 1] as a percentage: ``81.1%``."""
    return DASH if fraction is None else f"{100.0 * fraction:.{decimals}f}%"


def format_share(ratio: float | None) -> str:
    """A ratio as a whole percentage (``88%``), with one decimal near 100% where rounding would print "100%"
    for a real difference (``99.4%``)."""
    if ratio is None:
        return DASH
    value = 100 * ratio
    return f"{value:.1f}%" if 99 <= value <= 101 else f"{value:.0f}%"


def format_count(n: float) -> str:
    """1e6 -> "1 million"; other values with separators."""
    if n >= 1e6 and (n / 1e6) == round(n / 1e6, 3):
        return f"{n / 1e6:g} million"
    return f"{n:,.0f}" if n >= 1 else f"{n:g}"


def format_params(n: int) -> str:
    """134515008 -> "134.5 M" (four significant digits: quantized variants of one model differ little)."""
    for factor, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= factor:
            return f"{n / factor:.4g} {unit}"
    return str(n)


# ---- units --------------------------------------------------------------------------------------------------------


def _scaled(x: float, units: tuple[tuple[float, str], ...]) -> str:
    for factor, unit in reversed(units):
        if abs(x) >= factor:
            return f"{format_number(x / factor)} {unit}"
    return f"{format_number(x / units[0][0])} {units[0][1]}"


def format_joules(j: float | None) -> str:
    """412 J, 1.32 kJ, 4.10 MJ; below 1 µJ, 0 J. Also J per correct answer."""
    if j is None:
        return DASH
    if abs(j) < NOISE:
        return "0 J"
    return _scaled(j, _ENERGY_UNITS)


def format_joules_interval(j: float, lo: float, hi: float) -> str:
    """An energy with its 95% interval: ``7.20 J (6.10–8.30)``; each bound keeps its unit where the units differ
    (``980 J (950 J–1.02 kJ)``)."""
    text, low, high = format_joules(j), format_joules(lo), format_joules(hi)
    unit = text.split(" ")[-1]
    if low.endswith(f" {unit}") and high.endswith(f" {unit}"):
        low, high = low[: -len(unit) - 1], high[: -len(unit) - 1]
    return f"{text} ({low}–{high})"


def format_wh(j: float | None) -> str:
    """An energy given in joules, in watt-hours (1 Wh = 3600 J): ``8.00 mWh``, ``1.00 Wh``."""
    if j is None:
        return DASH
    if abs(j) < NOISE:
        return "0 Wh"
    return _scaled(j / 3600.0, _WH_UNITS)


def format_energy(j: float | None) -> str:
    """Joules with the same energy in watt-hours beside them: ``1.32 kJ · 367 mWh``."""
    if j is None:
        return DASH
    if abs(j) < NOISE:
        return "0 J"
    return f"{format_joules(j)} · {format_wh(j)}"


def format_grams(g: float | None) -> str:
    """Grams (of CO2e), stepping down to mg, µg and ng for the tiny emissions of short runs (``13.0 µg``)."""
    if g is None:
        return DASH
    if g == 0:
        return "0 g"
    return _scaled(g, _GRAM_UNITS)


def format_power(power_w: float | None) -> str:
    """Watts, one decimal: ``18.2 W``."""
    return DASH if power_w is None else f"{format_fixed(power_w, 1)} W"


def format_hz(rate_hz: float | None) -> str:
    """A sampling rate, one decimal: ``20.0 Hz``."""
    return DASH if rate_hz is None else f"{format_fixed(rate_hz, 1)} Hz"


def format_intensity(g_per_kwh: float | None, *, short: bool = False) -> str:
    """A grid's carbon intensity as given (no rounding: a user's ``--grid-intensity 123.4`` shows as typed):
    ``56 g CO2e/kWh``, or ``56 g/kWh`` where room is short."""
    if g_per_kwh is None:
        return DASH
    return f"{g_per_kwh:g} g/kWh" if short else f"{g_per_kwh:g} g CO2e/kWh"


def format_cpu_share(share: float) -> str:
    """How much CPU time went to other programs, a whole percentage: ``40 % of CPU time``."""
    return f"{100 * share:.0f} % of CPU time"


def format_j_per_token(j: float | None) -> str:
    """Joules per generated token, a bare number (the label or a following "J/token" names the unit)."""
    return DASH if j is None else format_number(j)


def format_tokens_per_s(rate: float | None) -> str:
    """Tokens per second, one decimal: ``30.8``."""
    return format_fixed(rate, 1)


# ---- scores -------------------------------------------------------------------------------------------------------


def too_few_for_interval(n: int) -> str | None:
    """ "n = 2: too few for an interval" below :data:`MIN_INTERVAL_ITEMS` items, else None (print the interval)."""
    return f"n = {n}: too few for an interval" if n < MIN_INTERVAL_ITEMS else None


def format_item_score(score: float | None) -> str:
    """One item's score in [0, 1], two decimals: ``0.67``."""
    return format_fixed(score, 2)


def format_score(
    mean: float | None,
    lo: float | None = None,
    hi: float | None = None,
    n: int | None = None,
    *,
    continuous: bool = False,
    compact: bool = False,
) -> str:
    """A mean score in [0, 1] with its 95% interval: ``80.8% (73.0–86.8)``; a continuous score (ROUGE-L) in
    points out of 100 without the % sign: ``41.2 (30.0–50.0)``; ``—`` before the first item. ``n``: the items
    behind the mean (None: the mean alone, no interval).

    Below :data:`MIN_INTERVAL_ITEMS` items no interval: ``50.0% (n = 2: too few for an interval)``. ``compact``
    (a narrow tile): the interval to whole points, and ``50.0% (no CI yet)`` when there are too few items (the
    tile's note gives the count)."""
    if mean is None:
        return DASH
    text = f"{100 * mean:.1f}" + ("" if continuous else "%")
    too_few = None if n is None else too_few_for_interval(n)
    if too_few:
        return f"{text} (no CI yet)" if compact else f"{text} ({too_few})"
    if n is None or lo is None or hi is None:
        return text
    digits = 0 if compact else 1
    return f"{text} ({100 * lo:.{digits}f}–{100 * hi:.{digits}f})"


# ---- durations and dates ------------------------------------------------------------------------------------------


def format_seconds(seconds: float | None) -> str:
    """A duration: ``210 ms``, ``1.23 s``, ``12.3 s``, ``4m05s``, ``1h02m`` (also TTFT)."""
    if seconds is None:
        return DASH
    if abs(seconds) < NOISE:
        return "0 ms"
    millis = float(f"{seconds * 1000:.3g}")
    if abs(millis) < 1000:
        return f"{format_number(millis)} ms"
    if abs(float(f"{seconds:.3g}")) < 60:
        return f"{format_number(seconds)} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_about(seconds: float | None) -> str:
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


def format_when(unix_s: float | None) -> str:
    """A moment in local time to the minute, with the zone named: ``2026-11-21 23:10 CET``.

    The one rule for every date greentui shows a person (CLI, TUI, reports): local, because that is the clock the
    reader lives by; the zone named, so a report read elsewhere or a summer-time date is never misread."""
    if unix_s is None:
        return DASH
    local = dt.datetime.fromtimestamp(float(unix_s)).astimezone()
    return f"{local:%Y-%m-%d %H:%M} {_zone(local)}"


def _zone(moment: dt.datetime) -> str:
    """The zone's abbreviation (``CET``, ``UTC``), else its offset (``UTC+05:30``)."""
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_iso_utc(unix_s: float | None) -> str | None:
    """A moment in UTC, ISO 8601 to the second (``2026-11-21T23:10:00Z``), for machine-readable fields; None."""
    if unix_s is None:
        return None
    return dt.datetime.fromtimestamp(float(unix_s), tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_prompt_cache(settings: Mapping[str, Any]) -> str | None:
    """How a session's prompts were prefilled, from its stored settings; None for a session stored before greentui
    recorded it."""
    if "prompt_cache" not in settings:
        return None
    if settings["prompt_cache"]:
        return "shared prompt prefix computed once per model (prompt cache)"
    return "every prompt prefilled whole (--no-prompt-cache)"
