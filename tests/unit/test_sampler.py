"""The power sampler: ring, queries, error containment, deadline scheduling (fake clock where timing matters)."""

from __future__ import annotations

import threading

import pytest

from greentui.core.measure.power.base import PowerSource
from greentui.core.measure.sampler import PowerSampler, next_tick
from greentui.core.records import PowerSample


class FakeClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class ListSource(PowerSource):
    """Reads a constant power on ``n`` devices at the fake clock's time; optionally advances the clock."""

    name = "fake"
    quality = "measured"

    def __init__(self, clock, n: int = 1, power_w: float = 10.0, advance_s: float = 0.0, fail: bool = False):
        self.clock, self.n, self.power_w, self.advance_s, self.fail = clock, n, power_w, advance_s, fail
        self.reads = 0

    def devices(self) -> list[str]:
        return [f"d{i}" for i in range(self.n)]

    def read(self) -> list[PowerSample]:
        self.reads += 1
        if self.fail:
            raise OSError("sensor gone")
        t = self.clock()
        self.clock.t += self.advance_s
        return [PowerSample(t, d, self.power_w, self.name, self.quality) for d in self.devices()]

    def describe(self) -> str:
        return "fake"


def test_samples_between_latest_and_ring_bound() -> None:
    clock = FakeClock()
    source = ListSource(clock, n=2)
    sampler = PowerSampler([source], rate_hz=10.0, history_s=1.0, clock=clock)
    for k in range(30):
        clock.t = k / 10
        sampler.sample_once()
    # 1 s at 10 Hz x 2 devices (+ a small margin): old samples are gone
    assert len(sampler.samples_between(-1.0, 100.0)) <= 2 * 10 + 16
    window = sampler.samples_between(2.0, 2.45)
    assert sorted({s.t_mono_s for s in window}) == pytest.approx([2.0, 2.1, 2.2, 2.3, 2.4])
    assert len(window) == 10
    assert {s.device for s in sampler.latest()} == {"d0", "d1"}
    assert all(s.t_mono_s == pytest.approx(2.9) for s in sampler.latest())


def test_callback_and_source_errors_are_counted_not_raised() -> None:
    clock = FakeClock()
    good, bad = ListSource(clock), ListSource(clock, fail=True)
    seen: list[PowerSample] = []

    def on_sample(sample: PowerSample) -> None:
        seen.append(sample)
        raise ValueError("consumer bug")

    sampler = PowerSampler([bad, good], 10.0, on_sample=on_sample, clock=clock)
    sampler.sample_once()
    sampler.sample_once()
    assert sampler.read_errors == 2 and sampler.callback_errors == 2
    assert len(seen) == 2  # the good source still delivered
    assert "consumer bug" in (sampler.last_error or "")


def test_thread_runs_survives_errors_and_stops() -> None:
    got = threading.Event()
    count = 0

    def on_sample(_: PowerSample) -> None:
        nonlocal count
        count += 1
        if count >= 5:
            got.set()
        raise RuntimeError("ignored")

    import time

    class Real(ListSource):
        def read(self) -> list[PowerSample]:
            return [PowerSample(time.monotonic(), "d0", 1.0, "fake", "measured")]

    sampler = PowerSampler([Real(FakeClock())], rate_hz=100.0, on_sample=on_sample)
    sampler.start()
    assert got.wait(5.0), "the sampler thread stopped after a callback error"
    sampler.stop()
    assert not sampler.running
    assert sampler.achieved_rate_hz is not None and sampler.achieved_rate_hz > 0
    sampler.stop()  # twice is fine
    with pytest.raises(RuntimeError):
        sampler.start()


def test_next_tick_keeps_the_absolute_grid() -> None:
    assert next_tick(10.0, 0.1, 3, 10.31) == (3, 0)  # on time
    assert next_tick(10.0, 0.1, 3, 10.37) == (3, 0)  # less than a period late: sample now, keep the grid
    assert next_tick(10.0, 0.1, 3, 10.75) == (8, 5)  # stalled: skip to the next deadline ahead (10.8)
    tick, skipped = next_tick(0.0, 0.05, 1, 123.456)
    assert tick * 0.05 > 123.456 and (tick - 1) * 0.05 <= 123.456 and skipped == tick - 1


def test_slow_reads_count_missed_ticks_without_bunching() -> None:
    # every read takes 0.35 s of (fake) time at 10 Hz
    clock = FakeClock(0.0)
    source = ListSource(clock, advance_s=0.35)
    sampler = PowerSampler([source], 10.0, clock=clock)

    def on_sample(_: PowerSample) -> None:
        if source.reads >= 6:
            sampler.stop()

    sampler.on_sample = on_sample
    sampler.start()
    sampler._thread.join(5.0)
    assert source.reads == 6
    assert sampler.missed_ticks >= 6 * 2  # at least two ticks lost per 0.35 s read


def test_rejects_bad_rates() -> None:
    with pytest.raises(ValueError):
        PowerSampler([], rate_hz=0)
