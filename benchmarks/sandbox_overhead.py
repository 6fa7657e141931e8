"""What the sandboxes cost per item, against the least any runner of untrusted code must pay: one fresh interpreter.

    .venv/bin/python benchmarks/sandbox_overhead.py                  # 15 rounds, every mechanism available here
    .venv/bin/python benchmarks/sandbox_overhead.py --rounds 30 --json out.json

Per round, in alternating order:

* **bare**: ``python -I -S -c SOLUTION+TESTS`` in a fresh process, unconfined (what the audit's old runner did,
  without its limits): the yardstick.
* **code, <mechanism>**: ``run_python_sandboxed`` on the same solution and tests, for each mechanism that works
  here (bubblewrap, unshare): namespaces, the mount layout, the user switch, the seccomp filter, the solution's
  and the judge's interpreters, and the answers crossing as plain data. Goal: <= 4 x bare (two interpreters and
  the namespace set-up instead of one interpreter).
* **sql**: ``run_readonly_query`` of a small query on the text-to-sql task's database (a bounded child process);
  reported against ``python -I -S -c "import sqlite3"``, no goal.

The load average is printed before and after; each line states its spread and whether it allows a verdict.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spread import load_average, spread, verdict

from greentui.core.evaluate.sandbox import isolation, run_readonly_query
from greentui.core.evaluate.sandbox.code import run_python_sandboxed

GOAL = 8.0
SOLUTION = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"
DATABASE = Path(__file__).resolve().parents[1] / "tasks" / "text-to-sql" / "bookshop.sqlite"


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"before: {load_average()}")
    python = isolation.interpreter()
    mechanisms = {b: isolation.probe(b) for b in ("bwrap", "unshare")}
    mechanisms = {b: iso for b, iso in mechanisms.items() if iso.refusal is None}
    samples: dict[str, list[float]] = {"bare": [], "sql": [], "bare sqlite3": []}
    samples.update({f"code, {b}": [] for b in mechanisms})

    def bare() -> None:
        subprocess.run([python, "-I", "-S", "-c", SOLUTION + TESTS], check=True)

    def sandboxed(iso: isolation.Isolation) -> None:
        result = run_python_sandboxed(SOLUTION, TESTS, isolation=iso)
        assert result.passed, result.detail

    for iso in mechanisms.values():  # warm caches (filter, probes, page cache)
        sandboxed(iso)
    for _ in range(args.rounds):
        samples["bare"].append(_timed(bare))
        for backend, iso in mechanisms.items():
            samples[f"code, {backend}"].append(_timed(partial(sandboxed, iso)))
        samples["sql"].append(_timed(lambda: run_readonly_query(DATABASE, "SELECT count(*) FROM books")))
        samples["bare sqlite3"].append(
            _timed(lambda: subprocess.run([python, "-I", "-S", "-c", "import sqlite3"], check=True))
        )
    spreads = {name: spread([v * 1000 for v in values], name, "ms") for name, values in samples.items()}
    for value in spreads.values():
        print(value.describe(0))
    for backend in mechanisms:
        side = spreads[f"code, {backend}"]
        ratio = side.median / spreads["bare"].median
        said = verdict(ratio <= GOAL, [side, spreads["bare"]], margin=abs(GOAL - ratio) / GOAL)
        print(f"code, {backend}: {ratio:.2f} x bare (goal <= {GOAL:g} x): {said}")
    print(f"sql: {spreads['sql'].median / spreads['bare sqlite3'].median:.2f} x a bare interpreter importing sqlite3")
    print(f"after: {load_average()}")
    if args.json:
        args.json.write_text(json.dumps({k: v.values for k, v in spreads.items()}, indent=1))


if __name__ == "__main__":
    main()
