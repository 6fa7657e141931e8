"""Play a recorded power trace as if it were a sensor (tests, snapshots, demos on machines without sensors).

File formats: CSV with a header ``t_s,power_w[,device]``, or JSONL with the same keys per line. ``t_s`` is
seconds from the start of the trace; rows of one device must not go back in time.

Playback: real time (``speed`` = 1) or faster, from ``t = 0`` at construction or at :meth:`ReplaySource.start`,
looping over the trace's span. Between two points power is interpolated linearly; a *step* is written as two rows
with the same ``t_s`` (``1.0,50`` then ``1.0,100``), and stays a vertical edge: before the instant the first value
holds, from the instant on the second (linear interpolation never smears it). ``interpolation="hold"`` plays
every row as a step instead (each value holds until the next row), for traces logged by sample-and-hold meters.

The figures are not a measurement of this run, so the default quality is ``"estimated"``.
"""

from __future__ import annotations

import bisect
import csv
import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from greentui.core.measure.power.base import PowerSource, PowerSourceError
from greentui.core.records import PowerSample, Quality
from greentui.core.textfile import TextFileError, decode_utf8

DEFAULT_DEVICE = "replay"


class Trace:
    """One device's points, sorted by time; :meth:`power_at` evaluates it (see the module docstring)."""

    def __init__(self, points: list[tuple[float, float]], interpolation: Literal["linear", "hold"] = "linear"):
        if not points:
            raise ValueError("empty trace")
        self.times = [t for t, _ in points]
        self.powers = [p for _, p in points]
        self.interpolation = interpolation
        self.start_s = self.times[0]
        self.span_s = self.times[-1] - self.times[0]

    def power_at(self, t_s: float) -> float:
        """Power in W at trace time ``t_s`` (clamped to the trace's ends)."""
        times, powers = self.times, self.powers
        if t_s <= times[0]:
            return powers[0] if t_s < times[0] else powers[bisect.bisect_right(times, t_s) - 1]
        if t_s >= times[-1]:
            return powers[-1]
        # the last point at or before t_s: with duplicate times (a step) that is the step's *second* value
        right = bisect.bisect_right(times, t_s)
        left = right - 1
        if self.interpolation == "hold" or times[left] == t_s:
            return powers[left]
        t0, t1 = times[left], times[right]
        return powers[left] + (powers[right] - powers[left]) * (t_s - t0) / (t1 - t0)


def load_trace_file(path: Path) -> dict[str, list[tuple[float, float]]]:
    """Points per device from a CSV or JSONL trace. Raises PowerSourceError("file:line: what is wrong")."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PowerSourceError(f"cannot read power trace {path}: {exc.strerror or exc}") from None
    try:
        text = decode_utf8(data, path)
    except TextFileError as exc:
        raise PowerSourceError(str(exc)) from None
    rows: list[tuple[int, dict[str, object]]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise PowerSourceError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise PowerSourceError(f"{path}:{number}: expected an object with t_s and power_w")
            rows.append((number, record))
    else:
        lines = [
            (n, line)
            for n, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]  # '#' lines are comments
        fields = [f.strip() for f in next(csv.reader([lines[0][1]]))] if lines else []
        if not {"t_s", "power_w"} <= set(fields):
            raise PowerSourceError(f"{path}:{lines[0][0] if lines else 1}: expected a header t_s,power_w[,device]")
        for number, line in lines[1:]:
            values = [v.strip() for v in next(csv.reader([line]))]
            rows.append((number, dict(zip(fields, values))))
    per_device: dict[str, list[tuple[float, float]]] = {}
    for number, record in rows:
        try:
            t_s = float(record["t_s"])  # type: ignore[arg-type]  # any JSON value: float() refuses the bad ones below
            power_w = float(record["power_w"])  # type: ignore[arg-type]  # as t_s
        except KeyError as exc:
            raise PowerSourceError(f"{path}:{number}: missing {exc.args[0]}") from None
        except (TypeError, ValueError):
            raise PowerSourceError(f"{path}:{number}: t_s and power_w must be numbers") from None
        device = str(record.get("device") or DEFAULT_DEVICE).strip()
        points = per_device.setdefault(device, [])
        if points and t_s < points[-1][0]:
            raise PowerSourceError(f"{path}:{number}: t_s goes back in time for device {device}")
        points.append((t_s, power_w))
    if not per_device:
        raise PowerSourceError(f"{path}: the power trace has no rows")
    return per_device


class ReplaySource(PowerSource):
    """A recorded trace played back in (accelerated) real time, looping. See the module docstring."""

    name = "replay"
    counter_period_s = None

    def __init__(
        self,
        traces: dict[str, list[tuple[float, float]]],
        *,
        label: str = "trace",
        speed: float = 1.0,
        interpolation: Literal["linear", "hold"] = "linear",
        quality: Quality = "estimated",
        loop: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise PowerSourceError(f"replay speed must be positive, not {speed}")
        self._traces = {device: Trace(points, interpolation) for device, points in traces.items()}
        self._label = label
        self.speed = speed
        self.loop = loop
        self.quality = quality
        self._clock = clock
        self._lock = threading.Lock()
        self._t0 = clock()

    @classmethod
    def from_file(cls, path: str | Path, **options: object) -> ReplaySource:
        """Load a CSV/JSONL trace file (see the module docstring for the format)."""
        path = Path(path)
        return cls(load_trace_file(path), label=path.name, **options)  # type: ignore[arg-type]  # options pass through to __init__

    @classmethod
    def from_samples(cls, samples: Iterable[PowerSample], **options: object) -> ReplaySource:
        """Replay stored samples (e.g. a past session's), times relative to the first sample."""
        traces: dict[str, list[tuple[float, float]]] = {}
        ordered = sorted((s for s in samples if s.power_w is not None), key=lambda s: s.t_mono_s)
        if not ordered:
            raise PowerSourceError("no samples with power to replay")
        t_first = ordered[0].t_mono_s
        for sample in ordered:
            traces.setdefault(sample.device, []).append((sample.t_mono_s - t_first, float(sample.power_w or 0.0)))
        options.setdefault("label", "stored samples")
        return cls(traces, **options)  # type: ignore[arg-type]  # options pass through to __init__

    def start(self, t0_mono_s: float | None = None) -> None:
        """Restart playback: trace time 0 is now (or ``t0_mono_s``)."""
        with self._lock:
            self._t0 = self._clock() if t0_mono_s is None else t0_mono_s

    def trace_time_s(self, t_mono_s: float, trace: Trace) -> float:
        """The position in ``trace`` played at monotonic time ``t_mono_s``."""
        elapsed = max(t_mono_s - self._t0, 0.0) * self.speed
        if self.loop and trace.span_s > 0:
            elapsed %= trace.span_s
        return trace.start_s + elapsed

    def devices(self) -> list[str]:
        return list(self._traces)

    def read(self) -> list[PowerSample]:
        with self._lock:
            t_s = self._clock()
            return [
                PowerSample(t_s, device, trace.power_at(self.trace_time_s(t_s, trace)), self.name, self.quality)
                for device, trace in self._traces.items()
            ]

    def describe(self) -> str:
        spans = ", ".join(f"{d} {t.span_s:g} s" for d, t in self._traces.items())
        return (
            f"replay {self._label} ({spans}; x{self.speed:g}, {'looping' if self.loop else 'once'}; "
            f"{self.quality}: not a measurement of this run)"
        )

    def label(self) -> str:
        return f"replay {self._label}"
