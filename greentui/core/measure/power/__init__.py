"""Power sources (NVML, RAPL, CPU estimate, replay) and the choice of which to use on this machine.

``select_power_sources("auto")`` takes NVML for the GPUs the models use and RAPL for the CPU package(s); only
when neither measures anything does it fall back to the CPU estimate. A forced choice (``"nvml"``, ``"rapl"``,
``"estimate"``, ``"replay:FILE"``) is used alone and raises :class:`PowerSourceError` with a one-line reason
when it cannot work here. Every probe's outcome comes back as a :class:`SourceStatus` for the session header and
``doctor``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from greentui.core.measure.power.base import PowerSource, PowerSourceError, SourceStatus
from greentui.core.records import Quality

__all__ = [
    "PowerSource",
    "PowerSourceError",
    "SourceStatus",
    "describe_sources",
    "probe_source",
    "select_power_sources",
]

CHOICES = ("auto", "nvml", "rapl", "estimate", "replay:FILE")


def probe_source(
    kind: str,
    *,
    gpu_indices: Sequence[int] = (),
    process_pids: Callable[[], Sequence[int]] | None = None,
    rapl_root: str | Path | None = None,
) -> tuple[PowerSource | None, SourceStatus]:
    """Try to open one kind of source ("nvml", "rapl", "estimate" or "replay:FILE"); never raises."""
    try:
        source = _open(kind, gpu_indices=gpu_indices, process_pids=process_pids, rapl_root=rapl_root)
    except PowerSourceError as exc:
        return None, SourceStatus(kind.split(":", 1)[0], False, str(exc), exc.details)
    return source, SourceStatus(source.name, True, source.describe(), source.details())


def _open(
    kind: str,
    *,
    gpu_indices: Sequence[int],
    process_pids: Callable[[], Sequence[int]] | None,
    rapl_root: str | Path | None,
) -> PowerSource:
    if kind == "nvml":
        from greentui.core.measure.power.nvml import NvmlSource

        return NvmlSource(gpu_indices)
    if kind == "rapl":
        from greentui.core.measure.power.rapl import DEFAULT_POWERCAP_ROOT, RaplSource

        return RaplSource(rapl_root or DEFAULT_POWERCAP_ROOT)
    if kind == "estimate":
        from greentui.core.measure.power.estimate import EstimateSource

        return EstimateSource(process_pids)
    if kind.startswith("replay:"):
        from greentui.core.measure.power.replay import ReplaySource

        path = kind.split(":", 1)[1]
        if not path:
            raise PowerSourceError("replay needs a file: --power-source replay:FILE.csv")
        return ReplaySource.from_file(path)
    raise PowerSourceError(f"unknown power source {kind!r} (choose one of {', '.join(CHOICES)})")


def select_power_sources(
    choice: str = "auto",
    *,
    gpu_indices: Sequence[int] = (),
    process_pids: Callable[[], Sequence[int]] | None = None,
    rapl_root: str | Path | None = None,
) -> tuple[list[PowerSource], list[SourceStatus]]:
    """The sources to measure with, and the status of every source probed.

    ``gpu_indices``: CUDA indices of the GPUs the models run on. In ``auto`` mode NVML is probed (so the header
    can say why there is no GPU) but only used for these GPUs; a forced ``nvml`` with none given uses every
    visible GPU. ``process_pids`` returns the model workers' pids (detail for the CPU estimate).
    """
    choice = (choice or "auto").strip()
    probe = functools.partial(probe_source, gpu_indices=gpu_indices, process_pids=process_pids, rapl_root=rapl_root)
    if choice != "auto":
        source, status = probe(choice)
        if source is None:
            raise PowerSourceError(f"power source {choice}: {status.reason}", details=status.details)
        return [source], [status]

    sources: list[PowerSource] = []
    statuses: list[SourceStatus] = []
    gpu, status = probe("nvml")
    if gpu is not None and not gpu_indices:
        # NVML works, but no model runs on a GPU: an idle board's draw is not the models' cost
        status = SourceStatus("nvml", True, f"available ({gpu.label()}) but no model uses a GPU", status.details)
        gpu.close()
        gpu = None
    statuses.append(status)
    if gpu is not None:
        sources.append(gpu)
    cpu, status = probe("rapl")
    statuses.append(status)
    if cpu is not None:
        sources.append(cpu)
    if not sources:
        estimate, status = probe("estimate")
        statuses.append(status)
        if estimate is not None:
            sources.append(estimate)
    else:
        statuses.append(SourceStatus("estimate", True, "not needed: a hardware source measures"))
    return sources, statuses


def describe_sources(sources: Sequence[PowerSource], statuses: Sequence[SourceStatus]) -> tuple[str, Quality]:
    """One header line ("measured (NVML gpu0, RAPL package-0)") and the overall quality.

    The quality is "estimated" if any source is (or there is none); the line names every source used and the
    reason each missing hardware source is missing.
    """
    quality: Quality = "estimated" if not sources or any(s.quality == "estimated" for s in sources) else "measured"
    parts = [source.label() for source in sources]
    used = {source.name for source in sources}
    missing_names = {"nvml": "no GPU", "rapl": "no RAPL"}
    for status in statuses:
        if status.name in missing_names and status.name not in used and not status.available:
            parts.append(f"{missing_names[status.name]}: {status.reason}")
    if not sources:
        parts.append("no power source")
    return f"{quality} ({'; '.join(parts)})", quality
