"""``greentui doctor``: which power sources work on this machine, why the others do not, and how well they sample.

:func:`collect` probes NVML, RAPL and the CPU estimate independently, samples every available one together at
20 Hz for about a second (as a session would), and looks up the grid carbon intensity. :func:`render_doctor`
turns the report into a rich renderable for the CLI.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from greentui.core.carbon import grid_intensity
from greentui.core.power import describe_sources, probe_source, select_power_sources
from greentui.core.power.base import PowerSource, SourceStatus
from greentui.core.power.estimate import CpuPowerModel, cpu_power_model
from greentui.core.records import GridIntensity
from greentui.core.sampler import PowerSampler

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
    cpu = next(
        (s.model for s, _ in opened if s is not None and s.name == "estimate"), None
    ) or cpu_power_model()
    grid, warnings = grid_intensity(country_iso3, g_per_kwh, pue)
    return DoctorReport(
        checks=tuple(checks),
        session_line=session_line,
        cpu=cpu,
        grid=grid,
        grid_warnings=tuple(warnings),
        sample_seconds=sample_seconds,
        target_rate_hz=rate_hz,
    )


def _mean_read_ms(source: PowerSource, reads: int = 5) -> float | None:
    try:
        t0 = time.perf_counter()
        for _ in range(reads):
            source.read()
        return (time.perf_counter() - t0) / reads * 1000.0
    except Exception:
        return None


def render_doctor(report: DoctorReport) -> RenderableType:
    """A table of sources plus the CPU model, TDP and grid intensity in use."""
    table = Table(title="Power sources on this machine", title_justify="left", expand=False)
    table.add_column("source", style="bold")
    table.add_column("status")
    table.add_column("what / why not", overflow="fold", max_width=70)
    table.add_column("rate", justify="right")
    table.add_column("read", justify="right")
    table.add_column("power", justify="right")
    table.add_column("counter", justify="right")
    for check in report.checks:
        status = check.status
        if status.available:
            state = Text(check.quality or "available", style="green" if check.quality == "measured" else "yellow")
        else:
            state = Text("unavailable", style="red")
        rate = f"{check.sample_rate_hz:.1f} Hz" if check.sample_rate_hz is not None else "-"
        read = f"{check.read_ms:.2f} ms" if check.read_ms is not None else "-"
        if check.counter_period_s is not None:
            counter = f"~{check.counter_period_s * 1000:g} ms"
        else:
            counter = "none" if status.available else "-"
        power = f"{check.mean_power_w:.1f} W" if check.mean_power_w is not None else "-"
        table.add_row(status.name, state, Text(status.reason), rate, read, power, counter)
    lines: list[RenderableType] = [table]
    for check in report.checks:
        if check.status.name == "estimate":
            continue  # its figures are on the CPU line below
        for key, value in check.status.details.items():
            lines.append(Text(f"  {check.status.name} {key}: {value}", style="dim"))
    cpu = report.cpu
    lines.append(Text(f"Sampling: target {report.target_rate_hz:g} Hz for {report.sample_seconds:g} s, "
                      "all sources on one thread, as in a session."))
    lines.append(Text(f"CPU: {cpu.cpu_model}, {cpu.logical_cpus} logical CPUs; TDP {cpu.tdp_w:g} W from "
                      f"{cpu.tdp_source}; idle {cpu.idle_w:.1f} W ({cpu.idle_fraction:g} x TDP, {cpu.idle_source})."))
    grid = report.grid
    lines.append(Text(f"Grid: {grid.g_per_kwh:g} g CO2e/kWh, {grid.source}; PUE {grid.pue:g}."))
    for warning in report.grid_warnings:
        lines.append(Text(f"  note: {warning}", style="yellow"))
    lines.append(Text(f"A session here would report: {report.session_line}", style="bold"))
    return Group(*lines)
