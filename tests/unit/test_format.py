"""greentui.format, the one formatter: one rule per kind of figure, "—" for not available, "est." whole, and one
rule for dates (local time with the zone named)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from greentui.format import (
    DASH,
    format_about,
    format_energy,
    format_fixed,
    format_grams,
    format_intensity,
    format_iso_utc,
    format_item_score,
    format_j_per_token,
    format_joules,
    format_joules_interval,
    format_params,
    format_percent,
    format_points,
    format_power,
    format_score,
    format_seconds,
    format_share,
    format_tokens_per_s,
    format_wh,
    format_when,
    too_few_for_interval,
    with_est,
)
from tests.helpers.timezone import PARIS, local_zone

WINTER_UNIX_S = 1_795_300_000.0  # 2026-11-21 22:26:40 UTC
SUMMER_UNIX_S = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC


def test_energy_has_three_significant_digits_and_steps_its_unit() -> None:
    assert [format_joules(j) for j in (0.5, 41.23, 412.3, 1320.0, 4.1e6)] == [
        "0.500 J",
        "41.2 J",
        "412 J",
        "1.32 kJ",
        "4.10 MJ",
    ]
    assert format_wh(3600.0) == "1.00 Wh" and format_wh(1320.0) == "367 mWh" and format_wh(28.8) == "8.00 mWh"
    assert format_energy(1320.0) == "1.32 kJ · 367 mWh"
    assert format_joules(None) == format_energy(None) == format_wh(None) == DASH
    assert format_joules_interval(7.2, 6.1, 8.3) == "7.20 J (6.10–8.30)"
    assert format_joules_interval(980.0, 950.0, 1020.0) == "980 J (950 J–1.02 kJ)"


def test_grams_step_down_to_micrograms_rather_than_long_decimals() -> None:
    # the live tile once wrote "0.00045 g" where the verdict wrote "450 µg"
    assert format_grams(4.5e-4) == "450 µg" and format_grams(0.0064) == "6.40 mg" and format_grams(82_000) == "82.0 kg"


def test_per_token_and_rates_and_power() -> None:
    # the headless line once wrote "1.601 J/token" where the verdict wrote "1.60"
    assert format_j_per_token(1.6012) == "1.60" and format_j_per_token(0.000452) == "0.000452"
    assert format_tokens_per_s(30.84) == "30.8" and format_tokens_per_s(1234.56) == "1,234.6"
    assert format_power(18.23) == "18.2 W" and format_power(None) == DASH
    assert format_fixed(-0.04, 1) == "0.0" and format_item_score(2 / 3) == "0.67"


def test_durations_from_milliseconds_to_hours() -> None:
    assert [format_seconds(s) for s in (0.0, 0.2104, 0.9996, 1.234, 12.34, 59.99, 125.0, 3725.0)] == [
        "0 ms",
        "210 ms",
        "1.00 s",
        "1.23 s",
        "12.3 s",
        "1m00s",
        "2m05s",
        "1h02m",
    ]
    assert format_seconds(None) == DASH
    assert format_about(250.0) == "about 4 min"


def test_scores_their_intervals_and_too_few_items() -> None:
    assert format_score(0.8085, 0.73, 0.868, 120) == "80.8% (73.0–86.8)"
    assert format_score(0.5, 0.1, 0.9, 2) == "50.0% (n = 2: too few for an interval)"
    assert format_score(0.5, 0.1, 0.9, 2, compact=True) == "50.0% (no CI yet)"  # fits a narrow tile whole
    assert format_score(0.412, continuous=True) == "41.2" and format_score(None) == DASH
    assert too_few_for_interval(5) is None
    assert format_percent(0.811) == "81.1%"


def test_shares_points_counts_and_intensity() -> None:
    assert format_share(0.88) == "88%" and format_share(0.994) == "99.4%" and format_share(None) == DASH
    assert format_points(-0.04) == "+0.0" and format_points(1.84) == "+1.8" and format_points(-2.1) == "-2.1"
    assert format_params(134_515_008) == "134.5 M"
    assert format_intensity(56.0) == "56 g CO2e/kWh" and format_intensity(381.3, short=True) == "381.3 g/kWh"


def test_the_estimate_mark_is_whole_and_never_on_a_dash() -> None:
    assert with_est("412 J", True) == "412 J est." and with_est("412 J", False) == "412 J"
    assert with_est(DASH, True) == DASH


def test_dates_are_local_time_with_the_zone_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_zone(monkeypatch, PARIS):
        assert format_when(WINTER_UNIX_S) == "2026-11-21 23:26 CET"
        assert format_when(SUMMER_UNIX_S) == "2026-09-21 16:13 CEST"
    with local_zone(monkeypatch, "UTC"):
        assert format_when(WINTER_UNIX_S) == "2026-11-21 22:26 UTC"
    with local_zone(monkeypatch, "<+0530>-5:30"):  # a zone without a name: its offset
        assert format_when(WINTER_UNIX_S) == "2026-11-22 03:56 UTC+05:30"
    # machine-readable fields stay UTC, whatever the local zone
    with local_zone(monkeypatch, PARIS):
        assert format_iso_utc(WINTER_UNIX_S) == "2026-11-21T22:26:40Z"
    assert format_when(None) == DASH and format_iso_utc(None) is None


def test_the_formatter_imports_nothing_of_greentui_and_nothing_heavy() -> None:
    code = (
        "import sys, greentui.format\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('greentui.') and m != 'greentui.format')\n"
        "heavy = sorted(m for m in ('numpy', 'rich', 'textual', 'sqlite3') if m in sys.modules)\n"
        "print(loaded, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] []"
