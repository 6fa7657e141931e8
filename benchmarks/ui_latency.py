"""Key-press-to-screen latency of the live screen while two models stream, measured end to end through a pty.

The real app runs in a child process on a pseudo-terminal (160x48, TERM=xterm-256color, non-headless: it writes
real escape sequences), showing a live session of two fake models generating ``--tps`` tokens per second each at
the same time (schedule ``parallel``, spawned worker processes) with the power sampler at ``--sample-hz`` on a
replayed trace. Once tokens stream, this script presses ``c`` (which toggles the power chart between "last 60 s"
and "whole session", a change in the chart's title) ``--presses`` times, and for each press measures the time
from writing the key to the pty until the new title has been written back by the app: input thread, message
queue, action, refresh, compositor and terminal write all included. It keeps draining the pty the whole time, as
a terminal would. Goal: p95 below 100 ms.

    .venv/bin/python benchmarks/ui_latency.py [--presses 60] [--tps 200] [--sample-hz 20]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, room, spread, verdict

GOAL_P95_MS = 100.0
ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT / "tests" / "tui" / "traces" / "busy_cpu.csv"
MARKERS = {False: b"last 60 s", True: b"whole session"}  # what the chart title says after a press
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def run_app(db: str, tps: float, sample_hz: float) -> None:
    """The child process: the real app on the live screen, two fake models streaming at once."""
    from greentui.core.run.session import SessionConfig
    from greentui.store import SessionStore
    from greentui.tui.app import make_app

    config = SessionConfig(
        model_a=f"fake:a?tps={tps:g}&tokens=100000@cpu",
        model_b=f"fake:b?tps={tps:g}&tokens=100000@cuda:0",
        task="arithmetic",
        limit=2,
        schedule="parallel",
        power_source=f"replay:{TRACE}",
        sample_hz=sample_hz,
        idle_s=0.5,
        item_timeout_s=3600,
        max_new_tokens=100_000,
    )
    make_app(store=SessionStore(Path(db)), start="live", session_config=config).run()


def read_available(fd: int, timeout_s: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout_s)
    if not ready:
        return b""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--tps", type=float, default=200.0, help="tokens per second of each fake model")
    parser.add_argument("--sample-hz", type=float, default=20.0)
    parser.add_argument("--gap-s", type=float, default=0.25, help="pause between presses")
    parser.add_argument("--child-db", help=argparse.SUPPRESS)  # internal: run the app (in the pty)
    args = parser.parse_args(argv)
    if args.child_db:
        run_app(args.child_db, args.tps, args.sample_hz)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="greentui-bench-"))
    env = dict(
        os.environ,
        TERM="xterm-256color",
        COLUMNS="160",
        LINES="48",
        GREENTUI_CONFIG_DIR=str(workdir),
        TEXTUAL_ANIMATIONS="none",
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: the app, on the pty
        os.execve(
            sys.executable,
            [
                sys.executable,
                __file__,
                "--child-db",
                str(workdir / "s.db"),
                "--tps",
                str(args.tps),
                "--sample-hz",
                str(args.sample_hz),
            ],
            env,
        )
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    latencies_ms: list[float] = []
    streamed = b""
    try:
        deadline = time.monotonic() + 60
        while b"running" not in ANSI.sub(b"", streamed) or b"tokens/s" not in streamed:
            if time.monotonic() > deadline:
                raise SystemExit("the app did not start streaming within 60 s")
            streamed += read_available(fd, 0.1)
        time.sleep(2.0)  # let both lanes stream for a while before measuring
        while read_available(fd, 0.05):
            pass
        whole = False
        for _ in range(args.presses):
            whole = not whole
            marker = MARKERS[whole]
            os.write(fd, b"c")
            pressed = time.perf_counter()
            seen = b""
            while True:
                chunk = read_available(fd, 2.0)
                if not chunk:
                    raise SystemExit("no screen update within 2 s of a key press")
                seen = (seen + chunk)[-65536:]
                if marker in ANSI.sub(b"", seen):
                    latencies_ms.append((time.perf_counter() - pressed) * 1000)
                    break
            end_gap = time.monotonic() + args.gap_s
            while time.monotonic() < end_gap:  # keep draining, as a terminal does
                read_available(fd, max(end_gap - time.monotonic(), 0))
    finally:
        os.write(fd, b"\x11")  # ctrl+q: stop the session and quit
        time.sleep(1.0)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        shutil.rmtree(workdir, ignore_errors=True)

    blocks = [_p95(latencies_ms[k::4]) for k in range(4)]  # four interleaved quarters of the presses
    latencies_ms.sort()
    p50 = statistics.median(latencies_ms)
    p95 = _p95(latencies_ms)
    quarters = spread(blocks, "p95 of each quarter", "ms")
    said = verdict(p95 < GOAL_P95_MS, [quarters], room(quarters.median, GOAL_P95_MS))
    print(
        f"key press -> screen updated, {len(latencies_ms)} presses, two fake models at {args.tps:g} tok/s each, "
        f"sampler at {args.sample_hz:g} Hz (160x48 pty):"
    )
    print(
        f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {latencies_ms[-1]:.1f} ms   (goal: p95 < {GOAL_P95_MS:.0f} ms)"
        f"  {said}\n  {quarters.describe(1)}\n  {load_average()}"
    )
    return 0 if said == "ok" else 1


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
