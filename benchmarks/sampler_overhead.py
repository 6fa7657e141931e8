"""CPU cost of the power sampler thread, as a share of one core.

Runs a :class:`~greentui.core.measure.sampler.PowerSampler` over the CPU estimate source (with the process-tree detail
on, as in a session) at 20 Hz for ``--seconds`` (default 60) while the main thread sleeps. The sampler thread's
CPU time is read *on that thread* with ``time.thread_time()`` (CLOCK_THREAD_CPUTIME_ID, nanosecond resolution)
from the ``on_sample`` callback, and divided by wall time, in ``--windows`` equal windows (default 6) whose spread is
printed; when it is wider than the room between the median share and the goal, the result is "inconclusive" rather
than PASS. ``/proc``'s per-thread figure (10 ms accounting ticks, so coarse over short runs) is a cross-check.
Goal: below 1 % of one core.

    .venv/bin/python benchmarks/sampler_overhead.py [--seconds 60] [--windows 6] [--rate-hz 20] [--source estimate]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, room, spread, verdict

from greentui.core.measure.power import select_power_sources
from greentui.core.measure.sampler import PowerSampler
from greentui.core.records import PowerSample

GOAL_SHARE = 0.01


def thread_cpu_s(native_id: int) -> float:
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return thread.user_time + thread.system_time
    raise RuntimeError(f"thread {native_id} not found")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to sample (default 60)")
    parser.add_argument("--windows", type=int, default=6, help="equal windows the time is split into (default 6)")
    parser.add_argument("--rate-hz", type=float, default=20.0, help="sampling rate (default 20)")
    parser.add_argument("--source", default="estimate", help="power source choice (default estimate)")
    args = parser.parse_args(argv)

    pid = os.getpid()
    sources, _ = select_power_sources(args.source, process_pids=lambda: [pid])
    received = 0
    thread_clock: list[float] = []  # time.thread_time() of the sampler thread, read on that thread

    def on_sample(_: PowerSample) -> None:  # what the session does: hand the sample on
        nonlocal received
        received += 1
        thread_clock.append(time.thread_time())

    sampler = PowerSampler(sources, args.rate_hz, on_sample=on_sample)
    sampler.start()
    time.sleep(0.2)  # let the thread start and take its first readings
    native_id = sampler.native_thread_id
    assert native_id is not None
    print(f"before: {load_average()}")
    cpu0, wall0, mark0 = thread_cpu_s(native_id), time.monotonic(), len(thread_clock)
    process0 = sum(psutil.Process().cpu_times()[:2])
    shares: list[float] = []
    for _ in range(max(1, args.windows)):
        start_wall, start_mark = time.monotonic(), len(thread_clock)
        time.sleep(args.seconds / max(1, args.windows))
        end_wall, end_mark = time.monotonic(), len(thread_clock)
        if end_mark - start_mark >= 2:
            shares.append((thread_clock[end_mark - 1] - thread_clock[start_mark]) / (end_wall - start_wall))
    cpu1, wall1, mark1 = thread_cpu_s(native_id), time.monotonic(), len(thread_clock)
    process1 = sum(psutil.Process().cpu_times()[:2])
    sampler.stop()
    precise_s = thread_clock[mark1 - 1] - thread_clock[mark0]  # CLOCK_THREAD_CPUTIME_ID: ns resolution
    for source in sources:
        source.close()

    wall = wall1 - wall0
    share = precise_s / wall
    print(f"sources: {', '.join(s.label() for s in sources)}")
    print(
        f"rate: target {args.rate_hz:g} Hz, achieved {sampler.achieved_rate_hz:.2f} Hz, "
        f"missed ticks {sampler.missed_ticks}, read errors {sampler.read_errors}, samples {received}"
    )
    print(
        f"sampler thread CPU (thread_time): {precise_s:.4f} s over {wall:.1f} s wall = {share * 100:.3f} % "
        f"of one core (goal < {GOAL_SHARE * 100:g} %), {precise_s / max(mark1 - mark0 - 1, 1) * 1e6:.0f} us per tick"
    )
    print(
        f"cross-check from /proc (10 ms accounting ticks): thread {(cpu1 - cpu0) / wall * 100:.2f} %, "
        f"whole process {(process1 - process0) / wall * 100:.2f} %"
    )
    windows = spread([v * 100 for v in shares], "per-window share", "% of one core")
    print(f"  {windows.describe(3)}")
    said = verdict(share < GOAL_SHARE, [windows], margin=room(windows.median, GOAL_SHARE * 100))
    print(f"after: {load_average()}")
    print({"ok": "PASS", "BELOW GOAL": "ABOVE GOAL"}.get(said, said))
    return 0 if said == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
