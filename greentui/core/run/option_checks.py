"""The ranges a session's options must lie in, for options that come from a file rather than the command line.

``greentui run`` checks each option as it parses it (argparse types in ``greentui/cli/parser.py``): a sampling rate
above 0, an idle baseline of 0 s or more, a PUE of 1.0 or more, a token limit of 1 or more, a known power source. A
sweep file sets the same options for many sessions that run unattended, so it is checked against the same ranges when it
is parsed, and a wrong value is one ``file:line`` message before anything runs rather than a failure in the middle of
the sweep. One stricter rule: an unknown ``country`` code is refused (``greentui run`` warns and uses the world
average), since a typo would otherwise price every session of the sweep at the wrong grid.
"""

from __future__ import annotations

import math
import re
from typing import Any

# (lowest value, whether the lowest value itself is allowed, what the option is) per numeric option
_RANGES: dict[str, tuple[float, bool, str]] = {
    "limit": (1, True, "items per model"),
    "sample_hz": (0, False, "the power sampling rate in Hz"),
    "idle_s": (0, True, "seconds of idle baseline (0 skips it)"),
    "grid_intensity": (0, True, "g CO2e per kWh"),
    "pue": (1.0, True, "facility energy / IT energy"),
    "max_new_tokens": (1, True, "the token limit per answer"),
    "load_timeout_s": (0, False, "seconds to load a model"),
    "item_timeout_s": (0, False, "seconds for one item"),
    "training_emissions_g": (0, True, "g CO2e spent training the adapter"),
    "amortize_answers": (0, False, "answers the training emissions are spread over"),
    "requests_per_day": (0, False, "requests a day for the at-scale figures"),
}
POWER_SOURCES = ("auto", "nvml", "rapl", "estimate")
_ISO3 = re.compile(r"^[A-Za-z]{3}$")


def option_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is out of range for session option ``name`` (one line), or None when it is fine. The value's
    type is checked elsewhere (a sweep file checks it against :class:`SessionConfig`'s annotations first)."""
    if value is None:
        return None
    if name in _RANGES and isinstance(value, (int, float)) and not isinstance(value, bool):
        low, inclusive, what = _RANGES[name]
        if not math.isfinite(value):
            return f"{name} must be a finite number ({what}), not {value}"
        if value < low or (not inclusive and value == low):
            bound = f"at least {low:g}" if inclusive else f"more than {low:g}"
            return f"{name} must be {bound} ({what}), not {value:g}"
        return None
    if name == "power_source" and isinstance(value, str):
        return _power_source_problem(value)
    if name == "country" and isinstance(value, str):
        return _country_problem(value)
    return None


def _power_source_problem(value: str) -> str | None:
    text = value.strip()
    if text in POWER_SOURCES:
        return None
    if text.startswith("replay:"):
        return None if text[len("replay:") :].strip() else "power_source replay: needs a file, e.g. replay:trace.csv"
    return f"power_source must be one of {', '.join(POWER_SOURCES)} or replay:FILE, not {value!r}"


def _country_problem(value: str) -> str | None:
    if not _ISO3.match(value.strip()):
        return f"country must be an ISO 3166 alpha-3 code such as FRA or USA, not {value!r}"
    from greentui.core.measure.carbon import country_codes

    known = country_codes()
    if known and value.strip().upper() not in known:
        return (
            f"country {value!r} is not in codecarbon's grid data (e.g. FRA, DEU, USA); "
            "give grid_intensity in g CO2e/kWh instead"
        )
    return None
