"""What NVML says about this machine, and how often the GPU's energy counter really changes.

:func:`nvml_inventory` is ``greentui doctor``'s NVML half in JSON form plus what doctor does not read: the NVML,
driver and CUDA driver versions, and per GPU (in CUDA order, honouring ``CUDA_VISIBLE_DEVICES`` as the power
source does) the power limit and which of the power readings and the energy counter the board answers.

:func:`observe_counter_period` reads the counter back to back and reports the gaps between its changes. greentui
flags energy windows shorter than :data:`~greentui.core.measure.power.nvml.COUNTER_PERIOD_S` (0.1 s); if a board
updates its counter less often, windows between the two are silently wrong, and this is how to find out.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from greentui.core.measure.power.nvml import COUNTER_PERIOD_S, nvml_error_reason, visible_physical_indices

try:
    import pynvml
except ImportError:  # pragma: no cover - exercised only on broken installs
    pynvml = None

NO_GPU = "no GPU"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field_mw(handle: Any, field_id: int) -> float | None:
    """One NVML field value in mW, or None where the board or driver lacks it."""
    try:
        value = pynvml.nvmlDeviceGetFieldValues(handle, [field_id])[0]
    except pynvml.NVMLError:
        return None
    if value.nvmlReturn != pynvml.NVML_SUCCESS:
        return None
    member = {
        pynvml.NVML_VALUE_TYPE_DOUBLE: "dVal",
        pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG: "ulVal",
        pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: "ullVal",
        pynvml.NVML_VALUE_TYPE_SIGNED_LONG_LONG: "sllVal",
        pynvml.NVML_VALUE_TYPE_SIGNED_INT: "siVal",
    }.get(value.valueType, "uiVal")
    return float(getattr(value.value, member))


def instant_power_w(handle: Any) -> float | None:
    """Board power from ``NVML_FI_DEV_POWER_INSTANT`` in W, or None."""
    milliwatts = _field_mw(handle, pynvml.NVML_FI_DEV_POWER_INSTANT)
    return None if milliwatts is None else milliwatts / 1000.0


def average_power_w(handle: Any) -> float | None:
    """``nvmlDeviceGetPowerUsage`` in W (a 1 s moving average on A100/H100-class boards), or None."""
    try:
        return float(pynvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0
    except pynvml.NVMLError:
        return None


def counter_j(handle: Any) -> float | None:
    """``nvmlDeviceGetTotalEnergyConsumption`` in J, or None without a counter."""
    try:
        return float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)) / 1000.0
    except pynvml.NVMLError:
        return None


def _optional(function: Callable[..., Any], *args: Any) -> Any:
    try:
        return function(*args)
    except pynvml.NVMLError:
        return None


def _cuda_version(raw: int | None) -> str | None:
    return None if raw is None else f"{raw // 1000}.{raw % 1000 // 10}"


def gpu_facts(handle: Any) -> dict[str, Any]:
    """Name, power limit, and which readings the board answers (with one reading of each)."""
    limit_mw = _optional(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    average_field_mw = (
        _field_mw(handle, pynvml.NVML_FI_DEV_POWER_AVERAGE) if hasattr(pynvml, "NVML_FI_DEV_POWER_AVERAGE") else None
    )
    readings = {
        "energy_counter_j": counter_j(handle),
        "power_instant_w": instant_power_w(handle),  # NVML_FI_DEV_POWER_INSTANT
        "power_usage_w": average_power_w(handle),  # nvmlDeviceGetPowerUsage (1 s average on A100/H100)
        "power_average_field_w": None if average_field_mw is None else average_field_mw / 1000.0,
    }
    return {
        "name": _text(pynvml.nvmlDeviceGetName(handle)),
        "power_limit_w": None if limit_mw is None else limit_mw / 1000.0,
        "supports": {
            "energy_counter": readings["energy_counter_j"] is not None,
            "power_instant_field": readings["power_instant_w"] is not None,
            "power_usage": readings["power_usage_w"] is not None,
            "power_average_field": readings["power_average_field_w"] is not None,
        },
        "readings": readings,
    }


def nvml_inventory(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """NVML's facts as a JSON-ready dict; ``{"available": False, "reason": "no GPU: ..."}`` when there is none.

    Never raises: a failure part-way is reported in ``reason`` with whatever was read before it.
    """
    env = os.environ if environ is None else environ
    if pynvml is None:
        return {"available": False, "reason": f"{NO_GPU}: nvidia-ml-py is not installed"}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return {"available": False, "reason": f"{NO_GPU}: {nvml_error_reason(exc)}"}
    facts: dict[str, Any] = {"available": False, "gpus": []}
    try:
        facts["nvml_version"] = _optional(lambda: _text(pynvml.nvmlSystemGetNVMLVersion()))
        facts["driver_version"] = _optional(lambda: _text(pynvml.nvmlSystemGetDriverVersion()))
        facts["cuda_driver_version"] = _cuda_version(_optional(pynvml.nvmlSystemGetCudaDriverVersion))
        count = pynvml.nvmlDeviceGetCount()
        uuids = [_text(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
        facts["cuda_visible_devices"] = env.get("CUDA_VISIBLE_DEVICES")
        for cuda_index, nvml_index in enumerate(
            visible_physical_indices(count, uuids, env.get("CUDA_VISIBLE_DEVICES"))
        ):
            handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index)
            gpu = {"device": f"gpu{cuda_index}", "nvml_index": nvml_index, "uuid": uuids[nvml_index]}
            facts["gpus"].append(gpu | gpu_facts(handle))
        facts["available"] = bool(facts["gpus"])
        facts["reason"] = f"{len(facts['gpus'])} GPU(s) visible" if facts["gpus"] else f"{NO_GPU}: none visible"
    except pynvml.NVMLError as exc:
        facts["reason"] = f"{NO_GPU}: {nvml_error_reason(exc)}"
        facts["available"] = False
    except Exception as exc:  # a MIG slice in CUDA_VISIBLE_DEVICES (PowerSourceError) and the like
        facts["reason"] = f"{NO_GPU}: {exc}"
        facts["available"] = False
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return facts


@dataclass(frozen=True)
class CounterPeriod:
    """Changes of the energy counter seen over back-to-back reads."""

    reads: int
    seconds: float
    read_us: float  # mean time of one read
    failed_reads: int  # reads that returned nothing (all of them: the board has no counter)
    changes: int
    min_gap_s: float | None  # the smallest gap between two consecutive changes: the update period, or less
    median_gap_s: float | None
    max_gap_s: float | None
    assumed_period_s: float = COUNTER_PERIOD_S  # what greentui's meter assumes when it flags short windows

    def to_dict(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "seconds": round(self.seconds, 4),
            "read_us": round(self.read_us, 2),
            "failed_reads": self.failed_reads,
            "changes": self.changes,
            "min_gap_s": self.min_gap_s,
            "median_gap_s": self.median_gap_s,
            "max_gap_s": self.max_gap_s,
            "greentui_assumes_s": self.assumed_period_s,
        }


def observe_counter_period(
    read_counter: Callable[[], float | None],
    *,
    reads: int = 1000,
    min_seconds: float = 2.0,
    max_seconds: float = 10.0,
    clock: Callable[[], float] = time.perf_counter,
) -> CounterPeriod:
    """Read the counter back to back: at least ``reads`` times and for at least ``min_seconds`` (1,000 fast
    reads can span less than one update period), at most ``max_seconds``; report the gaps between changes.

    The time of a change is the time of the first read that saw it, so each gap is accurate to about one read.
    A read that fails (None) counts as a read and changes nothing.
    """
    started = clock()
    now = started
    done = failed = 0
    previous: float | None = None
    change_times: list[float] = []
    while (done < reads or now - started < min_seconds) and now - started < max_seconds:
        value = read_counter()
        now = clock()
        done += 1
        if value is None:
            failed += 1
            continue
        if previous is not None and value != previous:
            change_times.append(now)
        previous = value
    gaps = [b - a for a, b in itertools.pairwise(change_times)]
    seconds = now - started
    return CounterPeriod(
        reads=done,
        seconds=seconds,
        read_us=seconds / done * 1e6 if done else 0.0,
        failed_reads=failed,
        changes=len(change_times),
        min_gap_s=round(min(gaps), 6) if gaps else None,
        median_gap_s=round(statistics.median(gaps), 6) if gaps else None,
        max_gap_s=round(max(gaps), 6) if gaps else None,
    )
