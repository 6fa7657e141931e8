"""Does the main process pay more per item late in a long session than early? (Goal: flat within 1.2x.)

    .venv/bin/python benchmarks/tally_cost.py                 # 800 items per side, a binary and a continuous task
    .venv/bin/python benchmarks/tally_cost.py --items 400 --rounds 3

A real session (``services.SessionRun``: the engine, the store writer, the one shared tally) runs two fake models
on a generated quick task of N items, with the headless printer subscribed as in ``greentui run --headless`` (its
output goes to a null console). The CPU time of the main process (every thread: session, sampler, writer) is read
at each finished item; the figure is CPU seconds per item over an early stretch (items 50-100 per side) against a
late one (the last 50 per side), as a ratio. The fake models run in their own processes, so their work is not in
the main process's CPU time. Each task runs ``--rounds`` times; each side's spread is printed and the verdict is
"inconclusive" when a side is wider than the 20 % the goal tests (``spread.py``). Report it with the load average.

Before the one-tally rework a live update cost 0.36 ms at 50 items and 10.3 ms at 800 on a continuous task (a
1000 x n bootstrap after every item): per-item cost grew with n.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, spread, verdict

GOAL = 1.2
EARLY = (50, 100)  # per-side item numbers of the early stretch


def write_task(folder: Path, n_items: int, continuous: bool) -> Path:
    """A quick task of ``n_items`` items: numbers to repeat (exact match) or sentences to echo (ROUGE-L)."""
    path = folder / ("continuous.jsonl" if continuous else "binary.jsonl")
    with path.open("w") as out:
        for i in range(n_items):
            reference = f"the quick brown fox number {i} jumps over the lazy dog" if continuous else str(i * 7)
            out.write(json.dumps({"id": f"q{i}", "input": f"Repeat: {reference}", "reference": reference}) + "\n")
    return path


def one_run(task: Path, scorer: str, n_items: int, db: Path) -> float:
    """CPU per item late over CPU per item early, for one session."""
    from rich.console import Console

    from greentui.core.records import ItemScored
    from greentui.core.run.session import SessionConfig
    from greentui.services import SessionRun, open_store
    from greentui.text.printer import HeadlessPrinter

    config = SessionConfig(
        model_a="fake:a?tps=5000&accuracy=0.7&tokens=12&seed=1",
        model_b="fake:b?tps=5000&accuracy=0.5&tokens=12&seed=2",
        task=str(task),
        scorer=scorer,
        limit=n_items,
        idle_s=0.0,
        power_source="estimate",
        sample_hz=10.0,
    )
    store = open_store(db)
    run = SessionRun(config, store)
    null = open(os.devnull, "w")  # the printer's output is not what is measured; its work is
    printer = HeadlessPrinter(db_path=db, console=Console(file=null), tally=run.tally)
    run.subscribe(printer.handle)
    cpu_at: list[float] = []  # main-process CPU seconds when the k-th item (both sides) finished

    def on_event(event: object) -> None:
        if isinstance(event, ItemScored):
            cpu_at.append(time.process_time())

    run.subscribe(on_event)
    outcome = run.run()
    store.close()
    null.close()
    if outcome.status != "completed" or len(cpu_at) != 2 * n_items:
        raise SystemExit(f"the session did not complete: {outcome.status} {outcome.reason}")
    lo, hi = (2 * EARLY[0], 2 * EARLY[1])  # both sides' items interleave
    early = (cpu_at[hi - 1] - cpu_at[lo - 1]) / (hi - lo)
    late = (cpu_at[-1] - cpu_at[-1 - (hi - lo)]) / (hi - lo)
    return late / early


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=800, help="items per side (default 800)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.items < 4 * EARLY[1]:
        raise SystemExit(f"--items must be at least {4 * EARLY[1]} so the late stretch is far from the early one")
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="greentui-tally-cost-") as tmp:
        folder = Path(tmp)
        results = []
        for continuous, scorer in ((False, "exact"), (True, "rouge_l")):
            task = write_task(folder, args.items, continuous)
            ratios = [one_run(task, scorer, args.items, folder / f"run-{scorer}-{r}.db") for r in range(args.rounds)]
            side = spread(ratios, label=f"{scorer} late/early CPU per item", unit="x")
            results.append(side)
            print(side.describe())
        for side in results:
            meets = side.median <= GOAL
            print(f"{side.label}: {side.median:.2f}x (goal <= {GOAL}x): {verdict(meets, [side], GOAL - 1)}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
