"""A real session (fake models in spawned workers, the CPU estimate) on a machine made busy by the test itself:
every window is flagged contended, the verdict, `greentui show` and the markdown export say so in one line, and
dynamic energy is "not available" because the idle baseline was not idle. Without the burner: no flag (skipped,
with the reason, when the shared machine is already busy)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from greentui.core.measure.contention import busy_and_total_s
from greentui.core.records import CONTENDED_CPU_SHARE, ItemScored
from greentui.core.run.session import SessionConfig
from greentui.services import SessionOutcome, SessionRun, open_store
from greentui.store.export import export_csv, export_json
from greentui.text.listing import export_session, print_session

MODEL = "fake:oracle?tps=12&tokens=5&accuracy=0.75"  # about 0.4 s per item: windows long enough to tell


def machine_busy_share(seconds: float = 1.0) -> float:
    """The share of the machine's CPU time that something was running over ``seconds``."""
    busy0, total0 = busy_and_total_s(psutil.cpu_times())
    time.sleep(seconds)
    busy1, total1 = busy_and_total_s(psutil.cpu_times())
    return (busy1 - busy0) / max(total1 - total0, 1e-9)


LAUNCHER = """
import subprocess, sys
for _ in range(int(sys.argv[1])):
    p = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"], start_new_session=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    print(p.pid, flush=True)
"""


@pytest.fixture()
def burner() -> Iterator[list[psutil.Process]]:
    """One spinning process per CPU, started (and always killed) by the test.

    They are started by a launcher that exits at once, so they are *not* in this process's tree: the session
    counts greentui's own process tree (its model workers, its sandboxes) as its own work, and burners that were
    the test's children would be counted as the session's, not as other programs."""
    count = psutil.cpu_count() or os.cpu_count() or 2
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(count)], capture_output=True, text=True, check=True, timeout=60
    )
    processes = [psutil.Process(int(pid)) for pid in launched.stdout.split()]
    try:
        own = {p.pid for p in psutil.Process().children(recursive=True)}
        assert not own & {p.pid for p in processes}, "the burners must not be in the test's process tree"
        time.sleep(0.3)  # let them get going before the session starts
        yield processes
    finally:
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(processes, timeout=10)


def run_session(tmp_path: Path) -> tuple[SessionOutcome, list[ItemScored], Path]:
    db = tmp_path / "busy.db"
    config = SessionConfig(
        model_a=MODEL,
        model_b=MODEL + "&seed=1",
        task="sentiment",
        limit=3,
        idle_s=1.5,
        power_source="estimate",
        sample_hz=10.0,
    )
    store = open_store(db)
    try:
        run = SessionRun(config, store)
        run.prepare()
        outcome = run.run()
        items = [i for lane in run.tally.sides.values() for i in lane.items]
    finally:
        store.close()
    return outcome, items, db


def test_a_busy_machine_flags_every_window_and_every_view_says_so(
    tmp_path: Path, burner: list[psutil.Process], capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, items, db = run_session(tmp_path)
    assert outcome.status == "completed" and len(items) == 6
    assert all(item.contention_share is not None and item.contended for item in items), [
        (i.item_id, i.contention_share) for i in items
    ]
    assert all(item.energy_scope == "process tree" and item.joules_machine is not None for item in items)
    verdict = outcome.verdict
    assert verdict is not None and verdict.contended_windows == 6 and verdict.idle_contended
    assert verdict.contention_note is not None
    assert verdict.contention_note.startswith("The machine was busy: ")
    assert "% of CPU time went to other programs" in verdict.contention_note
    assert verdict.a.dynamic_energy_j is None and verdict.b.dynamic_energy_j is None  # never 0
    assert not verdict.ranking_holds and "the ranking holds" not in (verdict.energy_note or "")

    store = open_store(db, readonly=True)
    try:
        session_id = outcome.session_id
        markdown = export_session(store, session_id, "md")
        print_session(store, session_id)
        shown = capsys.readouterr().out
        csv_text, json_text = export_csv(store, session_id), export_json(store, session_id)
    finally:
        store.close()
    flat_md, flat_shown = " ".join(markdown.split()), " ".join(shown.split())
    for text in (flat_md, flat_shown):
        assert "The machine was busy: " in text and "% of CPU time went to other programs" in text
        assert "not available (machine busy during the baseline)" in text
    assert "(machine busy: not used" in flat_md  # the idle baseline line says why it is not used
    header = csv_text.splitlines()[0].split(",")
    assert {"contended", "contention_share", "measurement_method", "idle_contended"} <= set(header)
    assert '"contended": true' in json_text and '"busy_share":' in json_text


def test_a_quiet_machine_flags_nothing(tmp_path: Path) -> None:
    before = machine_busy_share()
    if before > CONTENDED_CPU_SHARE / 2:
        pytest.skip(f"the machine is already busy ({100 * before:.0f} % of CPU time) before the session starts")
    outcome, items, _ = run_session(tmp_path)
    contended = [i for i in items if i.contended]
    if contended:
        now = machine_busy_share()
        if now > CONTENDED_CPU_SHARE / 2:
            pytest.skip(f"other programs became busy during the test ({100 * now:.0f} % of CPU time now)")
    assert not contended, [(i.item_id, i.contention_share) for i in contended]
    assert outcome.verdict is not None and outcome.verdict.contention_note is None
    assert not outcome.verdict.idle_contended
