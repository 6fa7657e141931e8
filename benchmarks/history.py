"""A long history: the history screen opening on 10,000 stored sessions, and ``greentui sessions`` starting.

1. Two stores are filled (tests/helpers/many_sessions.py: three sessions recorded through the writer, the rest
   copied in SQL): the reference holds ``--reference`` sessions (default 60: one page, a full table, so both
   sides draw the same screen) and the subject ``--sessions`` (default 10,000). For each, the app runs headless at
   160x48 and the time from pushing the history screen to its first rows on screen is taken, wall clock and this
   process's CPU time, ``--repeats`` times, alternating the two stores and which goes first. Goals: the 10,000-session open below
   500 ms, and within 1.5 times the one-page reference (paging: the screen's cost must not grow with the store).
   Both are judged on CPU time, which other programs on a shared machine do not inflate; wall times are printed.
2. ``greentui sessions`` on the 10,000-session store, in a fresh interpreter, against ``python -c pass``: the
   ratio of the medians, and whether pandas or numpy were imported (they must not be).

    .venv/bin/python benchmarks/history.py [--sessions 10000] [--reference 100] [--repeats 5] [--strict]

Every timed figure prints its spread (spread.py) and "inconclusive" when the spread is wider than the margin the
goal tests; the load average is printed beside the figures. ``--strict`` exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, room, spread, verdict

from greentui.store import SessionStore
from tests.helpers.many_sessions import fill_many

ROOT = Path(__file__).resolve().parents[1]
GOAL_OPEN_MS = 500.0
GOAL_RATIO = 1.5


async def open_history(store: SessionStore) -> tuple[float, float, int]:
    """(wall ms, CPU ms, rows shown) from pushing the history screen to its first rows on screen."""
    from greentui.tui.screens.history import HistoryScreen
    from greentui.tui.widgets.sessions_table import SessionsTable
    from tests.tui.pilot_helpers import quiet_app

    app = quiet_app(store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        wall, cpu = time.perf_counter(), time.process_time()
        screen = HistoryScreen()
        app.push_screen(screen)
        while not (app.screen is screen and screen.is_mounted and screen.query_one(SessionsTable).row_count > 0):
            await pilot.pause()
        await pilot.pause()  # the refresh that draws them
        rows = screen.query_one(SessionsTable).row_count
        return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, rows


def start_ms(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--reference", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="greentui-bench-history-"))
    stores = {}
    for label, n in (("reference", args.reference), ("subject", args.sessions)):
        store = SessionStore(folder / f"{label}.db")
        fill_many(store, n)
        stores[label] = store
    print(f"stores: {args.reference:,} and {args.sessions:,} sessions in {folder}")

    walls: dict[str, list[float]] = {"reference": [], "subject": []}
    cpus: dict[str, list[float]] = {"reference": [], "subject": []}
    asyncio.run(open_history(stores["reference"]))  # warm-up: imports, CSS parsing
    for repeat in range(args.repeats):
        order = list(stores.items()) if repeat % 2 == 0 else list(reversed(stores.items()))  # no side always second
        for label, store in order:
            wall, cpu, _ = asyncio.run(open_history(store))
            walls[label].append(wall)
            cpus[label].append(cpu)
    t0 = time.perf_counter()
    whole = len(stores["subject"].list_sessions())
    whole_ms = (time.perf_counter() - t0) * 1000
    print(load_average())
    ok = True
    sides = []
    for label in stores:
        wall_side = spread(walls[label], f"open, {label} wall", "ms")
        cpu_side = spread(cpus[label], f"open, {label} CPU", "ms")
        sides.append((wall_side, cpu_side))
        print("  " + wall_side.describe(0))
        print("  " + cpu_side.describe(0))
    (ref_wall, ref_cpu), (sub_wall, sub_cpu) = sides
    ratio = sub_wall.median / ref_wall.median
    cpu_ratio = sub_cpu.median / ref_cpu.median
    # The goal is a wall-clock time on the user's machine. On this shared machine the wall clock also counts the
    # time other programs hold the cores, so the goal is judged on the CPU time the open took in this process (what
    # an idle machine's wall clock approaches); the wall clock is printed beside it with the load average.
    meets_open = sub_cpu.median < GOAL_OPEN_MS
    meets_ratio = cpu_ratio <= GOAL_RATIO
    print(
        f"history open with {args.sessions:,} sessions: {sub_cpu.median:.0f} ms CPU, {sub_wall.median:.0f} ms wall "
        f"(goal < {GOAL_OPEN_MS:.0f} ms, judged on CPU time): "
        + verdict(meets_open, [sub_cpu], room(sub_cpu.median, GOAL_OPEN_MS))
    )
    print(
        f"ratio to the {args.reference:,}-session reference: CPU {cpu_ratio:.2f}, wall {ratio:.2f} "
        f"(goal <= {GOAL_RATIO:g}): "
        + verdict(meets_ratio, [ref_cpu, sub_cpu], abs(GOAL_RATIO - cpu_ratio) / cpu_ratio)
    )
    print(f"  (for scale: reading all {whole:,} sessions at once, as the screen used to, takes {whole_ms:.0f} ms)")
    ok = meets_open and meets_ratio

    env = dict(os.environ, GREENTUI_DB=str(folder / "subject.db"), PYTHONPATH=str(ROOT))
    listing = [sys.executable, "-m", "greentui", "sessions", "--limit", "50"]
    bare = [sys.executable, "-c", "pass"]
    cli: dict[str, list[float]] = {"sessions": [], "bare": []}
    for _ in range(args.repeats):
        cli["sessions"].append(start_ms(listing, env))
        cli["bare"].append(start_ms(bare, env))
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", *listing[1:]], env=env, capture_output=True, text=True, check=True
    )
    heavy = sorted({name for name in ("pandas", "numpy") if f" {name}\n" in probe.stderr})
    s_side, b_side = spread(cli["sessions"], "greentui sessions", "ms"), spread(cli["bare"], "python -c pass", "ms")
    print(load_average())
    print("  " + s_side.describe(0))
    print("  " + b_side.describe(0))
    print(
        f"greentui sessions: {s_side.median / b_side.median:.1f}x python -c pass; imports pandas/numpy: "
        + (", ".join(heavy) if heavy else "neither")
    )
    ok = ok and not heavy
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
