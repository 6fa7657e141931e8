"""Grid carbon intensity (g CO2e per kWh) and an optional cross-check with CodeCarbon.

Intensity comes from, in order: an explicit figure (``--grid-intensity``), the country's figure in CodeCarbon's
bundled energy-mix data (``--country ISO3``), or the world average (475 g/kWh in CodeCarbon's data) with a
warning that says so. ``GridIntensity.source`` always names where the figure came from. Nothing here touches
the network: only CodeCarbon's bundled files and its *offline* tracker are used.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from greentui.core.records import GridIntensity

WORLD_AVERAGE_FALLBACK_G_PER_KWH = 475.0  # used only if CodeCarbon's own figure cannot be read


class CarbonError(ValueError):
    """A grid-intensity setting a user gave is unusable (one-line message)."""


@lru_cache(maxsize=1)
def _codecarbon_data() -> tuple[dict[str, Any], float, str]:
    """(energy mix per ISO3 code, world average g/kWh, codecarbon version), loaded once (~0.5 s: pandas)."""
    import codecarbon
    from codecarbon.input import DataSource

    data = DataSource()
    mix = data.get_global_energy_mix_data()
    world = float(data.get_carbon_intensity_per_source_data().get("world_average", WORLD_AVERAGE_FALLBACK_G_PER_KWH))
    return mix, world, getattr(codecarbon, "__version__", "?")


def country_codes() -> list[str]:
    """The ISO3 codes CodeCarbon has data for (a sweep file's country is checked against them)."""
    try:
        return sorted(_codecarbon_data()[0])
    except Exception:
        return []


def grid_intensity(
    country_iso3: str | None = None, g_per_kwh: float | None = None, pue: float = 1.0
) -> tuple[GridIntensity, list[str]]:
    """The carbon intensity to use, and warnings for the user.

    Raises :class:`CarbonError` for impossible numbers (negative intensity, PUE below 1).
    """
    if pue < 1.0:
        raise CarbonError(f"PUE must be 1.0 or more (it is facility energy / IT energy), not {pue:g}")
    warnings: list[str] = []
    code = country_iso3.strip().upper() if country_iso3 else None
    if g_per_kwh is not None:
        if g_per_kwh < 0:
            raise CarbonError(f"grid intensity must be 0 g/kWh or more, not {g_per_kwh:g}")
        if code:
            warnings.append(f"both --grid-intensity and --country {code} given: using {g_per_kwh:g} g/kWh")
        return GridIntensity(float(g_per_kwh), "user (--grid-intensity)", code, pue), warnings
    try:
        mix, world, version = _codecarbon_data()
    except Exception as exc:  # codecarbon missing or broken: say so, use the constant
        mix, world, version = {}, WORLD_AVERAGE_FALLBACK_G_PER_KWH, None
        warnings.append(f"codecarbon data unavailable ({type(exc).__name__}); using the world average")
    if code is None:
        warnings.append(f"no --country or --grid-intensity given: using the world average {world:g} g CO2e/kWh")
        return GridIntensity(world, "world average (no country given)", None, pue), warnings
    entry = mix.get(code)
    if not entry or entry.get("carbon_intensity") is None:
        warnings.append(f"no grid data for country code {code!r}: using the world average {world:g} g CO2e/kWh")
        return GridIntensity(world, f"world average (unknown code {code})", code, pue), warnings
    year = entry.get("year")
    where = f"codecarbon {version} data: {code} ({entry.get('country_name', code)}"
    where += f", {year})" if year else ")"
    return GridIntensity(float(entry["carbon_intensity"]), where, code, pue), warnings


class CodecarbonCrossCheck:
    """CodeCarbon's own estimate of a run, for comparison: ``start()``, then ``stop() -> (kWh, g CO2e)``.

    Uses ``OfflineEmissionsTracker`` only (the online tracker calls geolocation services and the cloud metadata
    address), a new tracker for every run (a stopped one cannot restart), never writes files, and never raises:
    on failure ``stop()`` returns None and :attr:`reason` says why. Runs shorter than about a second are
    under-reported by CodeCarbon itself.
    """

    def __init__(self, country_iso3: str | None = None, *, pue: float = 1.0) -> None:
        self.country_iso3 = (country_iso3 or "").strip().upper() or None
        self.pue = pue
        self.reason: str | None = None
        self._tracker: Any = None
        self._priced_by_codecarbon = False
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Start a fresh tracker; False (with :attr:`reason`) if CodeCarbon could not start."""
        with self._lock:
            self._tracker = None
            try:
                import logging

                from codecarbon import OfflineEmissionsTracker

                logging.getLogger("codecarbon").setLevel(logging.ERROR)
                # The offline tracker needs a country it knows; for none (or one it lacks) it runs on USA's grid
                # and stop() prices its kWh at the world average instead, so its gram figure stays comparable.
                known = self.country_iso3 is not None and self.country_iso3 in _codecarbon_data()[0]
                tracker = OfflineEmissionsTracker(
                    country_iso_code=self.country_iso3 if known else "USA",
                    save_to_file=False,
                    log_level="error",
                    pue=self.pue,
                )
                tracker.start()
            except Exception as exc:
                self.reason = f"codecarbon could not start: {type(exc).__name__}: {exc}"
                return False
            self._tracker = tracker
            self._priced_by_codecarbon = known
            self.reason = None
            return True

    def stop(self) -> tuple[float, float] | None:
        """Stop the tracker: (energy in kWh, emissions in g CO2e), or None with :attr:`reason` set."""
        with self._lock:
            tracker, self._tracker = self._tracker, None
            if tracker is None:
                self.reason = self.reason or "codecarbon was not started"
                return None
            try:
                kg = tracker.stop()
                data = getattr(tracker, "final_emissions_data", None)
                kwh = getattr(data, "energy_consumed", None)
            except Exception as exc:
                self.reason = f"codecarbon failed when stopping: {type(exc).__name__}: {exc}"
                return None
            if kg is None or kwh is None:
                self.reason = "codecarbon returned no figures"
                return None
            if not self._priced_by_codecarbon:
                world = grid_intensity(None)[0].g_per_kwh
                self.reason = f"codecarbon's kWh priced at the world average {world:g} g/kWh (no known country)"
                return float(kwh), float(kwh) * world  # its kWh already include the PUE
            return float(kwh), float(kg) * 1000.0
