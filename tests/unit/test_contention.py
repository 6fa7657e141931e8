"""Contention accounting (core/measure/contention.py) and the measuring door's per-process charge of the CPU
estimate (core/measure/measuring.py): hand-made CPU counters, pynvml patched with autospec=True, and real
child processes whose CPU time is counted as the session's or as another program's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import namedtuple
from collections.abc import Iterator
from types import SimpleNamespace
from unittest import mock

import psutil
import pynvml
import pytest

from greentui.core.measure.contention import (
    MIN_WINDOW_CPU_S,
    CpuAccounting,
    CpuSnapshot,
    GpuWatch,
    busy_and_total_s,
    cpu_use,
    is_contended,
)
from greentui.core.measure.measuring import SCOPE_PROCESS, Measuring, MeasuringError, MeasuringSettings
from greentui.core.records import CONTENDED_CPU_SHARE, Measurement

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def snap(t: float, busy: float, total: float, session: float, **sides: float) -> CpuSnapshot:
    return CpuSnapshot(t, busy, total, session, dict(sides), frozenset(sides))


# ---------------------------------------------------------------- arithmetic


def test_busy_and_total_leave_out_steal_and_count_guest_once() -> None:
    times = Times(user=10, nice=1, system=4, idle=80, iowait=2, irq=1, softirq=1, steal=3, guest=2, guest_nice=0)
    busy, total = busy_and_total_s(times)
    # total = 104 - guest 2 = 102, minus steal = 99; idle-ish = 80 + 2 + 3 = 85 -> busy = 102 - 85 = 17
    assert (busy, total) == (17, 99)


def test_other_programs_share_is_machine_busy_minus_the_session() -> None:
    use = cpu_use(snap(0.0, 10.0, 100.0, 3.0, A=1.0), snap(1.0, 11.6, 102.0, 3.4, A=1.3))
    assert use.machine_cpu_s == pytest.approx(2.0) and use.session_cpu_s == pytest.approx(0.4)
    assert use.other_cpu_s == pytest.approx(1.2) and use.other_share == pytest.approx(0.6)
    assert use.side_share("A") == pytest.approx(0.15) and use.side_share("B") is None  # B's processes unknown
    assert is_contended(use.other_share, None)


def test_a_window_too_short_to_tell_has_no_share_and_is_not_flagged() -> None:
    use = cpu_use(snap(0.0, 0.0, 0.0, 0.0), snap(0.01, 0.02, MIN_WINDOW_CPU_S / 2, 0.0))
    assert use.other_share is None and not is_contended(use.other_share, None)


def test_the_threshold_and_the_gpu_rule() -> None:
    assert not is_contended(CONTENDED_CPU_SHARE, None)  # "above" the threshold, not at it
    assert is_contended(CONTENDED_CPU_SHARE + 0.01, None)
    assert is_contended(0.0, 1) and not is_contended(0.0, 0) and not is_contended(None, None)


def test_session_time_above_machine_busy_time_never_gives_a_negative_share() -> None:
    # the kernel's per-process and machine counters tick separately: the session may read a little more
    use = cpu_use(snap(0.0, 0.0, 0.0, 0.0), snap(1.0, 0.5, 2.0, 0.6))
    assert use.other_cpu_s == 0.0 and use.other_share == 0.0


# ---------------------------------------------------------------- real processes


def spinner() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


@pytest.fixture()
def child() -> Iterator[subprocess.Popen[bytes]]:
    process = spinner()
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_sides_process_tree_counts_as_the_session_and_its_own(child: subprocess.Popen[bytes]) -> None:
    accounting = CpuAccounting({"A": lambda: [child.pid]}, own_pid=os.getpid())
    before = accounting.snapshot()
    deadline = time.monotonic() + 0.6
    while psutil.Process(child.pid).cpu_times().user < 0.05 and time.monotonic() < deadline + 5:
        time.sleep(0.05)
    time.sleep(max(0.0, deadline - time.monotonic()))
    after = accounting.snapshot()
    use = cpu_use(before, after)
    assert child.pid in accounting.session_pids()
    assert use.sides_cpu_s["A"] > 0.05  # the spinner ran: its time is A's
    assert use.session_cpu_s >= use.sides_cpu_s["A"] - 1e-9  # the spinner is inside greentui's own tree too


def test_a_process_outside_the_session_is_another_program(child: subprocess.Popen[bytes]) -> None:
    # the spinner is this test process's child, so greentui's "own tree" is a process that has no children
    outsider = psutil.Process(child.pid)
    accounting = CpuAccounting({}, own_pid=_sleeping_pid())
    before = accounting.snapshot()
    start_cpu = sum(outsider.cpu_times()[:2])
    time.sleep(0.6)
    use = cpu_use(before, accounting.snapshot())
    spun = sum(outsider.cpu_times()[:2]) - start_cpu
    assert use.other_cpu_s >= 0.8 * spun > 0  # the outsider's work shows up as other programs' time


def _sleeping_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    _sleepers.append(proc)
    return proc.pid


_sleepers: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _reap_sleepers() -> Iterator[None]:
    yield
    while _sleepers:
        proc = _sleepers.pop()
        proc.kill()
        proc.wait()


def test_a_provider_that_fails_does_not_stop_the_accounting() -> None:
    def broken() -> list[int]:
        raise RuntimeError("server gone")

    accounting = CpuAccounting({"A": broken})
    use = cpu_use(accounting.snapshot(), accounting.snapshot())
    assert "A" not in use.sides_cpu_s


# ---------------------------------------------------------------- GPU (pynvml patched)


def gpu_patches(processes: dict[int, list[int]], count: int = 2) -> list[mock._patch]:  # type: ignore[type-arg]
    return [
        mock.patch.object(pynvml, "nvmlInit", autospec=True),
        mock.patch.object(pynvml, "nvmlShutdown", autospec=True),
        mock.patch.object(pynvml, "nvmlDeviceGetCount", autospec=True, return_value=count),
        mock.patch.object(pynvml, "nvmlDeviceGetHandleByIndex", autospec=True, side_effect=lambda i: i),
        mock.patch.object(
            pynvml,
            "nvmlDeviceGetComputeRunningProcesses",
            autospec=True,
            side_effect=lambda h: [SimpleNamespace(pid=p, usedGpuMemory=1) for p in processes[h]],
        ),
    ]


def test_gpu_watch_counts_processes_outside_the_session() -> None:
    patches = gpu_patches({0: [101, 555], 1: [777]})
    for p in patches:
        p.start()
    try:
        watch = GpuWatch([0], environ={})
        assert watch.available
        assert watch.other_processes({101}) == 1  # 555 is someone else's; GPU 1 is not the models'
        assert watch.other_processes({101, 555}) == 0
        assert watch.other_processes({42}) is None  # none of ours listed: pids of another namespace, cannot tell
        watch.close()
        pynvml.nvmlShutdown.assert_called_once()  # type: ignore[attr-defined]
    finally:
        for p in patches:
            p.stop()


def test_gpu_watch_without_nvml_or_without_a_gpu_model_answers_none() -> None:
    assert GpuWatch([]).other_processes({1}) is None
    with mock.patch.object(
        pynvml, "nvmlInit", autospec=True, side_effect=pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    ):
        watch = GpuWatch([0])
    assert not watch.available and watch.other_processes({1}) is None and "NVML" in (watch.reason or "")


# ---------------------------------------------------------------- the measuring door


def test_measuring_refuses_bad_configuration_in_one_line() -> None:
    with pytest.raises(MeasuringError, match="PUE"):
        Measuring(MeasuringSettings(power_source="estimate", pue=0.5))
    with pytest.raises(MeasuringError, match="unknown power source"):
        Measuring(MeasuringSettings(power_source="nonsense"))


def test_the_estimate_charges_each_model_its_own_process_tree(child: subprocess.Popen[bytes]) -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    _sleepers.append(idle)
    measuring = Measuring(
        MeasuringSettings(power_source="estimate", sample_hz=20.0),
        side_pids={"A": lambda: [child.pid], "B": lambda: [idle.pid]},
        own_pid=_sleeping_pid(),
    )
    measuring.start()
    try:
        measuring.begin("A:1", "A")
        measuring.begin("B:1", "B")
        time.sleep(0.8)
        busy = measuring.end("A:1")
        quiet = measuring.end("B:1")
    finally:
        figures = measuring.finish()
    charge = measuring._estimate
    assert charge is not None and busy.scope == quiet.scope == SCOPE_PROCESS
    # the sleeping side is charged the idle draw of its window and nothing more
    assert quiet.joules == pytest.approx(charge.idle_w * quiet.seconds, rel=0.05)
    # the spinning side more than that, and never more than the whole machine's estimate
    assert busy.joules is not None and busy.joules > quiet.joules
    assert busy.joules_machine is not None and busy.joules <= busy.joules_machine
    assert figures["measurement_methods"] == ["integrated"] and figures["energy_scopes"] == [SCOPE_PROCESS]
    assert figures["contention"]["windows"] == 2 and figures["contention"]["threshold_cpu_share"] == 0.25
    assert measuring.finish() is figures  # closed in one place, once


def test_a_process_trees_charge_never_exceeds_the_machines_figure_for_the_same_window() -> None:
    # CPU times at the window's edges say the tree spun both cores for the whole second; the sampled machine
    # figure, integrated over the window, came out lower (a sample late at an edge). The part is capped at the whole.
    measuring = Measuring(MeasuringSettings(power_source="estimate"), side_pids={"A": lambda: [os.getpid()]})
    charge = measuring._estimate
    assert charge is not None
    full = charge.charged_j(1.0, 2.0 * charge.logical_cpus)
    low = Measurement("A:1", 10.0, 11.0, full * 0.9, "estimate", "estimated")
    edges = (snap(10.0, 0.0, 2.0, 0.0, A=0.0), None)
    with mock.patch.object(
        measuring.cpu, "snapshot", return_value=snap(11.0, 2.0, 4.0, 2.0, A=2.0 * charge.logical_cpus)
    ):
        window = measuring._window(low, edges, "A")
    assert window.scope == SCOPE_PROCESS and window.joules == pytest.approx(full * 0.9)
    assert window.joules_machine == pytest.approx(full * 0.9)
    high = Measurement("A:2", 10.0, 11.0, full * 2, "estimate", "estimated")
    with mock.patch.object(
        measuring.cpu, "snapshot", return_value=snap(11.0, 2.0, 4.0, 2.0, A=2.0 * charge.logical_cpus)
    ):
        window = measuring._window(high, edges, "A")
    assert window.joules == pytest.approx(full)  # below the whole: the tree's own charge


def test_a_short_window_takes_its_share_from_the_load_around_it() -> None:
    readings = iter(
        [
            Times(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),  # t = 0
            Times(0.4, 0, 0, 0.1, 0, 0, 0, 0, 0, 0),  # t = 0.25: 0.5 CPU-s, 0.4 of it busy
            Times(0.42, 0, 0, 0.1, 0, 0, 0, 0, 0, 0),  # t = 0.26: a 10 ms window, 0.02 CPU-s: too short alone
        ]
    )
    clock = iter([0.0, 0.25, 0.26])
    accounting = CpuAccounting({}, own_pid=_sleeping_pid(), clock=lambda: next(clock), cpu_times=lambda: next(readings))
    first, second, third = accounting.snapshot(), accounting.snapshot(), accounting.snapshot()
    assert cpu_use(second, third).other_share is None
    # back to the first snapshot: 0.42 busy of 0.52 CPU-s, none of it the (sleeping) session's
    assert accounting.recent_share(third) == pytest.approx(0.42 / 0.52, abs=0.02)
    assert first.t_mono_s == 0.0
