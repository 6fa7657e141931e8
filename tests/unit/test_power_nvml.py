"""The NVML source with pynvml's functions patched (autospec=True) over a fake set of GPUs."""

from __future__ import annotations

import pynvml
import pytest

from greentui.core.measure.meter import EnergyMeter
from greentui.core.measure.power import PowerSourceError, describe_sources, select_power_sources
from greentui.core.measure.power.nvml import NvmlSource, visible_physical_indices
from greentui.core.measure.sampler import PowerSampler
from tests.helpers.fake_nvml import FakeNvml


def test_counter_path_energy_from_counter_deltas(fake_nvml: FakeNvml) -> None:
    source = NvmlSource([0])
    assert source.devices() == ["gpu0"] and source.quality == "measured"
    assert source.counter_period_s == pytest.approx(0.1)
    times = iter([10.0, 12.5])
    meter = EnergyMeter([source], None, clock=lambda: next(times))
    meter.begin("item")
    fake_nvml.gpus[0].energy_mj += 437_250  # 437.25 J while the item ran
    m = meter.end("item")
    assert m.method == "counter"
    assert m.joules == pytest.approx(437.25)
    assert m.per_device_j == (("gpu0", pytest.approx(437.25)),)
    source.close()
    source.close()
    assert fake_nvml.calls.count("shutdown") == 1


def test_field_value_path_reads_instant_power_and_extras(fake_nvml: FakeNvml) -> None:
    source = NvmlSource([1])
    (sample,) = source.read()
    assert sample.device == "gpu1" and sample.source == "nvml"
    assert sample.power_kind == "instant"
    assert sample.power_w == pytest.approx(157.0)  # from the field value, not nvmlDeviceGetPowerUsage
    assert "power_usage" not in fake_nvml.calls
    assert sample.energy_counter_j == pytest.approx(1000.0)
    assert sample.temperature_c == 55 and sample.sm_clock_mhz == 1980
    assert "instant power" in source.describe()


def test_power_usage_fallback_is_labelled_one_second_average(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0].instant_field = False
    fake_nvml.gpus[0].temperature_c = None
    (sample,) = NvmlSource([0]).read()
    assert sample.power_kind == "1s-average"
    assert sample.power_w == pytest.approx(150.0)
    assert sample.temperature_c is None  # not supported: None, never 0


def test_no_counter_path_integrates_power(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0].energy_mj = None  # pre-Volta: no energy counter
    source = NvmlSource([0])
    assert source.energy_counter_j("gpu0") is None and source.counter_period_s is None
    clock = iter([0.0, 2.0])
    sampler = PowerSampler([source], 10.0)
    meter = EnergyMeter([source], sampler, clock=lambda: next(clock))
    meter.begin("w")
    m = meter.end("w")
    # the begin/end reads hold 157 W; the window spans 2 s of the meter's clock
    assert m.method == "integrated"
    assert m.joules == pytest.approx(157.0 * 2.0)


def test_init_failure_gives_reason_and_falls_back(fake_nvml: FakeNvml, tmp_path) -> None:
    fake_nvml.init_error = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
    with pytest.raises(PowerSourceError, match="NVML library not found"):
        NvmlSource([0])
    with pytest.raises(PowerSourceError, match="power source nvml: NVML library not found"):
        select_power_sources("nvml", gpu_indices=[0])
    sources, statuses = select_power_sources("auto", gpu_indices=[0], rapl_root=tmp_path / "none")
    assert [s.name for s in sources] == ["estimate"]
    nvml_status = next(s for s in statuses if s.name == "nvml")
    assert not nvml_status.available and nvml_status.reason == "NVML library not found"
    line, quality = describe_sources(sources, statuses)
    assert quality == "estimated"
    assert "no GPU: NVML library not found" in line and "no RAPL:" in line


def test_auto_uses_nvml_for_the_gpus_in_use(fake_nvml: FakeNvml, tmp_path) -> None:
    sources, statuses = select_power_sources("auto", gpu_indices=[0, 2], rapl_root=tmp_path / "none")
    assert [s.name for s in sources] == ["nvml"]
    assert sources[0].devices() == ["gpu0", "gpu2"]
    line, quality = describe_sources(sources, statuses)
    assert quality == "measured" and line.startswith("measured (NVML gpu0, gpu2")
    # no model on a GPU: NVML is reported available but not used
    sources, statuses = select_power_sources("auto", rapl_root=tmp_path / "none")
    assert [s.name for s in sources] == ["estimate"]
    assert "no model uses a GPU" in next(s for s in statuses if s.name == "nvml").reason


