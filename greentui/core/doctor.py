"""``greentui doctor``: which power sources work on this machine, why the others do not, and how well they sample.

:func:`collect` probes NVML, RAPL and the CPU estimate independently, samples every available one together at
20 Hz for about a second (as a session would), looks up the grid carbon intensity, and asks which code sandbox
works here (isolated, limited, or refused, and what a limited one cannot stop). ``greentui.text.doctor`` renders
the report for the CLI; this module only collects facts.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from greentui.core.evaluate.sandbox.isolation import Isolation
from greentui.core.evaluate.sandbox.isolation import current as sandbox_isolation
from greentui.core.measure.carbon import grid_intensity
from greentui.core.measure.power import describe_sources, probe_source, select_power_sources
from greentui.core.measure.power.base import PowerSource, SourceStatus
from greentui.core.measure.power.estimate import CpuPowerModel, EstimateSource, cpu_power_model
from greentui.core.measure.sampler import PowerSampler
from greentui.core.records import GridIntensity

DOCTOR_RATE_HZ = 20.0


@dataclass(frozen=True)
class SourceCheck:
    """One source kind on this machine."""

    status: SourceStatus
    quality: str | None = None  # "measured" / "estimated" when available
    devices: tuple[str, ...] = ()
    sample_rate_hz: float | None = None  # reached while sampling at DOCTOR_RATE_HZ
    read_ms: float | None = None  # mean time of one read() of this source
    counter_period_s: float | None = None  # update period of its energy counter; None without one
    mean_power_w: float | None = None  # summed over its devices while sampling


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[SourceCheck, ...]
    session_line: str  # what a session started now (auto, every visible GPU) would say in its header
    cpu: CpuPowerModel
    grid: GridIntensity
    grid_warnings: tuple[str, ...]
    sample_seconds: float
    target_rate_hz: float
    platform: str = field(default_factory=platform.platform)
    sandbox: Isolation | None = None  # how model code (code tasks) is confined here


def collect(
    sample_seconds: float = 1.0,
    *,
    country_iso3: str | None = None,
    g_per_kwh: float | None = None,
    pue: float = 1.0,
    rapl_root: str | Path | None = None,
    rate_hz: float = DOCTOR_RATE_HZ,
) -> DoctorReport:
    """Probe every source, sample the available ones for ``sample_seconds`` at ``rate_hz``, and report."""
    opened: list[tuple[PowerSource | None, SourceStatus]] = [
        probe_source(kind, rapl_root=rapl_root) for kind in ("nvml", "rapl", "estimate")
    ]
    available = [source for source, _ in opened if source is not None]
    read_ms = {id(source): _mean_read_ms(source) for source in available}
    powers: dict[str, list[float]] = {}
    achieved = None
    if available and sample_seconds > 0:
        sampler = PowerSampler(available, rate_hz)
        t0 = time.monotonic()
        sampler.start()
        time.sleep(sample_seconds)
        sampler.stop()
        achieved = sampler.achieved_rate_hz  # one thread reads every source, so the rate is shared
        for sample in sampler.samples_between(t0, time.monotonic()):
            if sample.power_w is not None:
                powers.setdefault(sample.source, []).append(sample.power_w)
    checks = []
    for source, status in opened:
        if source is None:
            checks.append(SourceCheck(status))
            continue
        n_devices = max(len(source.devices()), 1)
        mean_power = None
        if powers.get(source.name):
            # mean per device, summed over devices
            mean_power = sum(powers[source.name]) / len(powers[source.name]) * n_devices
        checks.append(
            SourceCheck(
                status=status,
                quality=source.quality,
                devices=tuple(source.devices()),
                sample_rate_hz=achieved,
                read_ms=read_ms[id(source)],
                counter_period_s=source.counter_period_s,
                mean_power_w=mean_power,
            )
        )
        source.close()
    nvml_check = checks[0]
    gpus = range(len(nvml_check.devices)) if nvml_check.status.available else ()
    sources, statuses = select_power_sources("auto", gpu_indices=tuple(gpus), rapl_root=rapl_root)
    session_line, _ = describe_sources(sources, statuses)
    for source in sources:
        source.close()
    cpu = next((s.model for s, _ in opened if isinstance(s, EstimateSource)), None) or cpu_power_model()
    grid, warnings = grid_intensity(country_iso3, g_per_kwh, pue)
    return DoctorReport(
        checks=tuple(checks),
        session_line=session_line,
        cpu=cpu,
        grid=grid,
        grid_warnings=tuple(warnings),
        sample_seconds=sample_seconds,
        target_rate_hz=rate_hz,
        sandbox=sandbox_isolation(),
    )


def _mean_read_ms(source: PowerSource, reads: int = 5) -> float | None:
    try:
        t0 = time.perf_counter()
        for _ in range(reads):
            source.read()
        return (time.perf_counter() - t0) / reads * 1000.0
    except Exception:
        return None
