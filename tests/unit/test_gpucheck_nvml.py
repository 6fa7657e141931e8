"""The GPU kit's NVML pieces with pynvml patched (autospec=True): inventory, counter period, counter vs power."""

from __future__ import annotations

import threading
import time

import pynvml
import pytest

from greentui.gpucheck.energy import Triple, TripleSampler, compare_span, read_triple
from greentui.gpucheck.findings import counter_findings, energy_findings
from greentui.gpucheck.nvml_probe import counter_j, nvml_inventory, observe_counter_period
from tests.helpers.fake_nvml import FakeClock, FakeNvml


def test_inventory_reads_versions_limits_and_what_each_board_answers(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[1].instant_field = False
    fake_nvml.gpus[1].power_limit_mw = None
    facts = nvml_inventory()
    assert facts["available"] and facts["reason"] == "4 GPU(s) visible"
    assert facts["nvml_version"] == "12.550.54.15" and facts["driver_version"] == "550.54.15"
    assert facts["cuda_driver_version"] == "12.4"
    first, second = facts["gpus"][:2]
    assert first["device"] == "gpu0" and first["name"] == "NVIDIA H100 80GB HBM3" and first["power_limit_w"] == 700.0
    assert first["supports"] == {
        "energy_counter": True,
        "power_instant_field": True,
        "power_usage": True,
        "power_average_field": True,
    }
    assert first["readings"]["power_instant_w"] == pytest.approx(157.0)  # the field, not the 1 s average
    assert first["readings"]["power_usage_w"] == pytest.approx(150.0)
    assert first["readings"]["energy_counter_j"] == pytest.approx(1000.0)
    assert second["supports"]["power_instant_field"] is False and second["readings"]["power_instant_w"] is None
    assert second["power_limit_w"] is None  # not supported: None, never 0
    assert "shutdown" in fake_nvml.calls


def test_inventory_follows_cuda_visible_devices(fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = nvml_inventory({"CUDA_VISIBLE_DEVICES": "2"})
    assert [(g["device"], g["nvml_index"]) for g in facts["gpus"]] == [("gpu0", 2)]
    assert nvml_inventory({"CUDA_VISIBLE_DEVICES": ""})["reason"] == "no GPU: none visible"


def test_inventory_without_nvml_says_no_gpu_and_why(fake_nvml: FakeNvml) -> None:
    fake_nvml.init_error = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
    assert nvml_inventory() == {"available": False, "reason": "no GPU: NVML library not found"}
    fake_nvml.init_error = None
    fake_nvml.gpus[0].lost = True  # the first GPU fell off the bus while being listed
    facts = nvml_inventory()
    assert not facts["available"] and "GPU is lost" in facts["reason"]
    assert "shutdown" in fake_nvml.calls  # released even then


def test_counter_period_is_the_smallest_gap_between_changes(fake_nvml: FakeNvml) -> None:
    clock = FakeClock(tick_s=0.001)  # every read of the clock is 1 ms later: back-to-back reads
    fake_nvml.clock = clock
    fake_nvml.gpus[0].counter_period_s = 0.1
    period = observe_counter_period(lambda: counter_j(0), reads=1000, min_seconds=2.0, clock=clock)
    assert period.reads >= 1000 and period.seconds >= 2.0
    assert period.changes >= 19
    assert period.min_gap_s == pytest.approx(0.1, abs=0.003)
    assert period.median_gap_s == pytest.approx(0.1, abs=0.003)
    assert counter_findings(period.to_dict())[0]["level"] == "ok"


def test_a_slower_counter_than_greentui_assumes_is_a_bug(fake_nvml: FakeNvml) -> None:
    clock = FakeClock(tick_s=0.001)
    fake_nvml.clock = clock
    fake_nvml.gpus[0].counter_period_s = 0.25
    period = observe_counter_period(lambda: counter_j(0), reads=1000, min_seconds=2.0, clock=clock)
    assert period.min_gap_s == pytest.approx(0.25, abs=0.003)
    (finding,) = counter_findings(period.to_dict())
    assert finding["level"] == "bug" and "flags only windows under 0.1 s" in finding["detail"]


def test_a_counter_that_never_moves_is_a_bug_and_failed_reads_count(fake_nvml: FakeNvml) -> None:
    clock = FakeClock(tick_s=0.01)
    values = iter([None, 5.0] + [5.0] * 2000)
    period = observe_counter_period(lambda: next(values), reads=100, min_seconds=0.5, max_seconds=5.0, clock=clock)
    assert period.changes == 0 and period.min_gap_s is None and period.reads == 100 and period.failed_reads == 1
    assert counter_findings(period.to_dict())[0]["level"] == "bug"


def test_a_board_without_counter_is_noted_not_blamed(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0].energy_mj = None  # pre-Volta
    period = observe_counter_period(lambda: counter_j(0), reads=50, min_seconds=0.0, clock=FakeClock(tick_s=0.001))
    assert period.failed_reads == period.reads == 50 and period.changes == 0
    (finding,) = counter_findings(period.to_dict())
    assert finding["level"] == "info" and "no energy counter" in finding["detail"]


def test_counter_period_stops_at_its_time_limit() -> None:
    clock = FakeClock(tick_s=0.5)
    period = observe_counter_period(lambda: 1.0, reads=10**6, min_seconds=1.0, max_seconds=3.0, clock=clock)
    assert period.reads < 10 and period.seconds <= 3.5


def _span(
    fake: FakeNvml, clock: FakeClock, seconds: float, step_s: float = 0.01
) -> tuple[Triple, Triple, list[Triple]]:
    """Read the fake GPU at ``step_s`` for ``seconds`` of fake time: (begin, end, readings between)."""
    begin = read_triple(0, clock)
    readings = []
    for _ in range(round(seconds / step_s) - 1):
        clock.advance(step_s)
        readings.append(read_triple(0, clock))
    clock.advance(step_s)
    return begin, read_triple(0, clock), readings


def test_counter_and_instant_power_agree_on_a_steady_load(fake_nvml: FakeNvml) -> None:
    clock = FakeClock(now_s=100.05)  # edges half a counter period from its steps: the delta holds whole steps
    fake_nvml.clock = clock
    gpu = fake_nvml.gpus[0]
    gpu.counter_period_s, gpu.power_mw, gpu.instant_offset_mw = 0.1, 600_000, 0
    begin, end, readings = _span(fake_nvml, clock, 60.0)
    span = compare_span(begin, end, readings)
    assert span.seconds == pytest.approx(60.0)
    assert span.counter_j == pytest.approx(600.0 * 60.0)  # 36 kJ: 600 steps of 60 J
    assert span.instant_j == pytest.approx(36_000.0)
    assert span.instant_over_counter == pytest.approx(1.0, abs=0.005)
    assert span.sample_rate_hz == pytest.approx(100.0, rel=0.02)
    assert span.mean_power_w == pytest.approx(600.0)
    findings = energy_findings({"load": span.to_dict()}, rate_hz=100.0)
    assert [f["level"] for f in findings] == ["ok", "ok"]


def test_instant_power_off_by_five_percent_is_reported_as_a_bug(fake_nvml: FakeNvml) -> None:
    clock = FakeClock(now_s=0.05)
    fake_nvml.clock = clock
    gpu = fake_nvml.gpus[0]
    gpu.counter_period_s, gpu.power_mw, gpu.instant_offset_mw = 0.1, 140_000, 7_000  # instant reads 147 W
    begin, end, readings = _span(fake_nvml, clock, 10.0, step_s=0.1)
    span = compare_span(begin, end, readings).to_dict()
    assert span["instant_over_counter"] == pytest.approx(1.05, abs=0.002)
    assert span["average_over_counter"] == pytest.approx(1.0, abs=0.002)
    findings = energy_findings({"idle": span, "load": span}, rate_hz=100.0)
    levels = {f["check"]: f["level"] for f in findings}
    assert levels["load: counter vs instant power"] == "bug"
    assert levels["idle: counter vs instant power"] == "warning"  # 10 s of idle: a looser limit, a warning
    assert levels["load: counter vs 1 s averaged power"] == "ok"
    assert levels["load: sampling rate"] == "warning"  # 10 Hz reached of 100 Hz asked


def test_a_board_without_counter_gives_no_ratio(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0].energy_mj = None
    clock = FakeClock()
    begin, end, readings = _span(fake_nvml, clock, 1.0, step_s=0.1)
    span = compare_span(begin, end, readings)
    assert span.counter_j is None and span.instant_over_counter is None and span.instant_j == pytest.approx(157.0)
    (finding, *_) = energy_findings({"load": span.to_dict()}, rate_hz=10.0)
    assert finding["level"] == "warning" and "no ratio" in finding["detail"]


def test_sampler_thread_keeps_readings_and_counts_failed_reads() -> None:
    calls = 0
    enough = threading.Event()

    def read() -> Triple:
        nonlocal calls
        calls += 1
        if calls >= 6:
            enough.set()
        if calls % 3 == 0:
            raise RuntimeError("a failed NVML call")
        return Triple(time.monotonic(), float(calls), 100.0, 100.0)

    sampler = TripleSampler(read, rate_hz=500.0)
    sampler.start()
    assert enough.wait(10)
    readings = sampler.stop()
    assert len(readings) >= 4 and sampler.errors >= 2
    assert [r.t_mono_s for r in readings] == sorted(r.t_mono_s for r in readings)
    with pytest.raises(ValueError, match="above 0 Hz"):
        TripleSampler(read, rate_hz=0)
