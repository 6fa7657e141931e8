"""``greentui doctor``'s table: the :class:`~greentui.core.doctor.DoctorReport` as a rich renderable."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from greentui.core.doctor import DoctorReport
from greentui.core.evaluate.sandbox.isolation import Isolation
from greentui.format import format_hz, format_intensity, format_power, format_seconds


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
        rate = format_hz(check.sample_rate_hz)
        read = format_seconds(None if check.read_ms is None else check.read_ms / 1000)
        if check.counter_period_s is not None:
            counter = f"~{check.counter_period_s * 1000:g} ms"
        else:
            counter = "none" if status.available else "—"
        power = format_power(check.mean_power_w)
        table.add_row(status.name, state, Text(status.reason), rate, read, power, counter)
    lines: list[RenderableType] = [table]
    for check in report.checks:
        if check.status.name == "estimate":
            continue  # its figures are on the CPU line below
        for key, value in check.status.details.items():
            lines.append(Text(f"  {check.status.name} {key}: {value}", style="dim"))
    cpu = report.cpu
    lines.append(
        Text(
            f"Sampling: target {report.target_rate_hz:g} Hz for {report.sample_seconds:g} s, "
            "all sources on one thread, as in a session."
        )
    )
    lines.append(
        Text(
            f"CPU: {cpu.cpu_model}, {cpu.logical_cpus} logical CPUs; TDP {cpu.tdp_w:g} W from "
            f"{cpu.tdp_source}; idle {format_power(cpu.idle_w)} ({cpu.idle_fraction:g} x TDP, {cpu.idle_source})."
        )
    )
    grid = report.grid
    lines.append(Text(f"Grid: {format_intensity(grid.g_per_kwh)}, {grid.source}; PUE {grid.pue:g}."))
    for warning in report.grid_warnings:
        lines.append(Text(f"  note: {warning}", style="yellow"))
    lines.append(Text(f"A session here would report: {report.session_line}", style="bold"))
    if report.sandbox is not None:
        lines.extend(sandbox_lines(report.sandbox))
    return Group(*lines)


def sandbox_lines(sandbox: Isolation) -> list[RenderableType]:
    """The code sandbox: one line, and for a limited one what it cannot stop."""
    if sandbox.refusal is not None:
        return [Text(f"Code sandbox: refused: {sandbox.refusal}", style="red")]
    if not sandbox.limited:
        return [Text(f"Code sandbox: {sandbox.describe()}", style="green")]
    lines: list[RenderableType] = [Text(f"Code sandbox: {sandbox.describe(gaps=False)}", style="yellow")]
    lines += [Text(f"  cannot stop: {gap}", style="yellow") for gap in sandbox.cannot_stop()]
    return lines
