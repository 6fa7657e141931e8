"""`doctor`: every source with its status and reason, rates, the CPU's TDP and its origin, grid intensity."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pynvml
import pytest
from rich.console import Console

from greentui.core.doctor import collect
from greentui.text.doctor import render_doctor


def rendered(report) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(render_doctor(report))
    return console.export_text()


@pytest.fixture
def no_nvml():
    def fail() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    with patch.object(pynvml, "nvmlInit", autospec=True, side_effect=fail):
        yield


def test_collect_without_sensors(no_nvml, tmp_path: Path) -> None:
    report = collect(0.3, rapl_root=tmp_path / "powercap", country_iso3="FRA")
    by_name = {check.status.name: check for check in report.checks}
    assert set(by_name) == {"nvml", "rapl", "estimate"}
    assert not by_name["nvml"].status.available and by_name["nvml"].status.reason == "NVML library not found"
    assert not by_name["rapl"].status.available and "powercap missing" in by_name["rapl"].status.reason
    estimate = by_name["estimate"]
    assert estimate.status.available and estimate.quality == "estimated"
    assert estimate.sample_rate_hz is not None and estimate.sample_rate_hz > 0
    assert estimate.counter_period_s is None and estimate.mean_power_w is not None
    assert report.cpu.tdp_w > 0 and report.cpu.tdp_source
    assert report.grid.country_iso3 == "FRA" and 45 <= report.grid.g_per_kwh <= 70
    assert report.session_line.startswith("estimated (")
    text = rendered(report)
    for expected in (
        "NVML library not found",
        "powercap missing",
        "estimated",
        report.cpu.cpu_model,
        f"TDP {report.cpu.tdp_w:g} W from",
        "g CO2e/kWh",
        "FRA",
    ):
        assert expected in text


def test_collect_with_a_rapl_tree(no_nvml, tmp_path: Path) -> None:
    zone = tmp_path / "powercap" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("1000\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    report = collect(0.2, rapl_root=tmp_path / "powercap")
    rapl = next(check for check in report.checks if check.status.name == "rapl")
    assert rapl.status.available and rapl.quality == "measured"
    assert rapl.counter_period_s == pytest.approx(0.001)
    assert report.session_line.startswith("measured (RAPL package-0")
    assert "world average" in report.grid.source
    assert "~1 ms" in rendered(report)


def test_doctor_says_which_code_sandbox_holds_here(no_nvml, tmp_path: Path) -> None:
    report = collect(0.1, rapl_root=tmp_path / "powercap", country_iso3="FRA")
    assert report.sandbox is not None
    text = rendered(report)
    line = next(line for line in text.splitlines() if line.startswith("Code sandbox: "))
    assert line.removeprefix("Code sandbox: ").startswith(("isolated: ", "limited (", "refused: "))
    if report.sandbox.limited and report.sandbox.refusal is None:
        assert "  cannot stop: " in text
