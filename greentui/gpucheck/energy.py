"""The GPU's energy counter against integrated power, over one span of time.

NVML offers three views of one GPU's energy: the cumulative counter (``nvmlDeviceGetTotalEnergyConsumption``,
mJ), instantaneous power (``NVML_FI_DEV_POWER_INSTANT``) and ``nvmlDeviceGetPowerUsage``, a 1 s moving average on
A100/H100-class boards. greentui takes window energy from the counter and falls back to the trapezoid of power
samples. Over a long steady span the three must agree: counter energy and the trapezoid of instant power within
a few percent. If they do not, one of greentui's two energy methods is wrong on this board.

:class:`TripleSampler` reads all three in one thread at a fixed rate; the caller reads them once more at each edge
of the span (:func:`read_triple`), so the counter's delta is taken exactly at the edges; :func:`compare_span`
integrates each power series over the span with greentui's own trapezoid (``core.measure.meter``) and returns the
ratios to the counter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from greentui.core.measure.meter import integrate_trapezoid
from greentui.core.records import PowerSample
from greentui.gpucheck.nvml_probe import average_power_w, counter_j, instant_power_w


@dataclass(frozen=True)
class Triple:
    """One reading of all three, stamped at the middle of the calls (each NVML query takes ~0.1-1 ms)."""

    t_mono_s: float
    counter_j: float | None
    instant_w: float | None
    average_w: float | None


def read_triple(handle: Any, clock: Callable[[], float] = time.monotonic) -> Triple:
    """Counter, instant power and 1 s averaged power of one GPU, read once."""
    before = clock()
    counter = counter_j(handle)
    instant = instant_power_w(handle)
    average = average_power_w(handle)
    return Triple((before + clock()) / 2, counter, instant, average)


class TripleSampler:
    """Reads ``read()`` at ``rate_hz`` in a daemon thread, keeping every reading, until :meth:`stop`."""

    def __init__(self, read: Callable[[], Triple], rate_hz: float = 100.0) -> None:
        if rate_hz <= 0:
            raise ValueError(f"sampling rate must be above 0 Hz, not {rate_hz:g}")
        self._read = read
        self.rate_hz = rate_hz
        self.readings: list[Triple] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gpucheck-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        period_s = 1.0 / self.rate_hz
        next_s = time.monotonic()
        while not self._stop.is_set():
            try:
                self.readings.append(self._read())
            except Exception:  # a failed read is a missing sample, counted, not the end of the check
                self.errors += 1
            next_s += period_s
            delay_s = next_s - time.monotonic()
            if delay_s < 0:  # fell behind (slow reads): carry on from now rather than burst to catch up
                next_s = time.monotonic()
                delay_s = 0.0
            self._stop.wait(delay_s)

    def stop(self) -> list[Triple]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return list(self.readings)


@dataclass(frozen=True)
class SpanComparison:
    """Energy over one span by the counter and by the trapezoid of each power reading."""

    seconds: float
    samples: int  # readings inside the span (the two edges not counted)
    sample_rate_hz: float
    counter_j: float | None
    instant_j: float | None
    average_j: float | None

    @property
    def mean_power_w(self) -> float | None:
        return self.counter_j / self.seconds if self.counter_j is not None and self.seconds > 0 else None

    @property
    def instant_over_counter(self) -> float | None:
        return _ratio(self.instant_j, self.counter_j)

    @property
    def average_over_counter(self) -> float | None:
        return _ratio(self.average_j, self.counter_j)

    def to_dict(self) -> dict[str, Any]:
        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "seconds": round(self.seconds, 3),
            "samples": self.samples,
            "sample_rate_hz": round(self.sample_rate_hz, 1),
            "counter_j": rounded(self.counter_j, 3),
            "instant_trapezoid_j": rounded(self.instant_j, 3),
            "average_trapezoid_j": rounded(self.average_j, 3),
            "mean_power_w": rounded(self.mean_power_w, 2),
            "instant_over_counter": rounded(self.instant_over_counter, 5),
            "average_over_counter": rounded(self.average_over_counter, 5),
        }


def _ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference <= 0:
        return None
    return value / reference


def _samples(readings: Sequence[Triple], attribute: str) -> list[PowerSample]:
    return [
        PowerSample(t_mono_s=r.t_mono_s, device="gpu", power_w=getattr(r, attribute), source="nvml", quality="measured")
        for r in readings
    ]


def compare_span(begin: Triple, end: Triple, readings: Sequence[Triple]) -> SpanComparison:
    """Counter delta between the edge readings against the trapezoid of each power series over the same span.

    ``readings`` may hold samples outside the span (they only shape the interpolation at its edges); the edge
    readings themselves are part of each series.
    """
    t0, t1 = begin.t_mono_s, end.t_mono_s
    inside = [r for r in readings if t0 < r.t_mono_s < t1]
    series = [begin, *readings, end]
    counter = None
    if begin.counter_j is not None and end.counter_j is not None:
        counter = end.counter_j - begin.counter_j
    seconds = max(t1 - t0, 0.0)
    return SpanComparison(
        seconds=seconds,
        samples=len(inside),
        sample_rate_hz=len(inside) / seconds if seconds > 0 else 0.0,
        counter_j=counter,
        instant_j=integrate_trapezoid(_samples(series, "instant_w"), t0, t1),
        average_j=integrate_trapezoid(_samples(series, "average_w"), t0, t1),
    )
