"""The data behind the power chart: device power over time, which model was active when, and the idle baseline.

Samples are folded into fixed time bins (per device: sum and count), so drawing the chart costs the number of
bins, not the number of samples, however long the session runs. Events may arrive in any order (a replay can
yield all samples before the items): bins are addressed by time, and an item's active window comes whole from
its ``ItemScored`` (``started_mono_s`` .. ``ended_mono_s``) even when its ``ItemStarted`` was never seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from greentui.core.records import (
    Event,
    IdleMeasured,
    ItemScored,
    ItemStarted,
    PowerSampled,
    RunFailed,
    SessionFinished,
    SessionStarted,
    Side,
)

Activity = Literal["A", "B", "both", "idle"]


@dataclass(frozen=True)
class Column:
    """One column of the chart: mean total power in its time span (None: no sample) and who was active."""

    power_w: float | None
    activity: Activity


@dataclass
class _Window:
    side: Side
    start_mono_s: float
    end_mono_s: float | None  # None: still running


@dataclass
class PowerTrace:
    """Power history of one session. Feed it events with :meth:`apply`; read it with :meth:`columns`."""

    bin_s: float = 0.25
    origin_mono_s: float | None = None
    baseline_w: float | None = None
    end_mono_s: float | None = None  # latest time seen (sample, item or end of session)
    _bins: list[dict[str, list[float]]] = field(default_factory=list)  # per bin: device -> [sum_w, count]
    _windows: list[_Window] = field(default_factory=list)
    version: int = 0  # bumped on every change, so a view can skip redrawing an unchanged trace

    # ---- folding --------------------------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Fold one event; ignores the ones the chart does not use."""
        if isinstance(event, PowerSampled):
            sample = event.sample
            if sample.power_w is not None:
                self._add_sample(sample.t_mono_s, sample.device, sample.power_w)
        elif isinstance(event, ItemStarted):
            self._open_window(event.side, event.t_mono_s)
        elif isinstance(event, ItemScored):
            self._close_window(event.side, event.started_mono_s, event.ended_mono_s)
        elif isinstance(event, RunFailed):
            self._close_open(event.side, event.t_mono_s)
        elif isinstance(event, IdleMeasured):
            self.baseline_w = event.power_w
            self._see(event.t_mono_s)
        elif isinstance(event, SessionStarted):
            self.origin_mono_s = event.t_mono_s
        elif isinstance(event, SessionFinished):
            for side in ("A", "B"):
                self._close_open(side, event.t_mono_s)
            self._see(event.t_mono_s)
        else:
            return
        self.version += 1

    def _see(self, t_mono_s: float) -> None:
        if self.origin_mono_s is None:
            self.origin_mono_s = t_mono_s
        if self.end_mono_s is None or t_mono_s > self.end_mono_s:
            self.end_mono_s = t_mono_s

    def _add_sample(self, t_mono_s: float, device: str, power_w: float) -> None:
        self._see(t_mono_s)
        assert self.origin_mono_s is not None
        index = max(int((t_mono_s - self.origin_mono_s) / self.bin_s), 0)
        if index >= len(self._bins):
            self._bins.extend({} for _ in range(index + 1 - len(self._bins)))
        total = self._bins[index].setdefault(device, [0.0, 0.0])
        total[0] += power_w
        total[1] += 1

    def _open_window(self, side: Side, t_mono_s: float) -> None:
        self._see(t_mono_s)
        self._close_open(side, t_mono_s)
        self._windows.append(_Window(side, t_mono_s, None))

    def _close_window(self, side: Side, start_mono_s: float, end_mono_s: float) -> None:
        self._see(end_mono_s)
        for window in reversed(self._windows):
            if window.side == side and window.end_mono_s is None:
                window.start_mono_s, window.end_mono_s = start_mono_s, end_mono_s
                return
        self._windows.append(_Window(side, start_mono_s, end_mono_s))

    def _close_open(self, side: Side, t_mono_s: float) -> None:
        for window in self._windows:
            if window.side == side and window.end_mono_s is None:
                window.end_mono_s = t_mono_s

    # ---- reading -----------------------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        """Seconds from the origin to the latest time seen (0 before anything arrived)."""
        if self.origin_mono_s is None or self.end_mono_s is None:
            return 0.0
        return max(self.end_mono_s - self.origin_mono_s, 0.0)

    def _bin_power(self, index: int) -> float | None:
        """Total power in one bin: the mean of each device, summed over devices."""
        if index < 0 or index >= len(self._bins) or not self._bins[index]:
            return None
        return sum(total / count for total, count in self._bins[index].values())

    def columns(self, n_columns: int, start_s: float, end_s: float) -> list[Column]:
        """``n_columns`` equal time spans from ``start_s`` to ``end_s`` (seconds since the origin)."""
        if n_columns <= 0 or end_s <= start_s:
            return []
        span = (end_s - start_s) / n_columns
        eps = 1e-9  # keeps float noise (11 x 0.6818 = 7.4999...) from moving a bin into the previous column
        powers: list[float | None] = []
        for col in range(n_columns):
            col_start = start_s + col * span
            if col_start >= self.duration_s:  # the future: nothing to draw yet
                powers.append(None)
                continue
            first = int(col_start / self.bin_s + eps)
            last = max(int((col_start + span) / self.bin_s + eps), first + 1)
            values = [p for p in (self._bin_power(i) for i in range(first, last)) if p is not None]
            powers.append(sum(values) / len(values) if values else None)
        active = self._activity(n_columns, start_s, span)
        return [Column(power, activity) for power, activity in zip(powers, active)]

    def _activity(self, n_columns: int, start_s: float, span: float) -> list[Activity]:
        """Who was active in each column: the side whose windows cover most of it (both if both cover a lot)."""
        cover = {"A": [0.0] * n_columns, "B": [0.0] * n_columns}
        origin = self.origin_mono_s or 0.0
        now = self.end_mono_s or origin
        for window in self._windows:
            w_start = window.start_mono_s - origin - start_s
            w_end = (window.end_mono_s if window.end_mono_s is not None else now) - origin - start_s
            first, last = max(int(w_start / span), 0), min(int(w_end / span), n_columns - 1)
            for col in range(first, last + 1):
                overlap = min(w_end, (col + 1) * span) - max(w_start, col * span)
                if overlap > 0:
                    cover[window.side][col] += overlap
        result: list[Activity] = []
        now_s = now - origin - start_s
        for col, (a, b) in enumerate(zip(cover["A"], cover["B"])):
            # the column holding "now" is only partly in the past: judge it on that part
            seen = min(span, max(now_s - col * span, 1e-9))
            if a < seen * 0.2 and b < seen * 0.2:
                result.append("idle")
            elif a >= seen * 0.4 and b >= seen * 0.4:
                result.append("both")
            else:
                result.append("A" if a >= b else "B")
        return result
