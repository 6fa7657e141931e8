"""The CPU power estimate: the model, the TDP lookup in codecarbon's table, utilisation from psutil (patched)."""

from __future__ import annotations

import os
import threading
from unittest.mock import patch

import psutil
import pytest

from greentui.core.measure.power import estimate as estimate_module
from greentui.core.measure.power.estimate import (
    CpuPowerModel,
    EstimateSource,
    codecarbon_cpu_table,
    cpu_power_model,
    lookup_tdp,
)

CpuTimes = type(psutil.cpu_times())


def cpu_times(busy_s: float, idle_s: float) -> object:
    """A psutil.cpu_times() tuple with ``busy_s`` of user time and ``idle_s`` idle (all else zero)."""
    values = dict.fromkeys(CpuTimes._fields, 0.0)
    values.update(user=busy_s, idle=idle_s)
    return CpuTimes(**values)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


MODEL = CpuPowerModel("Test CPU 9000", logical_cpus=4, tdp_w=100.0, tdp_source="test")


def test_fixed_utilisation_gives_the_model_figure() -> None:
    clock = Clock()
    readings = iter([cpu_times(0.0, 0.0), cpu_times(1.0, 3.0), cpu_times(1.0, 3.0), cpu_times(4.0, 4.0)])
    with patch.object(estimate_module.psutil, "cpu_times", autospec=True, side_effect=lambda: next(readings)):
        source = EstimateSource(model=MODEL, clock=clock)
        clock.t = 1.0
        (sample,) = source.read()  # 1 s busy of 4 s CPU time: 25 %
        assert sample.quality == "estimated" and sample.source == "estimate" and sample.device == "cpu"
        assert sample.power_w == pytest.approx(10.0 + 90.0 * 0.25)  # idle 10 % of TDP + the rest x load
        clock.t = 1.01
        (held,) = source.read()  # too soon for a new figure: the last one is kept, the snapshot not moved
        assert held.power_w == pytest.approx(32.5)
        clock.t = 2.0
        source.read()  # no CPU time passed at all (same cpu_times): keeps 25 %
        clock.t = 3.0
        (busy,) = source.read()  # 3 s busy of 4 s since the last good snapshot: 75 %
        assert busy.power_w == pytest.approx(10.0 + 90.0 * 0.75)
    assert source.detail is not None and source.detail.machine_utilisation == pytest.approx(0.75)


def test_steal_is_not_load_and_guest_is_not_counted_twice() -> None:
    base = dict.fromkeys(CpuTimes._fields, 0.0)
    later = dict(base, user=2.0, idle=1.0)
    if "steal" in CpuTimes._fields:
        later["steal"] = 1.0  # the hypervisor's, not ours
    if "guest" in CpuTimes._fields:
        later["guest"] = 1.0  # already inside user on Linux
    readings = iter([CpuTimes(**base), CpuTimes(**later)])
    clock = Clock()
    with patch.object(estimate_module.psutil, "cpu_times", autospec=True, side_effect=lambda: next(readings)):
        source = EstimateSource(model=MODEL, clock=clock)
        clock.t = 1.0
        (sample,) = source.read()
    # busy 2 s (guest is inside user, so it is not added again), idle 1 s; steal is neither
    assert source.detail.machine_utilisation == pytest.approx(2.0 / 3.0)
    assert sample.power_w == pytest.approx(MODEL.power_w(2.0 / 3.0))


def test_model_formula_and_description() -> None:
    assert MODEL.idle_w == pytest.approx(10.0)
    assert MODEL.power_w(0.0) == pytest.approx(10.0) and MODEL.power_w(1.0) == pytest.approx(100.0)
    assert MODEL.power_w(2.0) == pytest.approx(100.0)  # clamped
    text = EstimateSource(model=MODEL).describe()
    assert "TDP 100 W from test" in text and "0.1 x TDP" in text and "CodeCarbon" in text


@pytest.mark.parametrize(
    ("detected", "expected_tdp"),
    [
        ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", 95.0),
        ("Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", 65.0),
        ("AMD Ryzen 9 5950X 16-Core Processor", 105.0),
        ("AMD EPYC 7763 64-Core Processor", 280.0),
        ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 270.0),
        ("Apple M2", 22.0),
    ],
)
def test_tdp_lookup_in_codecarbons_table(detected: str, expected_tdp: float) -> None:
    found = lookup_tdp(detected, codecarbon_cpu_table())
    assert found is not None and found[1] == expected_tdp


def test_unknown_cpu_gets_the_stated_default() -> None:
    assert lookup_tdp("Intel(R) Xeon(R) Processor", codecarbon_cpu_table()) is None  # too generic to match
    model = cpu_power_model("Intel(R) Xeon(R) Processor")
    threads = psutil.cpu_count(logical=True)
    assert model.tdp_w == pytest.approx(4.0 * threads)
    assert "default" in model.tdp_source and "4 W" in model.tdp_source
    known = cpu_power_model("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz")
    assert known.tdp_w == 95.0 and "codecarbon" in known.tdp_source
    assert cpu_power_model("anything", tdp_w=42).tdp_source == "given by the user"


def test_ambiguous_lookup_returns_none() -> None:
    table = [("Core X1", 10.0), ("Core X1", 20.0)]
    assert lookup_tdp("Vendor Core X1", table) is None


def test_concurrent_reads_are_safe() -> None:
    source = EstimateSource(model=MODEL)
    errors: list[BaseException] = []
    powers: list[float] = []

    def reader() -> None:
        try:
            for _ in range(200):
                for sample in source.read():
                    if sample.power_w is not None:
                        powers.append(sample.power_w)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(MODEL.idle_w <= p <= MODEL.tdp_w for p in powers)


def test_process_tree_is_kept_as_detail_and_ram_is_optional() -> None:
    clock = Clock()
    source = EstimateSource(lambda: [os.getpid()], model=MODEL, include_ram=True, clock=clock)
    assert source.devices() == ["cpu", "ram"]
    for step in range(1, 4):
        clock.t = float(step)
        samples = source.read()
    assert source.detail.pids == (os.getpid(),)
    assert source.detail.process_utilisation is not None and 0.0 <= source.detail.process_utilisation <= 1.0
    ram = next(s for s in samples if s.device == "ram")
    assert ram.power_w == pytest.approx(psutil.virtual_memory().total / 2**30 * 3 / 8)
    assert "3 W per 8 GB" in source.describe()


def test_a_failing_pid_callable_does_not_stop_the_estimate() -> None:
    def broken() -> list[int]:
        raise RuntimeError("no workers yet")

    clock = Clock()
    source = EstimateSource(broken, model=MODEL, clock=clock)
    clock.t = 1.0
    source.read()
    assert source.detail is not None and source.detail.process_utilisation is None
