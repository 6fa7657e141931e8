"""The power sampler: a daemon thread that reads every source at a fixed rate and keeps recent samples.

Ticks are scheduled on absolute deadlines (``t_start + k / rate_hz``) and paced with ``threading.Event.wait``,
so a slow read delays one tick without shifting all later ones (no sleep drift) and ``stop()`` wakes the thread
at once. A tick that falls more than one period behind is skipped rather than bunched (counted in
``missed_ticks``). Neither a failing source nor a failing ``on_sample`` callback stops the thread; both are
counted (``read_errors``, ``callback_errors``) and the last message kept in ``last_error``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from greentui.core.measure.power.base import PowerSource
from greentui.core.records import PowerSample

DEFAULT_HISTORY_S = 600.0  # long enough for any one item's window and for the live chart


def next_tick(start_s: float, period_s: float, tick: int, now_s: float) -> tuple[int, int]:
    """The grid tick to wait for next, and how many ticks were skipped.

    ``tick`` is the next tick in order. Up to one period late, it is kept (sampled at once: ordinary jitter).
    More than a period late (a stalled read, a suspended VM), the missed ticks are dropped and the next one
    still ahead on the grid ``start_s + k x period_s`` is chosen, so the sampler never bunches catch-up reads.
    """
    if now_s <= start_s + (tick + 1) * period_s:
        return tick, 0
    ahead = math.floor((now_s - start_s) / period_s) + 1
    return ahead, ahead - tick


class PowerSampler:
    """Samples ``sources`` every ``1 / rate_hz`` seconds on a daemon thread.

    ``on_sample`` is called on the sampler thread once per sample; it must be quick (post to a queue).
    ``history_s`` bounds the ring of kept samples (``rate_hz x history_s x devices`` entries).
    """

    def __init__(
        self,
        sources: Sequence[PowerSource],
        rate_hz: float = 10.0,
        on_sample: Callable[[PowerSample], None] | None = None,
        *,
        history_s: float = DEFAULT_HISTORY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate_hz > 0 or math.isinf(rate_hz):
            raise ValueError(f"sample rate must be a positive number of Hz, not {rate_hz}")
        self.sources = list(sources)
        self.rate_hz = float(rate_hz)
        self.period_s = 1.0 / self.rate_hz
        self.on_sample = on_sample
        self._clock = clock
        n_devices = max(sum(len(source.devices()) for source in self.sources), 1)
        self._ring: deque[PowerSample] = deque(maxlen=math.ceil(history_s * self.rate_hz) * n_devices + 16)
        self._latest: dict[tuple[str, str], PowerSample] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0
        self.missed_ticks = 0
        self.read_errors = 0
        self.callback_errors = 0
        self.last_error: str | None = None
        self._first_tick_s: float | None = None
        self._last_tick_s: float | None = None

    # ------------------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the sampler was already started")
        self._thread = threading.Thread(target=self._run, name="greentui-power-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread and wait for it (a read in progress finishes first). Safe to call twice."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def native_thread_id(self) -> int | None:
        """The OS id of the sampling thread (benchmarks read its CPU time from it)."""
        return None if self._thread is None else self._thread.native_id

    def _run(self) -> None:
        start_s = self._clock()
        tick = 0  # index of the next deadline on the grid start_s + tick * period_s
        while not self._stop.is_set():
            self.sample_once()
            tick, skipped = next_tick(start_s, self.period_s, tick + 1, self._clock())
            self.missed_ticks += skipped
            self._stop.wait(max(start_s + tick * self.period_s - self._clock(), 0.0))

    def sample_once(self) -> list[PowerSample]:
        """Read every source once, keep and publish the samples (the thread's tick; also usable directly)."""
        taken: list[PowerSample] = []
        for source in self.sources:
            try:
                taken.extend(source.read())
            except Exception as exc:  # a broken source must not kill sampling of the others
                self.read_errors += 1
                self.last_error = f"{source.name}: {type(exc).__name__}: {exc}"
        now_s = self._clock()
        with self._lock:
            self._ring.extend(taken)
            for sample in taken:
                self._latest[(sample.source, sample.device)] = sample
            self.ticks += 1
            if self._first_tick_s is None:
                self._first_tick_s = now_s
            self._last_tick_s = now_s
        if self.on_sample is not None:
            for sample in taken:
                try:
                    self.on_sample(sample)
                except Exception as exc:  # the consumer's bug must not stop measurement
                    self.callback_errors += 1
                    self.last_error = f"on_sample: {type(exc).__name__}: {exc}"
        return taken

    # ---------------------------------------------------------------------------------------------- queries
    def samples_between(self, t0_mono_s: float, t1_mono_s: float) -> list[PowerSample]:
        """Kept samples with ``t0 <= t_mono_s <= t1``, oldest first."""
        with self._lock:
            found = []
            # newest first, stopping once well before t0: windows are nearly always recent
            for sample in reversed(self._ring):
                if sample.t_mono_s < t0_mono_s - 1.0:
                    break
                if t0_mono_s <= sample.t_mono_s <= t1_mono_s:
                    found.append(sample)
        found.reverse()
        found.sort(key=lambda s: s.t_mono_s)
        return found

    def latest(self) -> list[PowerSample]:
        """The most recent sample of each device."""
        with self._lock:
            return list(self._latest.values())

    @property
    def oldest_kept_mono_s(self) -> float | None:
        with self._lock:
            return self._ring[0].t_mono_s if self._ring else None

    @property
    def achieved_rate_hz(self) -> float | None:
        """Ticks per second actually reached, over the whole run so far; None before two ticks."""
        with self._lock:
            if self.ticks < 2 or self._first_tick_s is None or self._last_tick_s is None:
                return None
            span_s = self._last_tick_s - self._first_tick_s
            return (self.ticks - 1) / span_s if span_s > 0 else None
