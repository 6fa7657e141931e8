"""The hardware fingerprint a session records, with pynvml patched (autospec=True) over two fake GPUs."""

from __future__ import annotations

import socket
from unittest.mock import patch

import pynvml
import pytest

from greentui.core.measure.fingerprint import describe_fingerprint, fingerprint_key, hardware_fingerprint

GPUS = [("GPU-aaaa", "NVIDIA H100 80GB HBM3", 700_000), ("GPU-bbbb", "NVIDIA A100-SXM4-40GB", 400_000)]


def _nvml(init_error: int | None = None) -> dict:
    def init() -> None:
        if init_error is not None:
            raise pynvml.NVMLError(init_error)

    return {
        "nvmlInit": init,
        "nvmlShutdown": lambda: None,
        "nvmlSystemGetDriverVersion": lambda: "550.54.15",
        "nvmlDeviceGetCount": lambda: len(GPUS),
        "nvmlDeviceGetHandleByIndex": lambda index: index,
        "nvmlDeviceGetUUID": lambda handle: GPUS[handle][0],
        "nvmlDeviceGetName": lambda handle: GPUS[handle][1],
        "nvmlDeviceGetEnforcedPowerLimit": lambda handle: GPUS[handle][2],
    }


@pytest.fixture
def patched_nvml(request: pytest.FixtureRequest):
    fakes = _nvml(getattr(request, "param", None))
    patchers = [patch.object(pynvml, name, autospec=True, side_effect=fake) for name, fake in fakes.items()]
    for patcher in patchers:
        patcher.start()
    yield
    for patcher in patchers:
        patcher.stop()


def test_gpus_in_cuda_order_with_name_limit_and_driver(patched_nvml: None) -> None:
    fingerprint = hardware_fingerprint(environ={"CUDA_VISIBLE_DEVICES": "1,0"})
    assert fingerprint["host"] == socket.gethostname()
    assert fingerprint["gpu_driver"] == "550.54.15"
    assert [(g["device"], g["name"], g["power_limit_w"]) for g in fingerprint["gpus"]] == [
        ("gpu0", "NVIDIA A100-SXM4-40GB", 400.0),
        ("gpu1", "NVIDIA H100 80GB HBM3", 700.0),
    ]
    assert fingerprint["cpu_count"] and fingerprint["memory_bytes"]
    line = describe_fingerprint(fingerprint)
    assert "A100-SXM4-40GB 400 W limit" in line and "driver 550.54.15" in line


def test_the_key_tells_hardware_apart_but_not_host_names(patched_nvml: None) -> None:
    one = hardware_fingerprint(environ={})
    other_host = {**one, "host": "node-17"}
    assert fingerprint_key(one) == fingerprint_key(other_host)
    lower_limit = {**one, "gpus": [{**one["gpus"][0], "power_limit_w": 350.0}, one["gpus"][1]]}
    assert fingerprint_key(lower_limit) != fingerprint_key(one)
    assert len(fingerprint_key(one)) == 12


@pytest.mark.parametrize("patched_nvml", [pynvml.NVML_ERROR_LIBRARY_NOT_FOUND], indirect=True)
def test_without_nvml_the_note_says_why(patched_nvml: None) -> None:
    fingerprint = hardware_fingerprint(environ={})
    assert fingerprint["gpus"] == [] and fingerprint["gpu_driver"] is None
    assert fingerprint["gpu_note"] == "NVML library not found"
    assert "no GPU (NVML library not found)" in describe_fingerprint(fingerprint)
