"""Grid carbon intensity from codecarbon's bundled data, and the CodeCarbon cross-check (tracker patched)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from greentui.core.measure import carbon
from greentui.core.measure.carbon import CarbonError, CodecarbonCrossCheck, grid_intensity


@pytest.mark.parametrize(
    ("code", "low", "high"),
    [("FRA", 45, 70), ("DEU", 300, 480), ("USA", 300, 450), ("POL", 580, 760), ("fra", 45, 70)],
)
def test_country_lookup(code: str, low: float, high: float) -> None:
    grid, warnings = grid_intensity(code)
    assert low <= grid.g_per_kwh <= high
    assert grid.country_iso3 == code.upper()
    assert f"data: {code.upper()}" in grid.source and "codecarbon" in grid.source
    assert warnings == []


def test_countries_differ() -> None:
    assert grid_intensity("FRA")[0].g_per_kwh < grid_intensity("DEU")[0].g_per_kwh < grid_intensity("POL")[0].g_per_kwh


def test_unknown_code_uses_world_average_with_a_warning() -> None:
    grid, warnings = grid_intensity("XYZ")
    assert grid.g_per_kwh == pytest.approx(475.0)
    assert "world average" in grid.source and "XYZ" in grid.source
    assert len(warnings) == 1 and "XYZ" in warnings[0]


def test_default_is_the_world_average_and_says_so() -> None:
    grid, warnings = grid_intensity()
    assert grid.g_per_kwh == pytest.approx(475.0) and "world average" in grid.source
    assert warnings and "no --country" in warnings[0]


def test_explicit_figure_and_pue() -> None:
    grid, warnings = grid_intensity(None, 120.0, pue=1.4)
    assert grid.g_per_kwh == 120.0 and grid.source == "user (--grid-intensity)" and grid.pue == 1.4
    assert grid.grams_co2e(3.6e6) == pytest.approx(120.0 * 1.4)  # 1 kWh
    assert warnings == []
    _, warnings = grid_intensity("FRA", 120.0)
    assert warnings and "both" in warnings[0]
    with pytest.raises(CarbonError, match="PUE"):
        grid_intensity("FRA", pue=0.9)
    with pytest.raises(CarbonError, match="grid intensity"):
        grid_intensity(None, -1.0)


class FakeTracker:
    instances: list[FakeTracker] = []

    def __init__(self, **options: object) -> None:
        self.options = options
        self.final_emissions_data = None
        FakeTracker.instances.append(self)

    def start(self) -> None:
        pass

    def stop(self) -> float:
        self.final_emissions_data = SimpleNamespace(energy_consumed=0.002)  # kWh
        return 0.002 * 0.056  # kg at ~56 g/kWh


def test_cross_check_uses_a_fresh_offline_tracker(monkeypatch: pytest.MonkeyPatch) -> None:
    import codecarbon

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", FakeTracker)
    FakeTracker.instances.clear()
    check = CodecarbonCrossCheck("FRA")
    for _ in range(2):
        assert check.start()
        kwh, grams = check.stop()
        assert kwh == pytest.approx(0.002) and grams == pytest.approx(0.112)
    assert len(FakeTracker.instances) == 2  # a stopped tracker cannot restart: a new one each run
    options = FakeTracker.instances[0].options
    assert options["save_to_file"] is False and options["log_level"] == "error"
    assert options["country_iso_code"] == "FRA"
    # no known country: codecarbon's kWh priced at the world average
    unknown = CodecarbonCrossCheck(None)
    unknown.start()
    kwh, grams = unknown.stop()
    assert grams == pytest.approx(0.002 * 475.0) and "world average" in unknown.reason


def test_cross_check_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import codecarbon

    def exploding(**_: object) -> None:
        raise RuntimeError("no RAPL, no luck")

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", exploding)
    check = CodecarbonCrossCheck("DEU")
    assert check.start() is False
    assert check.stop() is None and "no RAPL, no luck" in check.reason
    assert CodecarbonCrossCheck().stop() is None  # never started


def test_codecarbon_data_is_loaded_once() -> None:
    carbon._codecarbon_data()
    before = carbon._codecarbon_data.cache_info().hits
    grid_intensity("FRA")
    grid_intensity("DEU")
    assert carbon._codecarbon_data.cache_info().hits == before + 2
    assert carbon._codecarbon_data.cache_info().misses == 1
