"""The session's one door to measuring: grid intensity, power sources, sampler, meter, run energy, the codecarbon
cross-check and contention, opened from the configuration and closed in one place.

A session talks to measuring only through :class:`Measuring`::

    measuring = Measuring(settings, side_pids=..., gpu_indices=..., on_sample=...)   # raises MeasuringError
    measuring.start()                       # the sampler runs from here (the chart shows model loading too)
    idle = measuring.idle_baseline(3.0)     # a Window for the baseline, with its contention
    measuring.start_run()                   # whole-run energy and codecarbon from the first item on
    measuring.begin("A:1", "A") ... window = measuring.end("A:1")
    measurements = measuring.finish()       # stops everything, closes the sources; safe to call twice

Each :class:`Window` carries the meter's :class:`~greentui.core.records.Measurement` (whole devices, or the whole
machine for the CPU estimate) and what the model is charged:

* **RAPL, NVML, replay** stay whole-device (``scope="device"``): two processes on one device cannot be told apart;
  the window's contention says how much else ran.
* **The CPU estimate** (no sensor) charges each model its own process tree, as codecarbon's process mode does
  (``scope="process tree"``)::

      joules = idle_w x seconds + (TDP - idle_w) x tree CPU seconds / logical CPUs   (+ RAM term x seconds)

  i.e. the idle draw over the window plus its own share of the dynamic range, so other programs' work is not
  billed to the model, and never more than the machine-wide figure of the same window, which stays as
  ``joules_machine``. One model runs at a time in the
  ``alternate`` and ``sequential`` schedules, so it carries the whole idle draw of its window. Without a known
  tree (no pid) the machine-wide figure is used and says so (``scope="machine"``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from greentui.core.measure.contention import CpuAccounting, CpuSnapshot, GpuWatch, cpu_use, is_contended
from greentui.core.measure.meter import EnergyMeter, RunEnergy
from greentui.core.measure.power.base import PowerSource, SourceStatus
from greentui.core.measure.sampler import PowerSampler
from greentui.core.records import CONTENDED_CPU_SHARE, Measurement, PowerSample, Quality

PidsFn = Callable[[], Sequence[int]]

SCOPE_DEVICE = "device"
SCOPE_PROCESS = "process tree"
SCOPE_MACHINE = "machine"


class MeasuringError(Exception):
    """Measuring cannot start as configured (unusable power source, impossible grid figures); one line."""


@dataclass(frozen=True)
class MeasuringSettings:
    """The part of a session's configuration that measuring reads."""

    power_source: str = "auto"
    sample_hz: float = 10.0
    country: str | None = None
    grid_intensity: float | None = None
    pue: float = 1.0
    codecarbon: bool = False


@dataclass(frozen=True)
class Window:
    """One energy window: the meter's figure, the model's share of it, and how busy the machine was."""

    measurement: Measurement  # whole devices (RAPL, NVML, replay) or the whole machine (CPU estimate)
    joules: float | None  # what the model is charged (see the module docstring)
    scope: str  # SCOPE_DEVICE | SCOPE_PROCESS | SCOPE_MACHINE
    other_cpu_share: float | None  # share of the machine's CPU time that went to other programs
    gpu_other_processes: int | None
    contended: bool
    gpu_temperature_c: float | None

    @property
    def seconds(self) -> float:
        return self.measurement.seconds

    @property
    def method(self) -> str:
        return self.measurement.method

    @property
    def joules_machine(self) -> float | None:
        """The whole-machine figure, kept as a detail when the model is charged per process."""
        return self.measurement.joules if self.scope == SCOPE_PROCESS else None

    @property
    def power_w(self) -> float | None:
        if self.joules is None or self.seconds <= 0:
            return None
        return self.joules / self.seconds


@dataclass
class _Open:
    side: str | None
    cpu: CpuSnapshot
    gpu_others: int | None


