"""The energy meter on synthetic traces with known integrals, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from greentui.core.measure.meter import EnergyMeter, dynamic_joules, integrate_trapezoid
from greentui.core.measure.power.base import PowerSource
from greentui.core.measure.power.replay import ReplaySource
from greentui.core.measure.sampler import PowerSampler
from greentui.core.records import Measurement, PowerSample

TRACES = Path(__file__).resolve().parents[1] / "assets" / "traces"


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class CounterSource(PowerSource):
    """A device with a cumulative counter that follows a constant power, updated every ``period_s``."""

    name = "fakecounter"
    quality = "measured"

    def __init__(self, clock: FakeClock, power_w: float, period_s: float = 0.1, broken: bool = False) -> None:
        self.clock, self.power_w, self.counter_period_s, self.broken = clock, power_w, period_s, broken
        self.t0 = clock()

    def _counter(self) -> float:
        # quantised like hardware: the counter moves only every period_s
        ticks = int((self.clock() - self.t0) / self.counter_period_s + 1e-9)
        return ticks * self.counter_period_s * self.power_w

    def devices(self) -> list[str]:
        return ["dev0"]

    def read(self) -> list[PowerSample]:
        counter = None if self.broken else self._counter()
        return [PowerSample(self.clock(), "dev0", self.power_w, self.name, "measured", counter)]

    def energy_counter_j(self, device: str) -> float | None:
        return None if self.broken else self._counter()

    def describe(self) -> str:
        return "fake counter"


def drive(sampler: PowerSampler, clock: FakeClock, t_from: float, t_to: float, rate_hz: float) -> None:
    """Tick the sampler on its grid k / rate_hz between two absolute times, moving the fake clock."""
    k = int(t_from * rate_hz) + 1
    while k / rate_hz <= t_to + 1e-12:
        clock.t = k / rate_hz
        sampler.sample_once()
        k += 1


def window(meter: EnergyMeter, sampler: PowerSampler, clock: FakeClock, t0: float, t1: float, rate_hz: float):
    drive(sampler, clock, 0.0, t0, rate_hz)
    clock.t = t0
    meter.begin("w")
    drive(sampler, clock, t0, t1, rate_hz)
    clock.t = t1
    return meter.end("w")


def replay_meter(traces: dict, rate_hz: float, clock: FakeClock) -> tuple[EnergyMeter, PowerSampler]:
    source = ReplaySource(traces, clock=clock, loop=False)
    source.start(0.0)
    sampler = PowerSampler([source], rate_hz, clock=clock)
    return EnergyMeter([source], sampler, clock=clock), sampler


@pytest.mark.parametrize("rate_hz", [10.0, 50.0])
def test_step_100w_from_file_matches_analytic_within_half_percent(rate_hz: float) -> None:
    clock = FakeClock(0.0)
    source = ReplaySource.from_file(TRACES / "step_100w.csv", clock=clock, loop=False)
    source.start(0.0)
    sampler = PowerSampler([source], rate_hz, clock=clock)
    meter = EnergyMeter([source], sampler, clock=clock)
    # the step (0 -> 100 W at 1.0 s) falls between window edges that are off the sampling grid
    m = window(meter, sampler, clock, 0.537, 20.913, rate_hz)
    analytic = 100.0 * (20.913 - 1.0)
    assert m.method == "integrated"
    assert m.joules == pytest.approx(analytic, rel=0.005)
    assert m.quality == "estimated" and m.source == "replay"
    assert not m.flagged_short


@pytest.mark.parametrize("rate_hz", [10.0, 50.0])
def test_step_off_grid_error_is_bounded_by_one_interval(rate_hz: float) -> None:
    # a step at 2.03 s sits inside a sampling interval; trapezoids smear it by at most dP x dt / 2
    clock = FakeClock(0.0)
    traces = {"cpu": [(0.0, 40.0), (2.03, 40.0), (2.03, 140.0), (9.0, 140.0)]}
    meter, sampler = replay_meter(traces, rate_hz, clock)
    m = window(meter, sampler, clock, 0.25, 6.75, rate_hz)
    analytic = 40.0 * (2.03 - 0.25) + 140.0 * (6.75 - 2.03)
    assert abs(m.joules - analytic) <= 100.0 / rate_hz / 2 + 1e-9


@pytest.mark.parametrize("rate_hz", [10.0, 50.0])
def test_constant_and_ramp_are_exact(rate_hz: float) -> None:
    clock = FakeClock(0.0)
    traces = {"gpu0": [(0.0, 75.0), (30.0, 75.0)], "cpu": [(0.0, 0.0), (30.0, 300.0)]}  # cpu: 10 W per s
    meter, sampler = replay_meter(traces, rate_hz, clock)
    t0, t1 = 1.234, 7.891
    m = window(meter, sampler, clock, t0, t1, rate_hz)
    per_device = dict(m.per_device_j)
    assert per_device["gpu0"] == pytest.approx(75.0 * (t1 - t0), rel=1e-9)
    assert per_device["cpu"] == pytest.approx(5.0 * (t1**2 - t0**2), rel=1e-9)
    assert m.joules == pytest.approx(per_device["gpu0"] + per_device["cpu"])
    assert m.seconds == pytest.approx(t1 - t0)


def test_ramp_trace_file() -> None:
    clock = FakeClock(0.0)
    source = ReplaySource.from_file(TRACES / "ramp_0_200w.csv", clock=clock, loop=False)
    source.start(0.0)
    sampler = PowerSampler([source], 10.0, clock=clock)
    meter = EnergyMeter([source], sampler, clock=clock)
    m = window(meter, sampler, clock, 0.0, 10.0, 10.0)
    assert m.joules == pytest.approx(1000.0, rel=1e-9)


def test_window_edges_come_from_the_meters_own_reads() -> None:
    # no sampler samples inside a short window: the begin/end reads alone integrate a ramp exactly
    clock = FakeClock(0.0)
    meter, _sampler = replay_meter({"cpu": [(0.0, 0.0), (10.0, 100.0)]}, 10.0, clock)
    clock.t = 3.01
    meter.begin("w")
    clock.t = 3.06
    m = meter.end("w")
    assert m.joules == pytest.approx(0.05 * (30.1 + 30.6) / 2, rel=1e-9)


def test_counter_path_uses_the_counter_delta() -> None:
    clock = FakeClock(0.0)
    source = CounterSource(clock, power_w=200.0)
    meter = EnergyMeter([source], None, clock=clock)
    clock.t = 1.0
    meter.begin("item")
    clock.t = 3.5
    m = meter.end("item")
    assert m.method == "counter" and m.quality == "measured"
    assert m.joules == pytest.approx(500.0)
    assert not m.flagged_short


def test_window_shorter_than_counter_period_is_flagged_not_zero() -> None:
    clock = FakeClock(0.0)
    source = CounterSource(clock, power_w=100.0, period_s=0.1)
    sampler = PowerSampler([source], 10.0, clock=clock)
    meter = EnergyMeter([source], sampler, clock=clock)
    clock.t = 1.01
    meter.begin("tiny")
    clock.t = 1.05  # the counter has not moved (next update at 1.1)
    m = meter.end("tiny")
    assert m.flagged_short
    assert m.joules == pytest.approx(4.0)  # 100 W x 0.04 s from power, not the counter's 0 J
    assert m.method == "integrated"


def test_broken_counter_falls_back_to_integration_and_mixes_per_device() -> None:
    clock = FakeClock(0.0)
    good = CounterSource(clock, power_w=50.0)
    broken = CounterSource(clock, power_w=30.0, broken=True)
    broken.name = "fakebroken"
    sampler = PowerSampler([good, broken], 10.0, clock=clock)
    meter = EnergyMeter([good, broken], sampler, clock=clock)
    m = window(meter, sampler, clock, 0.5, 2.5, 10.0)
    assert m.method == "integrated"  # not every device had a counter
    assert m.joules == pytest.approx(50.0 * 2.0 + 30.0 * 2.0)
    assert m.source == "fakecounter+fakebroken"


def test_a_source_without_any_reading_gives_none_not_zero() -> None:
    class Dead(CounterSource):
        def read(self) -> list[PowerSample]:
            raise RuntimeError("GPU is lost")

    clock = FakeClock(0.0)
    meter = EnergyMeter([Dead(clock, 10.0)], None, clock=clock)
    meter.begin("x")
    clock.t = 2.0
    m = meter.end("x")
    assert m.joules is None and m.method == "none"


def test_idle_baseline_samples_and_skips() -> None:
    clock = FakeClock(0.0)
    source = ReplaySource({"cpu": [(0.0, 12.0), (100.0, 12.0)]}, clock=clock, loop=False)
    source.start(0.0)
    sampler = PowerSampler([source], 10.0, clock=clock)

    def fake_sleep(seconds: float) -> None:
        drive(sampler, clock, clock.t, clock.t + seconds, 10.0)
        clock.t = 0.05 + seconds

    meter = EnergyMeter([source], sampler, clock=clock, sleep=fake_sleep)
    clock.t = 0.05
    idle = meter.idle_baseline(3.0)
    assert idle.seconds == pytest.approx(3.0)
    assert idle.mean_power_w == pytest.approx(12.0)
    skipped = meter.idle_baseline(0)
    assert skipped.joules is None and skipped.seconds == 0 and skipped.method == "none"


def test_idle_baseline_can_be_cancelled() -> None:
    source = ReplaySource({"cpu": [(0.0, 5.0), (1.0, 5.0)]})
    meter = EnergyMeter([source], None)
    threading.Timer(0.05, meter.cancel_idle).start()
    m = meter.idle_baseline(30.0)  # returns as soon as cancelled
    assert m.seconds < 30.0 and m.joules is not None


def test_dynamic_joules() -> None:
    m = Measurement("k", 10.0, 14.0, 100.0, "estimate", "estimated")
    assert dynamic_joules(m, 20.0) == pytest.approx(20.0)
    assert dynamic_joules(m, None) is None
    assert dynamic_joules(Measurement("k", 0.0, 1.0, None, "x", "estimated", method="none"), 5.0) is None


def test_integrate_trapezoid_pure() -> None:
    samples = [PowerSample(t, "d", p, "s", "measured") for t, p in [(0.0, 0.0), (1.0, 10.0), (2.0, 10.0)]]
    assert integrate_trapezoid(samples, 0.0, 2.0) == pytest.approx(15.0)
    assert integrate_trapezoid(samples, 0.5, 1.5) == pytest.approx(0.5 * 7.5 + 0.5 * 10.0)  # interpolated edges
    assert integrate_trapezoid(samples, 2.0, 4.0) == pytest.approx(20.0)  # held flat past the data
    assert integrate_trapezoid([PowerSample(0.0, "d", None, "s", "measured")], 0.0, 1.0) is None


def test_unknown_or_duplicate_window_keys() -> None:
    meter = EnergyMeter([ReplaySource({"cpu": [(0.0, 1.0), (1.0, 1.0)]})], None)
    with pytest.raises(KeyError):
        meter.end("never")
    meter.begin("a")
    with pytest.raises(KeyError):
        meter.begin("a")
    meter.discard("a")
    meter.begin("a")


def test_window_longer_than_the_sampler_history_is_flagged() -> None:
    clock = FakeClock(0.0)
    source = ReplaySource({"cpu": [(0.0, 10.0), (100.0, 10.0)]}, clock=clock, loop=False)
    source.start(0.0)
    sampler = PowerSampler([source], 10.0, history_s=2.0, clock=clock)
    meter = EnergyMeter([source], sampler, clock=clock)
    m = window(meter, sampler, clock, 1.0, 9.0, 10.0)
    assert m.flagged_short and m.joules == pytest.approx(80.0)
