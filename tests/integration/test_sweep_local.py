"""A 2 x 2 sweep with fake models on the local executor: sessions with sweep id and fingerprint, skipped when done,
resumed when interrupted, and the CLI's plan, progress lines, summary, list and leaderboard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from greentui.core.run.sweep import expand, load_sweep
from greentui.store import SessionStore
from greentui.sweeps.driver import run_sweep
from greentui.sweeps.local import LocalExecutor
from tests.helpers.sweeps import sweep_sessions, write_sweep


def run_local(db: Path, sweep_file: Path):
    sweep = load_sweep(sweep_file)
    store = SessionStore(db)
    try:
        return run_sweep(store, sweep, expand(sweep), LocalExecutor(store, inline_workers=True))
    finally:
        store.close()


def test_four_sessions_then_nothing_to_do_then_a_resume(tmp_path: Path) -> None:
    db, sweep_file = tmp_path / "g.db", write_sweep(tmp_path)
    outcome = run_local(db, sweep_file)
    assert [r.status for r in outcome.results] == ["completed"] * 4 and outcome.all_done
    sessions = sweep_sessions(db, "two-by-two")
    assert len(sessions) == 4 and {s[0] for s in sessions.values()} == {"completed"}
    assert {task for task, _ in sessions} == {"arithmetic", "sentiment"}
    assert all(key and fingerprint and host for _, key, fingerprint, host in sessions.values())

    again = run_local(db, sweep_file)
    assert [r.status for r in again.results] == ["skipped"] * 4
    assert sweep_sessions(db, "two-by-two") == sessions

    # interrupt one: its last items are gone and it is marked as a killed run would leave it
    store = SessionStore(db)
    victim = store.list_sessions(sweep="two-by-two")[0]
    with store._db.conn:
        store._db.execute("DELETE FROM items WHERE session_id = ? AND idx >= 2", (victim.id,))
        store._db.execute(
            "UPDATE runs SET items_done = 2 WHERE session_id = ?", (victim.id,)
        )  # as the writer's summary would read
    store.mark_status(victim.id, "interrupted", "stopped with Ctrl-C")
    store.close()
    resumed = run_local(db, sweep_file)
    by_status = sorted((r.status, r.step.action, r.session_id == victim.id) for r in resumed.results)
    assert by_status == [("completed", "resume", True), *[("skipped", "skip", False)] * 3]
    store = SessionStore(db, readonly=True)
    assert store.get_session(victim.id).status == "completed"
    assert store.runs(victim.id)["A"].items_done == 4 and store.runs(victim.id)["B"].items_done == 4
    verdict = store.load_session(victim.id).verdict
    assert verdict["a"]["n_items"] == 4 and verdict["b"]["n_items"] == 4  # over every item, not just the resumed
    store.close()


def greentui(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "GREENTUI_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "greentui.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_the_cli_plans_runs_lists_and_shows_the_leaderboard(tmp_path: Path) -> None:
    db, sweep_file = tmp_path / "g.db", write_sweep(tmp_path, limit=3)
    plan = greentui("sweep", str(sweep_file), "--plan", db=db)
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.count("run (new)") == 4 and "4 of 4 sessions would run" in plan.stdout

    run = greentui("sweep", str(sweep_file), db=db)
    assert run.returncode == 0, run.stderr
    progress = [line for line in run.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 4 and all("completed" in line for line in progress)
    assert "4 completed now" in run.stdout and "greentui sweep show two-by-two" in run.stdout

    listed = greentui("sweeps", db=db)
    assert "two-by-two" in listed.stdout and "4: 4 completed" in listed.stdout
    board = greentui("sweep", "show", "two-by-two", db=db)
    assert board.returncode == 0, board.stderr
    assert "arithmetic: reference J/correct" in board.stdout and "sentiment: reference J/correct" in board.stdout
    assert board.stdout.count("fake:small") == 2 and "energy B/A" in board.stdout and "CEGI" in board.stdout
    assert "est." in board.stdout  # replayed power is an estimate, and says so

    rerun = greentui("sweep", str(sweep_file), db=db)
    assert rerun.stdout.count("skipped") == 4 and "0 completed now, 4 already done" in rerun.stdout

    missing = greentui("sweep", "show", "nope", db=db)
    assert missing.returncode == 1 and missing.stderr.strip().startswith("greentui: no sweep 'nope'")
    broken = tmp_path / "broken.toml"
    broken.write_text(sweep_file.read_text().replace("limit = 3", "limit = -1"))
    bad = greentui("sweep", str(broken), db=db)
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == f"greentui: {broken}:5: limit must be at least 1 (items per model), not -1"
    )
    assert "Traceback" not in bad.stderr
