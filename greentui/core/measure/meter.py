"""Energy windows: ``begin(key)`` ... ``end(key) -> Measurement``, summed over every device of every source.

Per device, the most exact method available (as Zeus's ``ZeusMonitor`` does):

* **counter**: the device has a cumulative energy counter (NVML, RAPL): energy = counter at end - at begin.
* **integrated**: no counter: trapezoidal integration of power over the window, from the sampler's samples
  inside it plus the meter's own readings taken at ``begin`` and ``end``, so the window edges are exact rather
  than up to one sampling period off.

``Measurement.method`` is ``"counter"`` only when every device used its counter. A window shorter than a
counter's update period is flagged (``flagged_short``) and, rather than report a counter that did not move as
0 J, its energy comes from integrated power (or stays None when there is nothing to integrate).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from greentui.core.measure.power.base import PowerSource
from greentui.core.measure.sampler import PowerSampler
from greentui.core.records import Measurement, PowerSample, Quality


def integrate_trapezoid(samples: Sequence[PowerSample], t0_mono_s: float, t1_mono_s: float) -> float | None:
    """Energy in joules of ``samples`` (one device, any order) over ``[t0, t1]`` by the trapezoid rule.

    Samples without power are ignored. Power at the window edges is interpolated linearly between the samples
    around them, or held flat from the nearest sample when the window reaches past the data. Returns None when
    no sample has power; 0.0 for an empty window (``t1 <= t0``).
    """
    points = sorted((s.t_mono_s, s.power_w) for s in samples if s.power_w is not None)
    if not points:
        return None
    if t1_mono_s <= t0_mono_s:
        return 0.0
    inside = [(t, p) for t, p in points if t0_mono_s < t < t1_mono_s]
    edges = [(t0_mono_s, _power_at(points, t0_mono_s)), *inside, (t1_mono_s, _power_at(points, t1_mono_s))]
    return sum((b_t - a_t) * (a_p + b_p) / 2.0 for (a_t, a_p), (b_t, b_p) in itertools.pairwise(edges))


def _power_at(points: list[tuple[float, float]], t_s: float) -> float:
    """Linear interpolation in sorted (t, power) points, flat beyond the ends."""
    if t_s <= points[0][0]:
        return points[0][1]
    if t_s >= points[-1][0]:
        return points[-1][1]
    for (a_t, a_p), (b_t, b_p) in itertools.pairwise(points):
        if a_t <= t_s <= b_t:
            return a_p if b_t == a_t else a_p + (b_p - a_p) * (t_s - a_t) / (b_t - a_t)
    return points[-1][1]  # unreachable for sorted points


def dynamic_joules(measurement: Measurement, idle_power_w: float | None) -> float | None:
    """Energy above idle: total - idle power x duration, in joules (None if either is unknown).

    Can be slightly negative when the window drew less than the idle baseline (noise); it is not clamped, so
    averages over many items stay unbiased.
    """
    if measurement.joules is None or idle_power_w is None:
        return None
    return measurement.joules - idle_power_w * measurement.seconds


@dataclass(frozen=True)
class _Open:
    """A window in progress: when it began and what every device read at that instant."""

    t0_mono_s: float
    edges: tuple[tuple[int, PowerSample], ...]  # (source position, sample) read at begin


class EnergyMeter:
    """Energy windows over ``sources``, using ``sampler``'s samples for integration. Thread-safe."""

    def __init__(
        self,
        sources: Sequence[PowerSource],
        sampler: PowerSampler | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.sources = list(sources)
        self.sampler = sampler
        self._clock = clock
        self._sleep = sleep
        self._cancel = threading.Event()
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()
        self.source_label = "+".join(dict.fromkeys(source.name for source in self.sources)) or "none"
        estimated = any(source.quality == "estimated" for source in self.sources) or not self.sources
        self.quality: Quality = "estimated" if estimated else "measured"

    def _read_edges(self) -> tuple[tuple[int, PowerSample], ...]:
        edges: list[tuple[int, PowerSample]] = []
        for position, source in enumerate(self.sources):
            try:
                edges.extend((position, sample) for sample in source.read())
            except Exception:  # a source failing mid-run: this edge is missing, the window still closes
                continue
        return tuple(edges)

    def begin(self, key: str) -> None:
        """Open the window ``key`` now (reads every source once)."""
        t0_s = self._clock()
        edges = self._read_edges()
        with self._lock:
            if key in self._open:
                raise KeyError(f"energy window {key!r} is already open")
            self._open[key] = _Open(t0_s, edges)

    def end(self, key: str) -> Measurement:
        """Close the window ``key`` and return its energy (see the module docstring)."""
        edges_end = self._read_edges()
        t1_s = self._clock()
        with self._lock:
            if key not in self._open:
                raise KeyError(f"energy window {key!r} was never opened")
            window = self._open.pop(key)
        return self._measure(key, window, edges_end, t1_s)

    def discard(self, key: str) -> None:
        """Forget an open window (an item that failed); unknown keys are ignored."""
        with self._lock:
            self._open.pop(key, None)

    def _measure(
        self, key: str, window: _Open, edges_end: tuple[tuple[int, PowerSample], ...], t1_s: float
    ) -> Measurement:
        t0_s = window.t0_mono_s
        duration_s = t1_s - t0_s
        sampled = self.sampler.samples_between(t0_s, t1_s) if self.sampler is not None else []
        # a window longer than the sampler's history lost its first samples: integration would hold the oldest
        # kept one back to t0, so such a figure is flagged
        truncated = False
        if self.sampler is not None and (oldest_s := self.sampler.oldest_kept_mono_s) is not None:
            truncated = oldest_s > t0_s + self.sampler.period_s
        per_device: list[tuple[str, float]] = []
        methods: set[str] = set()
        flagged = False
        missing = False
        for position, source in enumerate(self.sources):
            period_s = source.counter_period_s
            for device in source.devices():
                begin = _find(window.edges, position, device)
                end = _find(edges_end, position, device)
                counter_j = None
                if (
                    begin is not None
                    and end is not None
                    and (begin_j := begin.energy_counter_j) is not None
                    and (end_j := end.energy_counter_j) is not None
                ):
                    counter_j = end_j - begin_j
                short = period_s is not None and duration_s < period_s
                if counter_j is not None and not short:
                    per_device.append((device, counter_j))
                    methods.add("counter")
                    continue
                points = [s for s in sampled if s.source == source.name and s.device == device]
                points += [s for s in (begin, end) if s is not None]
                integrated = integrate_trapezoid(points, t0_s, t1_s)
                with_power = sum(1 for s in points if s.power_w is not None)
                if counter_j is not None and short:
                    flagged = True
                    if integrated is None and counter_j > 0:
                        per_device.append((device, counter_j))  # the counter moved: keep it, flagged
                        methods.add("counter")
                        continue
                if integrated is None:
                    missing = True
                    continue
                if with_power < 2 or truncated:
                    flagged = True  # one reading held flat over the window, or samples lost: not an integral
                per_device.append((device, integrated))
                methods.add("integrated")
        joules = None if missing or not per_device else sum(j for _, j in per_device)
        if joules is None:
            method: Literal["counter", "integrated", "none"] = "none"
        elif methods == {"counter"}:
            method = "counter"
        else:
            method = "integrated"
        return Measurement(
            key=key,
            start_mono_s=t0_s,
            end_mono_s=t1_s,
            joules=joules,
            source=self.source_label,
            quality=self.quality,
            method=method,
            flagged_short=flagged,
            per_device_j=tuple(per_device),
        )

    def idle_baseline(self, seconds: float, key: str = "idle") -> Measurement:
        """Measure ``seconds`` of idle power before the first item; ``seconds <= 0`` skips it (joules None).

        The mean idle power is ``measurement.mean_power_w``. :meth:`cancel_idle` ends the wait early (the
        window is then shorter than asked, and measured as such).
        """
        if seconds <= 0:
            now_s = self._clock()
            return Measurement(key, now_s, now_s, None, self.source_label, self.quality, method="none")
        self.begin(key)
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._cancel.wait(seconds)
        return self.end(key)

    def cancel_idle(self) -> None:
        """Wake an :meth:`idle_baseline` in progress (Ctrl-C, stop requested)."""
        self._cancel.set()


def _find(edges: tuple[tuple[int, PowerSample], ...], position: int, device: str) -> PowerSample | None:
    for pos, sample in edges:
        if pos == position and sample.device == device:
            return sample
    return None


class RunEnergy:
    """Energy of the whole run (items and the gaps between them), integrated sample by sample.

    Kept beside the per-item windows so that a whole-run figure such as codecarbon's can be compared with
    greentui's over the same span. Trapezoids between consecutive samples of each device; not a window of the
    meter, because a session can outlast the sampler's history.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start_s: float | None = None
        self._last: dict[str, tuple[float, float]] = {}
        self._last_t_s: float | None = None
        self.joules = 0.0

    @property
    def started(self) -> bool:
        return self._start_s is not None

    @property
    def seconds(self) -> float:
        if self._start_s is None or self._last_t_s is None:
            return 0.0
        return max(0.0, self._last_t_s - self._start_s)

    def start(self, t_mono_s: float) -> None:
        with self._lock:
            self._start_s, self._last, self.joules = t_mono_s, {}, 0.0

    def add(self, sample: PowerSample) -> None:
        if sample.power_w is None:
            return
        with self._lock:
            if self._start_s is None or sample.t_mono_s < self._start_s:
                return
            previous = self._last.get(sample.device)
            if previous is not None:
                t0, p0 = previous
                self.joules += (sample.t_mono_s - t0) * (p0 + sample.power_w) / 2
            self._last[sample.device] = (sample.t_mono_s, sample.power_w)
            self._last_t_s = max(self._last_t_s or sample.t_mono_s, sample.t_mono_s)


def device_joules(measurement: Measurement, model_device: str) -> float | None:
    """The part of a window's energy drawn by the device a model ran on (parallel schedule).

    ``cuda:N`` (or ``cuda``, device 0) is NVML's ``gpuN``; ``cpu`` is every non-GPU device (RAPL domains or the
    CPU estimate). None when the measurement has no per-device figure for that device.
    """
    if model_device.startswith("cuda"):
        index = model_device.split(":", 1)[1] if ":" in model_device else "0"
        wanted = [j for device, j in measurement.per_device_j if device == f"gpu{index}"]
    else:
        wanted = [j for device, j in measurement.per_device_j if not device.startswith("gpu")]
    return sum(wanted) if wanted else None