class Measuring:
    """See the module docstring. ``side_pids``: each side's process roots (a worker's pid, a served model's
    server); ``gpu_indices``: the CUDA GPUs the models use; ``on_sample``: called on the sampler thread."""

    def __init__(
        self,
        settings: MeasuringSettings,
        *,
        side_pids: Mapping[str, PidsFn] | None = None,
        gpu_indices: Sequence[int] = (),
        on_sample: Callable[[PowerSample], None] | None = None,
        own_pid: int | None = None,
    ) -> None:
        from greentui.core.measure.carbon import CarbonError, CodecarbonCrossCheck, grid_intensity
        from greentui.core.measure.power import PowerSourceError, describe_sources, select_power_sources

        self.settings = settings
        side_pids = dict(side_pids or {})
        try:
            self.grid, self.grid_warnings = grid_intensity(settings.country, settings.grid_intensity, settings.pue)
        except CarbonError as exc:
            raise MeasuringError(str(exc)) from None

        def every_pid() -> list[int]:
            return sorted({pid for provider in side_pids.values() for pid in _safe(provider)})

        try:
            sources, statuses = select_power_sources(
                settings.power_source, gpu_indices=gpu_indices, process_pids=every_pid
            )
        except PowerSourceError as exc:
            raise MeasuringError(str(exc)) from None
        self.sources: list[PowerSource] = sources
        self.statuses: list[SourceStatus] = statuses
        self.power_note, self.power_quality = describe_sources(sources, statuses)
        self._on_sample = on_sample
        self.run_energy = RunEnergy()
        self.sampler = PowerSampler(sources, rate_hz=settings.sample_hz, on_sample=self._sampled)
        self.meter = EnergyMeter(sources, self.sampler)
        self.crosscheck = (
            CodecarbonCrossCheck(self.grid.country_iso3, pue=self.grid.pue) if settings.codecarbon else None
        )
        self.cpu = CpuAccounting(side_pids, own_pid=own_pid)
        self.gpus = GpuWatch(gpu_indices)
        self._estimate = _estimate_model(sources)
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()
        self._finished: dict[str, Any] | None = None
        self._windows = 0
        self._contended = 0
        self._weighted_share_s = 0.0  # sum of share x seconds over windows with a share
        self._share_seconds = 0.0
        self._gpu_others_max: int | None = None
        self._methods: set[str] = set()
        self._scopes: set[str] = set()
        self._idle: Window | None = None

    # ---- what the header shows ------------------------------------------------------------------------------
    @property
    def power_sources(self) -> tuple[str, ...]:
        return tuple(f"{s.name}:{d}" for s in self.sources for d in s.devices())

    @property
    def quality(self) -> Quality:
        return self.power_quality

    def _sampled(self, sample: PowerSample) -> None:
        self.run_energy.add(sample)
        if self._on_sample is not None:
            self._on_sample(sample)

    # ---- the phases -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start sampling (before the models load, so the chart shows the load too)."""
        self.sampler.start()

    def idle_baseline(self, seconds: float) -> Window:
        """Measure ``seconds`` of idle draw (``<= 0`` skips it: joules None) with its contention."""
        self.cpu.refresh()  # the workers exist now: count their processes as the session's
        if seconds <= 0:
            measurement = self.meter.idle_baseline(0)
            return Window(measurement, None, self._scope(None), None, None, False, None)
        before = self._edge()
        measurement = self.meter.idle_baseline(seconds)
        window = self._window(measurement, before, side=None)
        self._idle = window
        return window

    def cancel_idle(self) -> None:
        self.meter.cancel_idle()

    def start_run(self) -> None:
        """The items begin: whole-run energy and the codecarbon cross-check count from here."""
        self.run_energy.start(time.monotonic())
        if self.crosscheck is not None:
            self.crosscheck.start()

    def begin(self, key: str, side: str | None = None) -> None:
        """Open the energy window ``key`` for ``side``'s item."""
        before = self._edge()
        with self._lock:
            self._open[key] = _Open(side, *before)
        self.meter.begin(key)

    def end(self, key: str) -> Window:
        """Close the window ``key``: its energy, the model's share and the machine's contention."""
        measurement = self.meter.end(key)
        with self._lock:
            opened = self._open.pop(key)
        window = self._window(measurement, (opened.cpu, opened.gpu_others), side=opened.side)
        with self._lock:
            self._windows += 1
            self._contended += window.contended
            if window.other_cpu_share is not None:
                self._weighted_share_s += window.other_cpu_share * window.seconds
                self._share_seconds += window.seconds
            if window.gpu_other_processes is not None:
                self._gpu_others_max = max(self._gpu_others_max or 0, window.gpu_other_processes)
            self._methods.add(window.method)
            self._scopes.add(window.scope)
        return window

    def discard(self, key: str) -> None:
        """Forget an open window (its item failed)."""
        with self._lock:
            self._open.pop(key, None)
        self.meter.discard(key)

    def finish(self) -> dict[str, Any]:
        """Stop the cross-check and the sampler, close the sources; the session-level figures. Idempotent."""
        if self._finished is not None:
            return self._finished
        measurements: dict[str, Any] = {}
        if self.crosscheck is not None:
            figures = self.crosscheck.stop()
            measurements["codecarbon"] = (
                {"kwh": figures[0], "g": figures[1], "joules": figures[0] * 3.6e6, "note": self.crosscheck.reason}
                if figures
                else {"error": self.crosscheck.reason}
            )
        self.sampler.stop()
        rate = self.sampler.achieved_rate_hz
        measurements["sample_rate_hz"] = rate  # the name earlier releases stored
        measurements["sampling_rate_hz"] = rate
        measurements["power_sources"] = list(self.power_sources)
        measurements["measurement_methods"] = sorted(self._methods - {"none"})
        measurements["energy_scopes"] = sorted(self._scopes)
        measurements["contention"] = self.contention_summary()
        if self.run_energy.started:
            measurements["run"] = {
                "seconds": self.run_energy.seconds,
                "joules": self.run_energy.joules,
                "quality": self.power_quality,
            }
        for source in self.sources:
            source.close()
        self.gpus.close()
        self._finished = measurements
        return measurements

    def contention_summary(self) -> dict[str, Any]:
        """Over the item windows so far: how many were contended and the time-weighted share of other programs."""
        with self._lock:
            share = self._weighted_share_s / self._share_seconds if self._share_seconds > 0 else None
            idle = self._idle
            return {
                "threshold_cpu_share": CONTENDED_CPU_SHARE,
                "windows": self._windows,
                "contended_windows": self._contended,
                "other_cpu_share": share,
                "gpu_other_processes_max": self._gpu_others_max,
                "idle_other_cpu_share": idle.other_cpu_share if idle else None,
                "idle_contended": idle.contended if idle else False,
            }

    # ---- inside -----------------------------------------------------------------------------------------
    def _edge(self) -> tuple[CpuSnapshot, int | None]:
        cpu = self.cpu.snapshot()
        gpu = self.gpus.other_processes(self.cpu.session_pids()) if self.gpus.available else None
        return cpu, gpu

    def _scope(self, side: str | None) -> str:
        if self._estimate is None:
            return SCOPE_DEVICE
        return SCOPE_PROCESS

    def _window(self, measurement: Measurement, before: tuple[CpuSnapshot, int | None], side: str | None) -> Window:
        cpu_before, gpu_before = before
        cpu_after, gpu_after = self._edge()
        use = cpu_use(cpu_before, cpu_after)
        share = use.other_share
        if share is None:  # too short to tell on its own: the load around it (see contention.py)
            share = self.cpu.recent_share(cpu_after)
        gpu_values = [v for v in (gpu_before, gpu_after) if v is not None]
        gpu_others = max(gpu_values) if gpu_values else None
        joules, scope = measurement.joules, SCOPE_DEVICE
        if self._estimate is not None:
            own_cpu_s = use.session_cpu_s if side is None else use.sides_cpu_s.get(side)
            if own_cpu_s is None or measurement.joules is None:
                scope = SCOPE_MACHINE
            else:
                # a part never exceeds the whole: the tree's charge comes from CPU times read at the window's
                # edges, the machine's figure from sampled utilisation integrated over the window, and at the
                # edges the two can differ by a sample (a tree spinning one core once came out 5.7% above)
                charged = self._estimate.charged_j(measurement.seconds, own_cpu_s)
                joules, scope = min(charged, measurement.joules), SCOPE_PROCESS
        return Window(
            measurement=measurement,
            joules=joules,
            scope=scope,
            other_cpu_share=share,
            gpu_other_processes=gpu_others,
            contended=is_contended(share, gpu_others),
            gpu_temperature_c=self._gpu_temperature(measurement),
        )

    def _gpu_temperature(self, measurement: Measurement) -> float | None:
        readings = [
            s.temperature_c
            for s in self.sampler.samples_between(measurement.start_mono_s, measurement.end_mono_s)
            if s.temperature_c is not None and s.device.startswith("gpu")
        ]
        return max(readings) if readings else None


@dataclass(frozen=True)
class _EstimateCharge:
    """The CPU estimate's numbers, to charge a window to one process tree."""

    idle_w: float
    tdp_w: float
    logical_cpus: int
    ram_w: float

    def charged_j(self, seconds: float, own_cpu_s: float) -> float:
        dynamic_j = (self.tdp_w - self.idle_w) * min(own_cpu_s / max(self.logical_cpus, 1), max(seconds, 0.0))
        return (self.idle_w + self.ram_w) * max(seconds, 0.0) + dynamic_j


def _estimate_model(sources: Sequence[PowerSource]) -> _EstimateCharge | None:
    """The estimate's numbers when the CPU estimate is the only source (no sensor), else None."""
    from greentui.core.measure.power.estimate import EstimateSource

    if not sources or not all(isinstance(s, EstimateSource) for s in sources):
        return None
    source = sources[0]
    assert isinstance(source, EstimateSource)
    model = source.model
    return _EstimateCharge(model.idle_w, model.tdp_w, model.logical_cpus, source.ram_w or 0.0)


def _safe(provider: PidsFn) -> list[int]:
    try:
        return [int(pid) for pid in provider() if pid]
    except Exception:  # a provider failing mid-run: no pids this time
        return []
