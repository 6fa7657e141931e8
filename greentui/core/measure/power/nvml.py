"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` package, imported as ``pynvml``).

Energy: ``nvmlDeviceGetTotalEnergyConsumption`` is a cumulative counter in millijoules since the driver
loaded (Volta and newer). Window energy is the difference of two readings, which is authoritative for windows
of about 0.1 s and longer (:data:`COUNTER_PERIOD_S`); Zeus (``zeus/monitor/energy.py``) relies on it the
same way.

Live power: ``nvmlDeviceGetFieldValues(NVML_FI_DEV_POWER_INSTANT)`` where the driver supports it
(``power_kind="instant"``), else ``nvmlDeviceGetPowerUsage``, which A100/H100-class boards report as a
one-second moving average; samples from it say ``power_kind="1s-average"`` so nobody integrates it as if it
were instantaneous without knowing.

Devices are named ``gpu<N>`` with N the CUDA index the models use (``cuda:N``), which is a position in
``CUDA_VISIBLE_DEVICES`` when that is set (integer indices, full or prefix UUIDs), not NVML's index.

``power_mode`` forces one of the two power readings (``"instant"`` or ``"1s-average"``) instead of the best one
(``"auto"``), so the two can be sampled side by side and each integrated against the energy counter
(``benchmarks/gpu_check.py`` does, to tell whether greentui's GPU figures are true on a given board and driver).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from greentui.core.measure.power.base import PowerSource, PowerSourceError
from greentui.core.records import PowerSample

try:  # a dependency of greentui (and of codecarbon); still, say so plainly if it is missing
    import pynvml
except ImportError:  # pragma: no cover - exercised only on broken installs
    pynvml = None

# NVML's total-energy counter is refreshed about every 100 ms; shorter windows are flagged by the meter.
COUNTER_PERIOD_S = 0.1


# "auto": instant where the driver has it, else the 1 s average; the others force one reading.
PowerMode = Literal["auto", "instant", "1s-average"]

_INIT_HINT = "NVML ships with the NVIDIA driver (libnvidia-ml.so); no NVIDIA GPU or driver here means no GPU metering"


def nvml_error_reason(exc: BaseException) -> str:
    """A short human reason for an NVML failure ("NVML library not found", "NVIDIA driver not loaded")."""
    kind = type(exc).__name__
    known = {
        "NVMLError_LibraryNotFound": "NVML library not found",
        "NVMLError_DriverNotLoaded": "NVIDIA driver not loaded",
        "NVMLError_NoPermission": "no permission to query the GPU through NVML",
        "NVMLError_GpuIsLost": "the GPU fell off the bus (NVML: GPU is lost)",
        "NVMLError_LibRmVersionMismatch": "NVML library and driver versions differ (reboot or reinstall)",
    }
    if kind in known:
        return known[kind]
    try:
        text = str(exc)
    except Exception:  # NVMLError.__str__ itself calls into the library
        text = kind
    return f"NVML error: {text}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def visible_physical_indices(count: int, uuids: Sequence[str] | None, cuda_visible: str | None) -> list[int]:
    """NVML indices of the GPUs CUDA shows, in CUDA order.

    Follows CUDA's rules: entries are integer indices or (prefixes of) UUIDs; the list stops at the first entry
    that names no device (so ``-1`` hides every GPU). ``uuids`` lists each NVML device's UUID in NVML order and
    is needed only when the variable holds UUIDs. MIG slices raise: NVML cannot meter a slice's power.
    """
    if cuda_visible is None:
        return list(range(count))
    chosen: list[int] = []
    for entry in (part.strip() for part in cuda_visible.split(",")):
        if entry.upper().startswith("MIG-"):
            raise PowerSourceError(
                f"CUDA_VISIBLE_DEVICES names a MIG slice ({entry}); NVML cannot measure a slice's power "
                "(use whole-GPU indices to measure the whole board)"
            )
        if entry.lstrip("-").isdigit():
            index = int(entry)
            if not 0 <= index < count:
                break
            chosen.append(index)
            continue
        if not entry or uuids is None:
            break
        wanted = entry.lower() if entry.lower().startswith("gpu-") else f"gpu-{entry.lower()}"
        matches = [i for i, uuid in enumerate(uuids) if uuid.lower().startswith(wanted)]
        if len(matches) != 1:
            break  # unknown or ambiguous prefix: CUDA stops here too
        chosen.append(matches[0])
    return chosen


@dataclass
class _Gpu:
    device: str  # "gpu0": the CUDA index
    nvml_index: int
    handle: Any
    model: str
    has_counter: bool
    power_mode: str | None  # "instant", "1s-average" or None (no power reading)
    has_temperature: bool
    has_sm_clock: bool


class NvmlSource(PowerSource):
    """Power and energy of the NVIDIA GPUs the models run on.

    ``gpu_indices`` are CUDA indices (``cuda:N``); empty means every visible GPU. Raises
    :class:`PowerSourceError` with the reason when NVML is missing or fails, or a GPU cannot be read at all.
    Errors after start-up are not raised: the affected readings become None and :attr:`errors` counts them.
    """

    name = "nvml"
    quality = "measured"

    def __init__(
        self,
        gpu_indices: Sequence[int] = (),
        *,
        environ: Mapping[str, str] | None = None,
        power_mode: PowerMode = "auto",
    ) -> None:
        if power_mode not in get_args(PowerMode):
            raise PowerSourceError(
                f"unknown NVML power mode {power_mode!r}: choose one of {', '.join(get_args(PowerMode))}"
            )
        self.power_mode: PowerMode = power_mode
        if pynvml is None:
            raise PowerSourceError("nvidia-ml-py is not installed")
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise PowerSourceError(nvml_error_reason(exc), details={"hint": _INIT_HINT}) from None
        self._open = True
        self._lock = threading.Lock()
        self.errors = 0
        self.last_error: str | None = None
        try:
            self._gpus = self._open_gpus(gpu_indices, os.environ if environ is None else environ)
        except pynvml.NVMLError as exc:
            self.close()
            raise PowerSourceError(nvml_error_reason(exc)) from None
        except PowerSourceError:
            self.close()
            raise
        self._by_device = {gpu.device: gpu for gpu in self._gpus}
        self.counter_period_s = COUNTER_PERIOD_S if any(g.has_counter for g in self._gpus) else None

    # ---------------------------------------------------------------------------------------------- setup
    def _open_gpus(self, gpu_indices: Sequence[int], environ: Mapping[str, str]) -> list[_Gpu]:
        count = pynvml.nvmlDeviceGetCount()
        cuda_visible = environ.get("CUDA_VISIBLE_DEVICES")
        uuids = None
        if cuda_visible is not None and any(
            part.strip() and not part.strip().lstrip("-").isdigit() for part in cuda_visible.split(",")
        ):
            uuids = [_text(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
        physical = visible_physical_indices(count, uuids, cuda_visible)
        if not physical:
            where = f" (CUDA_VISIBLE_DEVICES={cuda_visible!r})" if cuda_visible is not None else ""
            raise PowerSourceError(f"no NVIDIA GPU visible{where}")
        wanted = list(gpu_indices) or list(range(len(physical)))
        gpus = []
        for cuda_index in dict.fromkeys(wanted):
            if not 0 <= cuda_index < len(physical):
                raise PowerSourceError(f"GPU cuda:{cuda_index} is not visible ({len(physical)} GPU(s) visible)")
            gpus.append(self._probe(f"gpu{cuda_index}", physical[cuda_index], self.power_mode))
        return gpus

    @staticmethod
    def _probe(device: str, nvml_index: int, wanted: PowerMode = "auto") -> _Gpu:
        handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index)
        model = _text(pynvml.nvmlDeviceGetName(handle))
        has_counter = _supported(pynvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        has_instant = wanted != "1s-average" and _instant_power_mw(handle) is not None
        has_average = not has_instant and wanted != "instant" and _supported(pynvml.nvmlDeviceGetPowerUsage, handle)
        power_mode: str | None = "instant" if has_instant else "1s-average" if has_average else None
        if wanted != "auto" and power_mode is None:
            what = "instant power (NVML_FI_DEV_POWER_INSTANT)" if wanted == "instant" else "nvmlDeviceGetPowerUsage"
            raise PowerSourceError(f"{device} ({model}) does not report {what}")
        if not has_counter and power_mode is None:
            raise PowerSourceError(f"{device} ({model}) reports neither energy nor power through NVML")
        return _Gpu(
            device=device,
            nvml_index=nvml_index,
            handle=handle,
            model=model,
            has_counter=has_counter,
            power_mode=power_mode,
            has_temperature=_supported(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU),
            has_sm_clock=_supported(pynvml.nvmlDeviceGetClockInfo, handle, pynvml.NVML_CLOCK_SM),
        )

    # ---------------------------------------------------------------------------------------------- reads
    def devices(self) -> list[str]:
        return [gpu.device for gpu in self._gpus]

    def read(self) -> list[PowerSample]:
        samples = []
        with self._lock:
            for gpu in self._gpus:
                before = time.monotonic()
                power_w = self._power_w(gpu)
                counter_j = self._counter_j(gpu)
                temperature = clock = None
                if gpu.has_temperature:
                    temperature = self._call(gpu, pynvml.nvmlDeviceGetTemperature, pynvml.NVML_TEMPERATURE_GPU)
                if gpu.has_sm_clock:
                    clock = self._call(gpu, pynvml.nvmlDeviceGetClockInfo, pynvml.NVML_CLOCK_SM)
                samples.append(
                    PowerSample(
                        # the middle of the calls: each NVML query takes a few hundred microseconds
                        t_mono_s=(before + time.monotonic()) / 2,
                        device=gpu.device,
                        power_w=power_w,
                        source=self.name,
                        quality=self.quality,
                        energy_counter_j=counter_j,
                        power_kind=gpu.power_mode or "instant",
                        temperature_c=None if temperature is None else float(temperature),
                        sm_clock_mhz=None if clock is None else float(clock),
                    )
                )
        return samples

    def energy_counter_j(self, device: str) -> float | None:
        gpu = self._by_device.get(device)
        if gpu is None:
            return None
        with self._lock:
            return self._counter_j(gpu)

    def _counter_j(self, gpu: _Gpu) -> float | None:
        if not gpu.has_counter:
            return None
        millijoules = self._call(gpu, pynvml.nvmlDeviceGetTotalEnergyConsumption)
        return None if millijoules is None else millijoules / 1000.0

    def _power_w(self, gpu: _Gpu) -> float | None:
        if gpu.power_mode == "instant":
            try:
                milliwatts = _instant_power_mw(gpu.handle, raise_errors=True)
            except pynvml.NVMLError as exc:
                self._note(gpu, exc)
                return None
        elif gpu.power_mode == "1s-average":
            milliwatts = self._call(gpu, pynvml.nvmlDeviceGetPowerUsage)
        else:
            return None
        return None if milliwatts is None else milliwatts / 1000.0

    def _call(self, gpu: _Gpu, function: Any, *args: Any) -> Any:
        try:
            return function(gpu.handle, *args)
        except pynvml.NVMLError as exc:
            self._note(gpu, exc)
            return None

    def _note(self, gpu: _Gpu, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{gpu.device}: {nvml_error_reason(exc)}"

    # --------------------------------------------------------------------------------------------- report
    def describe(self) -> str:
        parts = []
        for gpu in self._gpus:
            how = ["energy counter" if gpu.has_counter else "no energy counter: power integrated"]
            if gpu.power_mode == "instant":
                how.append("instant power")
            elif gpu.power_mode == "1s-average":
                how.append("1 s averaged power")
            parts.append(f"{gpu.device} {gpu.model} ({', '.join(how)})")
        return "NVML " + "; ".join(parts)

    def label(self) -> str:
        return "NVML " + ", ".join(self.devices())

    def details(self) -> dict[str, str]:
        out = {}
        for gpu in self._gpus:
            out[gpu.device] = (
                f"{gpu.model} (NVML index {gpu.nvml_index}); "
                f"counter: {'yes, ~0.1 s updates' if gpu.has_counter else 'no'}; power: {gpu.power_mode or 'none'}"
            )
        return out

    def close(self) -> None:
        if getattr(self, "_open", False):
            self._open = False
            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError:
                pass


def _supported(function: Any, handle: Any, *args: Any) -> bool:
    try:
        function(handle, *args)
    except pynvml.NVMLError:
        return False
    return True


def _instant_power_mw(handle: Any, *, raise_errors: bool = False) -> float | None:
    """Instantaneous board power in mW from the NVML field API, or None where the driver lacks it."""
    try:
        value = pynvml.nvmlDeviceGetFieldValues(handle, [pynvml.NVML_FI_DEV_POWER_INSTANT])[0]
    except pynvml.NVMLError:
        if raise_errors:
            raise
        return None
    if value.nvmlReturn != pynvml.NVML_SUCCESS:
        if raise_errors:
            raise pynvml.NVMLError(value.nvmlReturn)
        return None
    member = {
        pynvml.NVML_VALUE_TYPE_DOUBLE: "dVal",
        pynvml.NVML_VALUE_TYPE_UNSIGNED_INT: "uiVal",
        pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG: "ulVal",
        pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
        pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: "sllVal",
        pynvml.NVML_VALUE_TYPE_SIGNED_INT: "siVal",
    }.get(value.valueType, "uiVal")
    return float(getattr(value.value, member))
