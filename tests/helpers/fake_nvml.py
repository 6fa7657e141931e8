"""A fake NVML for tests: pynvml's functions patched (``autospec=True``) over a list of fake GPUs.

Shared by the NVML power source's tests and the GPU kit's (``greentui.gpucheck``). Each patched function keeps
pynvml's own signature (autospec enforces it) and answers from :class:`FakeGpu` fields; a feature a board lacks
raises ``NVMLError_NotSupported`` as the real library does.

The energy counter holds still by default (tests move ``energy_mj`` by hand). With ``counter_period_s`` set it
advances with :attr:`FakeNvml.clock` instead, from ``energy_mj`` at its first read: at every period boundary, by
``power_mw`` x the period (mW x s = mJ), as the driver's counter does, so readers that watch it change (the
counter-period check, window edges) see steps, and a test that raises ``power_mw`` sees the counter speed up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from unittest.mock import patch

import pynvml
import pytest


def nvml_error(code: int) -> pynvml.NVMLError:
    return pynvml.NVMLError(code)  # pynvml maps the code to its subclass (NVMLError_NotSupported, ...)


@dataclass
class FakeClock:
    """A clock tests move by hand; ``tick_s`` > 0 also moves it on every read (back-to-back NVML reads)."""

    now_s: float = 0.0
    tick_s: float = 0.0

    def __call__(self) -> float:
        now = self.now_s
        self.now_s += self.tick_s
        return now

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    energy_mj: int | None = 1_000_000  # None: no counter (pre-Volta)
    power_mw: int = 150_000
    instant_field: bool = True
    instant_offset_mw: int = 7_000  # the instant field reads this much above the 1 s average (tells them apart)
    average_field: bool = True  # NVML_FI_DEV_POWER_AVERAGE
    power_usage: bool = True  # nvmlDeviceGetPowerUsage
    power_limit_mw: int | None = 700_000
    counter_period_s: float | None = None  # None: the counter moves only when a test sets energy_mj
    temperature_c: int | None = 55
    sm_clock_mhz: int | None = 1980
    lost: bool = False
    # the advancing counter's state: the last update it made (time, mJ)
    counted: tuple[float, float] | None = field(default=None, repr=False)


@dataclass
class FakeNvml:
    gpus: list[FakeGpu] = field(default_factory=list)
    init_error: int | None = None
    calls: list[str] = field(default_factory=list)
    clock: Callable[[], float] = field(default_factory=FakeClock)
    nvml_version: str = "12.550.54.15"
    driver_version: str = "550.54.15"
    cuda_driver_version: int = 12040  # 1000 x major + 10 x minor, as NVML reports it

    def _gpu(self, handle: int) -> FakeGpu:
        gpu = self.gpus[handle]
        if gpu.lost:
            raise nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)
        return gpu

    # the patched functions (same signatures as pynvml's, enforced by autospec)
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise nvml_error(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlSystemGetNVMLVersion(self) -> str:
        return self.nvml_version

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver_version

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self.cuda_driver_version

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < len(self.gpus):
            raise nvml_error(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return index

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return self.gpus[handle].uuid

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._gpu(handle).name

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        gpu = self._gpu(handle)
        if gpu.power_limit_mw is None:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.power_limit_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        gpu = self._gpu(handle)
        if gpu.energy_mj is None:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        if gpu.counter_period_s is None:
            return gpu.energy_mj
        # the driver adds power x period at every period boundary; power is taken as constant since the last
        # update (tests change power_mw between reads, so the fake is exact to one read)
        boundary = math.floor(self.clock() / gpu.counter_period_s) * gpu.counter_period_s
        if gpu.counted is None:
            gpu.counted = (boundary, float(gpu.energy_mj))
        elif boundary > gpu.counted[0]:
            gpu.counted = (boundary, gpu.counted[1] + gpu.power_mw * (boundary - gpu.counted[0]))
        return round(gpu.counted[1])

    def nvmlDeviceGetFieldValues(self, handle: int, fieldIds: list) -> object:
        gpu = self._gpu(handle)
        values = (pynvml.c_nvmlFieldValue_t * len(fieldIds))()
        for value, field_id in zip(values, fieldIds):
            value.fieldId = field_id
            reading = None
            if field_id == pynvml.NVML_FI_DEV_POWER_INSTANT and gpu.instant_field:
                reading = gpu.power_mw + gpu.instant_offset_mw
            elif field_id == pynvml.NVML_FI_DEV_POWER_AVERAGE and gpu.average_field:
                reading = gpu.power_mw
            if reading is None:
                value.nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
            else:
                value.nvmlReturn = pynvml.NVML_SUCCESS
                value.valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
                value.value.uiVal = reading
        return values

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        self.calls.append("power_usage")
        gpu = self._gpu(handle)
        if not gpu.power_usage:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.power_mw

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        gpu = self._gpu(handle)
        if gpu.temperature_c is None:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.temperature_c

    def nvmlDeviceGetClockInfo(self, handle: int, type: int) -> int:
        gpu = self._gpu(handle)
        if gpu.sm_clock_mhz is None:
            raise nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.sm_clock_mhz


PATCHED = [name for name, value in vars(FakeNvml).items() if name.startswith("nvml") and callable(value)]


def four_h100s() -> FakeNvml:
    return FakeNvml([FakeGpu(f"GPU-{c * 8}-1111-2222-3333-444444444444") for c in "abcd"])


def patched_nvml(fake: FakeNvml) -> Iterator[FakeNvml]:
    """Patch every function :class:`FakeNvml` fakes (autospec=True) for the duration of the generator."""
    patchers = [patch.object(pynvml, name, autospec=True, side_effect=getattr(fake, name)) for name in PATCHED]
    for patcher in patchers:
        patcher.start()
    try:
        yield fake
    finally:
        for patcher in patchers:
            patcher.stop()


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNvml]:
    """Four fake H100s behind a patched pynvml, with ``CUDA_VISIBLE_DEVICES`` unset."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    yield from patched_nvml(four_h100s())
