"""The hardware a session ran on, as a small record stored with it, so that figures from different nodes of a
cluster (or a machine whose driver or power limit changed) are never compared without the reader knowing.

The fingerprint names the host, the CPU model and core count, the memory, and for every GPU CUDA shows (in CUDA
order, honouring ``CUDA_VISIBLE_DEVICES`` as the NVML power source does): its name, UUID, the enforced power limit
and the driver version. Anything that cannot be read is None, and ``gpu_note`` says why there are no GPUs.
:func:`fingerprint_key` is a short hash of everything but the host name, so two identical nodes share it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
from collections.abc import Mapping
from typing import Any

import psutil

from greentui.core.measure.power.estimate import detect_cpu_model
from greentui.core.measure.power.nvml import nvml_error_reason, visible_physical_indices

try:
    import pynvml
except ImportError:  # pragma: no cover - exercised only on broken installs
    pynvml = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _gpu_facts(environ: Mapping[str, str]) -> tuple[list[dict[str, Any]], str | None, str]:
    """(one dict per visible GPU, the driver version, a note); never raises."""
    if pynvml is None:
        return [], None, "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], None, nvml_error_reason(exc)
    try:
        driver: str | None = _text(pynvml.nvmlSystemGetDriverVersion())
    except pynvml.NVMLError:
        driver = None
    gpus: list[dict[str, Any]] = []
    try:
        count = pynvml.nvmlDeviceGetCount()
        uuids = [_text(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)]
        for cuda_index, nvml_index in enumerate(
            visible_physical_indices(count, uuids, environ.get("CUDA_VISIBLE_DEVICES"))
        ):
            handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index)
            try:
                limit_w: float | None = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
            except pynvml.NVMLError:
                limit_w = None
            gpus.append(
                {
                    "device": f"gpu{cuda_index}",
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "uuid": uuids[nvml_index],
                    "power_limit_w": limit_w,
                }
            )
        note = "" if gpus else "no NVIDIA GPU visible"
    except pynvml.NVMLError as exc:
        note = nvml_error_reason(exc)
    except Exception as exc:  # a MIG slice in CUDA_VISIBLE_DEVICES (PowerSourceError) and the like
        note = str(exc)
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
    return gpus, driver, note


def hardware_fingerprint(*, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """This machine's fingerprint (JSON-ready; see the module docstring). Takes a few milliseconds."""
    gpus, driver, note = _gpu_facts(os.environ if environ is None else environ)
    try:
        memory_bytes: int | None = int(psutil.virtual_memory().total)
    except (OSError, RuntimeError):
        memory_bytes = None
    return {
        "host": socket.gethostname(),
        "cpu_model": detect_cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_bytes,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}".strip(),
        "gpus": gpus,
        "gpu_driver": driver,
        "gpu_note": note,
    }


def fingerprint_key(fingerprint: Mapping[str, Any]) -> str:
    """12 hex digits that differ when the hardware does (GPU UUIDs, power limits, driver, CPU), not the host name."""
    kept = {k: v for k, v in fingerprint.items() if k not in ("host", "gpu_note")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:12]


def describe_fingerprint(fingerprint: Mapping[str, Any]) -> str:
    """One line: "host · CPU model (N cores) · H100 80GB HBM3 700 W, driver 550.54" (or the GPU note)."""
    cpu = fingerprint.get("cpu_model") or "unknown CPU"
    cores = fingerprint.get("cpu_count")
    parts = [str(fingerprint.get("host") or "unknown host"), f"{cpu} ({cores} cores)" if cores else cpu]
    gpus = fingerprint.get("gpus") or []
    for gpu in gpus:
        limit = gpu.get("power_limit_w")
        parts.append(f"{gpu.get('name')}" + (f" {limit:g} W limit" if limit is not None else ""))
    if gpus and fingerprint.get("gpu_driver"):
        parts.append(f"driver {fingerprint['gpu_driver']}")
    if not gpus:
        parts.append(f"no GPU ({fingerprint.get('gpu_note') or 'none found'})")
    return " · ".join(parts)
