"""Store performance: sample inserts per second through the real writer, listing 1,000 sessions, and the
database growth of one hour of 20 Hz sampling on two devices.

1. ``--samples`` (default 300,000) PowerSampled events, built beforehand, go through ``writer.handle()``;
   the clock runs from the first ``handle`` until ``writer.close()`` has committed the last row; repeated
   ``--repeats`` times (default 3) into fresh databases. Goal: >= 50,000 samples/s.
2. 1,000 sessions (50 items per side, 1 Hz samples, a verdict on every other one) are recorded through the
   writer, then ``list_sessions()`` is timed (median of 7 calls, all 1,000 rows). Goal: < 200 ms.
3. A fresh database records one session; after its SessionStarted is committed and the connections are
   closed, the file size is noted; then 3,600 s x 20 Hz x 2 devices = 144,000 realistic samples (an H100-like
   GPU with energy counter, temperature and clock; a RAPL package) are written and the connections closed
   again (no VACUUM). The growth is the size difference.

    .venv/bin/python benchmarks/store.py [--samples 300000] [--sessions 1000] [--strict]

Each timed figure prints its spread (``spread.py``: interquartile range over median) and says "inconclusive"
instead of ok / MISSED when that spread is wider than the room between the median and the goal. ``--strict`` exits
1 when a goal is missed (the figures depend on the machine and its load). The growth is a byte count: no spread.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, room, spread, verdict

from greentui.core.records import PowerSampled
from greentui.store import SessionStore
from tests.helpers.store_events import LiveSession, realistic_samples

GOAL_SAMPLES_PER_S = 50_000
GOAL_LIST_MS = 200.0


def sample_events(n: int, t0: float, period_s: float, seed: int = 0) -> list[PowerSampled]:
    """``n`` samples, alternating two devices, ``period_s`` apart per device."""
    rng, energy, events = random.Random(seed), [5_000.0, 2_000.0], []
    for k in range(n // 2):
        for n_device, sample in enumerate(realistic_samples(t0 + k * period_s, period_s, energy, rng)):
            energy[n_device] = sample.energy_counter_j or energy[n_device]
            events.append(PowerSampled(sample=sample))
    return events


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def bench_inserts(folder: Path, n: int, name: str = "inserts") -> tuple[float, float]:
    """(samples committed per second, microseconds per handle() call on the producer thread)."""
    store = SessionStore(folder / f"{name}.db")
    writer = store.writer()
    writer.handle(LiveSession("bench-inserts").started())
    writer.flush()
    events = sample_events(n, 2_000.0, 0.05)
    start = time.perf_counter()
    for event in events:
        writer.handle(event)
    handled = time.perf_counter()
    writer.close()
    elapsed = time.perf_counter() - start
    stored = store._db.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert writer.error is None and stored == len(events), (writer.error, stored)
    store.close()
    return len(events) / elapsed, (handled - start) / len(events) * 1e6


def bench_listing(folder: Path, n_sessions: int) -> tuple[list[float], float, int]:
    """(ms of 7 calls listing every session, seconds it took to record them, items stored)."""
    store = SessionStore(folder / "listing.db")
    started = time.perf_counter()
    writer = store.writer()
    for k in range(n_sessions):
        live = LiveSession(
            f"{k:08x}-bench",
            n_items=50,
            sample_hz=1.0,
            seed=k,
            started_unix_s=1.7e9 + k * 600,
            task_id=("sentiment", "arithmetic", "sql")[k % 3],
            fail_side="B" if k % 17 == 0 else None,
        )
        for event in live.events():
            if event.kind not in ("token", "model_loading"):
                writer.handle(event)
    writer.close()
    for k in range(0, n_sessions, 2):
        store.save_verdict(f"{k:08x}-bench", {"mode": "head-to-head"}, "B matches A at 88% of A's energy")
    recorded_s = time.perf_counter() - started
    assert writer.error is None
    timings = []
    for _ in range(7):
        t = time.perf_counter()
        listed = store.list_sessions()
        timings.append((time.perf_counter() - t) * 1000)
    assert len(listed) == n_sessions
    items = store._db.execute("SELECT count(*) FROM items").fetchone()[0]
    store.close()
    return timings, recorded_s, items


def bench_growth(folder: Path, hz: float = 20.0, seconds: float = 3600.0) -> tuple[float, int]:
    """(MB added by one hour of sampling two devices at ``hz``, samples written)."""
    path = folder / "growth.db"
    store = SessionStore(path)
    writer = store.writer()
    writer.handle(LiveSession("bench-growth").started())
    writer.close()
    store.close()  # the last connection checkpoints and removes the WAL
    before = db_bytes(path)
    events = sample_events(int(seconds * hz) * 2, 2_000.0, 1.0 / hz, seed=7)
    store = SessionStore(path)
    writer = store.writer()
    writer.handle(LiveSession("bench-growth").started())  # the same session again: its samples follow
    for event in events:
        writer.handle(event)
    writer.close()
    store.close()
    return (db_bytes(path) - before) / 1e6, len(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300_000, help="samples for the insert rate")
    parser.add_argument("--sessions", type=int, default=1000, help="sessions for the listing time")
    parser.add_argument("--repeats", type=int, default=3, help="insert runs, each into a fresh database")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    print(f"before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="greentui-bench-") as tmp:
        folder = Path(tmp)
        runs = [bench_inserts(folder, args.samples, f"inserts-{k}") for k in range(max(1, args.repeats))]
        rates = spread([r for r, _ in runs], "inserts", "samples/s")
        handle_us = statistics.median(h for _, h in runs)
        rate = rates.median
        said_rate = verdict(rate >= GOAL_SAMPLES_PER_S, [rates], room(rate, GOAL_SAMPLES_PER_S))
        print(
            f"sample inserts : {rate:,.0f} samples/s through the writer ({args.samples:,} samples x {len(runs)}; "
            f"handle() {handle_us:.2f} us/call)  goal >= {GOAL_SAMPLES_PER_S:,}/s  {said_rate}\n"
            f"                 {rates.describe(0)}"
        )
        timings, recorded_s, items = bench_listing(folder, args.sessions)
        listing = spread(timings, "listing", "ms")
        list_ms = listing.median
        said_list = verdict(list_ms < GOAL_LIST_MS, [listing], room(list_ms, GOAL_LIST_MS))
        print(
            f"list sessions  : {list_ms:.1f} ms for {args.sessions:,} sessions ({items:,} items; recorded in "
            f"{recorded_s:.1f} s)  goal < {GOAL_LIST_MS:.0f} ms  {said_list}\n"
            f"                 {listing.describe(1)}"
        )
        growth_mb, n = bench_growth(folder)
        print(
            f"growth         : {growth_mb:.2f} MB per hour of 20 Hz sampling on two devices ({n:,} samples, "
            f"{growth_mb * 1e6 / n:.1f} bytes/sample, no VACUUM)"
        )
    print(f"after: {load_average()}")
    missed = "BELOW GOAL" in (said_rate, said_list)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
