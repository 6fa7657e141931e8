"""Choosing power sources: forced choices, the fallback order, and the header line."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

import pynvml
import pytest

from greentui.core.measure.power import PowerSourceError, SourceStatus, describe_sources, select_power_sources
from greentui.core.measure.power.estimate import EstimateSource


@pytest.fixture(autouse=True)
def no_nvml():
    def fail() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    with patch.object(pynvml, "nvmlInit", autospec=True, side_effect=fail):
        yield


def test_forced_unavailable_choice_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(PowerSourceError) as caught:
        select_power_sources("rapl", rapl_root=tmp_path / "missing")
    assert str(caught.value) == f"power source rapl: {tmp_path / 'missing'} missing"


def test_forced_estimate_and_process_pids() -> None:
    sources, statuses = select_power_sources("estimate", process_pids=lambda: [1])
    assert len(sources) == 1 and isinstance(sources[0], EstimateSource)
    assert statuses[0].available and "TDP" in statuses[0].reason
    assert "tdp" in statuses[0].details


def test_auto_falls_back_to_the_estimate_with_reasons(tmp_path: Path) -> None:
    sources, statuses = select_power_sources("auto", gpu_indices=[0], rapl_root=tmp_path / "powercap")
    assert [s.name for s in sources] == ["estimate"]
    assert [s.name for s in statuses] == ["nvml", "rapl", "estimate"]
    line, quality = describe_sources(sources, statuses)
    assert quality == "estimated"
    assert line.startswith("estimated (CPU estimate, TDP ")
    assert line.endswith(f"no GPU: NVML library not found; no RAPL: {tmp_path / 'powercap'} missing)")


def test_describe_with_nothing() -> None:
    line, quality = describe_sources([], [SourceStatus("rapl", False, "gone")])
    assert quality == "estimated" and "no power source" in line and "no RAPL: gone" in line
