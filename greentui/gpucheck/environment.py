"""What the kit ran with: Python, greentui, the libraries it found, and what torch says about CUDA.

torch is asked in a child interpreter (:func:`torch_facts`) so that the kit's own process never creates a CUDA
context: the idle span must be measured on a GPU nobody holds. The same child tries ``import bitsandbytes``,
because "installed" is not "usable": bitsandbytes can be present and still fail to load its CUDA library, and
the nf4 race runs only where the import succeeds.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

import greentui

# The Python the kit is planned for already has these; the wheelhouse brings the rest of greentui's dependencies.
PREINSTALLED = ("torch", "transformers", "accelerate", "peft", "psutil", "rich", "nvidia-ml-py")
FROM_WHEELHOUSE = ("textual", "sqlite-utils", "platformdirs", "rouge-score", "msgspec", "httpx", "httpx-sse", "gguf")
LEFT_OUT = ("bitsandbytes", "codecarbon")  # too big for the 64 MiB that travel with the repo: see docs/GPU.md

_TORCH_PROBE = r"""
import json
facts = {}
try:
    import torch
    facts["torch"] = torch.__version__
    facts["torch_cuda"] = torch.version.cuda
    facts["cuda_available"] = torch.cuda.is_available()
    if facts["cuda_available"]:
        facts["device_count"] = torch.cuda.device_count()
        facts["device_name"] = torch.cuda.get_device_name(0)
        facts["capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
        facts["bf16_supported"] = torch.cuda.is_bf16_supported()
except Exception as exc:
    facts["torch_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
try:
    import bitsandbytes
    facts["bitsandbytes"] = getattr(bitsandbytes, "__version__", "?")
except Exception as exc:
    facts["bitsandbytes_error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
print(json.dumps(facts))
"""


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def torch_facts(timeout_s: float = 180.0) -> dict[str, Any]:
    """torch's version and CUDA view, and whether bitsandbytes imports, from a child interpreter."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TORCH_PROBE], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return {"torch_error": f"importing torch took over {timeout_s:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        facts: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        facts = {}
    if not facts:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        facts = {"torch_error": f"the torch probe failed (exit {done.returncode}): {tail[:300]}"}
    facts["probe_seconds"] = round(time.monotonic() - started, 2)
    return facts


def environment() -> dict[str, Any]:
    """The versions and paths the kit ran with (JSON-ready)."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "greentui": greentui.__version__,
        "greentui_path": os.path.dirname(greentui.__file__),
        "preinstalled": {name: package_version(name) for name in PREINSTALLED},
        "from_wheelhouse": {name: package_version(name) for name in FROM_WHEELHOUSE},
        "left_out": {name: package_version(name) for name in LEFT_OUT},
    }