def test_errors_mid_run_become_none_and_are_counted(fake_nvml: FakeNvml) -> None:
    source = NvmlSource([0])
    times = iter([0.0, 1.0])
    meter = EnergyMeter([source], None, clock=lambda: next(times))
    meter.begin("w")
    fake_nvml.gpus[0].lost = True
    (sample,) = source.read()
    assert sample.power_w is None and sample.energy_counter_j is None
    assert source.errors >= 2 and "GPU" in (source.last_error or "")
    m = meter.end("w")  # no exception, no counter: the one good reading is held and the window flagged
    assert m.method == "integrated" and m.flagged_short
    assert m.joules == pytest.approx(157.0)


def test_cuda_visible_devices_with_uuids(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    uuids = [g.uuid for g in fake_nvml.gpus]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", f"{uuids[2]},GPU-aaaa")  # a full UUID, then a prefix
    source = NvmlSource([0, 1])
    fake_nvml.gpus[2].energy_mj = 5_000_000
    fake_nvml.gpus[0].energy_mj = 7_000_000
    assert source.energy_counter_j("gpu0") == pytest.approx(5000.0)  # cuda:0 is NVML device 2
    assert source.energy_counter_j("gpu1") == pytest.approx(7000.0)  # cuda:1 is NVML device 0
    assert "NVML index 2" in source.details()["gpu0"]
    with pytest.raises(PowerSourceError, match="cuda:2 is not visible"):
        NvmlSource([2])


def test_cuda_visible_devices_rules() -> None:
    uuids = ["GPU-aaaa-1", "GPU-bbbb-2", "GPU-bbbc-3"]
    assert visible_physical_indices(3, None, None) == [0, 1, 2]
    assert visible_physical_indices(3, None, "2,0") == [2, 0]
    assert visible_physical_indices(3, None, "1,7,0") == [1]  # CUDA stops at the first invalid entry
    assert visible_physical_indices(3, None, "-1") == []
    assert visible_physical_indices(3, uuids, "bbbc,GPU-aaaa") == [2, 0]  # prefixes, with or without GPU-
    assert visible_physical_indices(3, uuids, "GPU-bbb") == []  # ambiguous prefix
    with pytest.raises(PowerSourceError, match="MIG"):
        visible_physical_indices(3, uuids, "MIG-1234")


def test_no_visible_gpu(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(PowerSourceError, match="no NVIDIA GPU visible"):
        NvmlSource()
    assert "shutdown" in fake_nvml.calls  # NVML released even when opening fails


def test_power_mode_forces_one_reading(fake_nvml: FakeNvml) -> None:
    # the board has both readings: "auto" takes the instant field, the forced modes take the one they name
    (auto,) = NvmlSource([0]).read()
    (instant,) = NvmlSource([0], power_mode="instant").read()
    assert auto.power_kind == instant.power_kind == "instant" and instant.power_w == pytest.approx(157.0)
    averaged_source = NvmlSource([0], power_mode="1s-average")
    (averaged,) = averaged_source.read()
    assert averaged.power_kind == "1s-average" and averaged.power_w == pytest.approx(150.0)
    assert "1 s averaged power" in averaged_source.describe()
    assert averaged.energy_counter_j == pytest.approx(1000.0)  # the counter is read whatever the power mode


def test_forced_power_mode_the_board_lacks_is_refused(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0].instant_field = False
    shutdowns = fake_nvml.calls.count("shutdown")
    with pytest.raises(PowerSourceError, match=r"gpu0 .* does not report instant power"):
        NvmlSource([0], power_mode="instant")
    assert fake_nvml.calls.count("shutdown") == shutdowns + 1  # NVML released
    with pytest.raises(PowerSourceError, match="unknown NVML power mode"):
        NvmlSource([0], power_mode="peak")  # type: ignore[arg-type]
