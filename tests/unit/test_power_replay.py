"""Replay of recorded traces: formats, steps that stay steps, looping, errors with file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from greentui.core.measure.power import PowerSourceError, describe_sources, select_power_sources
from greentui.core.measure.power.replay import ReplaySource, Trace
from greentui.core.records import PowerSample

TRACES = Path(__file__).resolve().parents[1] / "assets" / "traces"


class Clock:
    def __init__(self) -> None:
        self.t = 500.0

    def __call__(self) -> float:
        return self.t


def power_at(source: ReplaySource, clock: Clock, t_s: float, device: str = "replay") -> float | None:
    clock.t = 500.0 + t_s
    return next(s.power_w for s in source.read() if s.device == device)


def test_step_written_as_two_rows_stays_a_step() -> None:
    clock = Clock()
    source = ReplaySource.from_file(TRACES / "step_100w.csv", clock=clock, loop=False)
    assert power_at(source, clock, 0.5) == 0.0
    assert power_at(source, clock, 0.999999) == 0.0  # no ramp towards the step
    assert power_at(source, clock, 1.0) == 100.0
    assert power_at(source, clock, 1.000001) == 100.0
    assert power_at(source, clock, 50.0) == 100.0  # not looping: the last value holds


def test_linear_between_points_and_hold_mode() -> None:
    linear = Trace([(0.0, 0.0), (10.0, 200.0)])
    assert linear.power_at(2.5) == pytest.approx(50.0)
    hold = Trace([(0.0, 0.0), (10.0, 200.0)], interpolation="hold")
    assert hold.power_at(9.99) == 0.0 and hold.power_at(10.0) == 200.0


def test_loops_in_real_time_from_start() -> None:
    clock = Clock()
    source = ReplaySource.from_file(TRACES / "ramp_0_200w.csv", clock=clock)
    assert power_at(source, clock, 2.5) == pytest.approx(50.0)
    assert power_at(source, clock, 12.5) == pytest.approx(50.0)  # 10 s trace, looping
    source.start(clock() - 5.0)  # an explicit start 5 s ago
    assert power_at(source, clock, 12.5) == pytest.approx(100.0)
    fast = ReplaySource.from_file(TRACES / "ramp_0_200w.csv", clock=clock, speed=2.0)
    clock.t = 500.0
    fast.start()
    assert power_at(fast, clock, 2.5) == pytest.approx(100.0)


def test_jsonl_with_devices_and_describe() -> None:
    clock = Clock()
    source = ReplaySource.from_file(TRACES / "two_devices.jsonl", clock=clock)
    assert source.devices() == ["gpu0", "cpu"]
    assert power_at(source, clock, 1.0, "gpu0") == pytest.approx(150.0)
    assert power_at(source, clock, 1.0, "cpu") == pytest.approx(30.0)
    assert all(s.quality == "estimated" and s.source == "replay" for s in source.read())
    assert "replay two_devices.jsonl" in source.describe()
    assert "not a measurement" in source.describe()


def test_from_samples() -> None:
    samples = [PowerSample(100.0 + t, "gpu0", 10.0 * t, "nvml", "measured") for t in range(5)]
    clock = Clock()
    source = ReplaySource.from_samples(samples, clock=clock)
    assert power_at(source, clock, 2.5, "gpu0") == pytest.approx(25.0)


def test_bad_files_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("# comment\nt_s,power_w\n0,10\n1,ten\n")
    with pytest.raises(PowerSourceError, match=r"bad.csv:4: t_s and power_w must be numbers"):
        ReplaySource.from_file(bad)
    backwards = tmp_path / "back.jsonl"
    backwards.write_text('{"t_s": 1, "power_w": 1}\n{"t_s": 0, "power_w": 1}\n')
    with pytest.raises(PowerSourceError, match=r"back.jsonl:2: t_s goes back in time"):
        ReplaySource.from_file(backwards)
    header = tmp_path / "header.csv"
    header.write_text("time,watts\n0,1\n")
    with pytest.raises(PowerSourceError, match=re.escape("header.csv:1: expected a header")):
        ReplaySource.from_file(header)
    with pytest.raises(PowerSourceError, match="cannot read power trace"):
        ReplaySource.from_file(tmp_path / "missing.csv")


def test_selected_with_replay_colon_file() -> None:
    sources, statuses = select_power_sources(f"replay:{TRACES / 'step_100w.csv'}")
    assert [s.name for s in sources] == ["replay"]
    line, quality = describe_sources(sources, statuses)
    assert quality == "estimated" and "replay step_100w.csv" in line
    with pytest.raises(PowerSourceError, match=re.escape("power source replay:/nonexistent.csv: cannot read")):
        select_power_sources("replay:/nonexistent.csv")
    with pytest.raises(PowerSourceError, match="unknown power source 'bogus'"):
        select_power_sources("bogus")
