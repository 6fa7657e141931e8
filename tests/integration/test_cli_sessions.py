"""The command line end to end: failures in one line, a killed session resumed, a killed worker survived."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from greentui.core.records import ItemScored
from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun, open_store

FAKE = "fake:oracle?tps=300&tokens=6"
SLOW_FAKE = "fake:oracle?tps=40&tokens=8"


def greentui(*args: str, db: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"GREENTUI_DB": str(db), "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "greentui", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def statuses(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, status FROM sessions").fetchall()


def test_unknown_model_fails_in_one_line_and_marks_the_session_failed(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    done = greentui(
        "run",
        "--model-a",
        "does/not-exist",
        "--model-b",
        FAKE,
        "--task",
        "arithmetic",
        "--limit",
        "2",
        "--idle-seconds",
        "0",
        "--headless",
        db=db,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    failure_lines = [line for line in done.stdout.splitlines() if line.strip().startswith("A failed:")]
    assert len(failure_lines) == 1 and "does/not-exist" in failure_lines[0], done.stdout
    [(_, status)] = statuses(db)
    assert status == "failed"


def test_bad_task_is_one_line_on_stderr(tmp_path: Path) -> None:
    done = greentui(
        "run", "--model-a", FAKE, "--model-b", FAKE, "--task", "no-such-task", "--headless", db=tmp_path / "g.db"
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no-such-task" in done.stderr


def test_a_session_killed_with_sigkill_is_interrupted_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    env = os.environ | {"GREENTUI_DB": str(db)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greentui",
            "run",
            "--model-a",
            SLOW_FAKE,
            "--model-b",
            SLOW_FAKE,
            "--task",
            "arithmetic",
            "--limit",
            "5",
            "--idle-seconds",
            "0",
            "--headless",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        finished = 0
        while finished < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    finished = conn.execute("SELECT count(*) FROM items WHERE ended_mono_s IS NOT NULL").fetchone()[0]
            except sqlite3.OperationalError:  # not created yet
                continue
        assert finished >= 3, "the session never got going"
        workers = psutil.Process(process.pid).children(recursive=True)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    with sqlite3.connect(db) as conn:
        kept = conn.execute("SELECT count(*) FROM items WHERE ended_mono_s IS NOT NULL").fetchone()[0]
    assert kept >= finished

    # the workers notice that their parent is gone and exit: no orphan keeps a model in memory
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"orphan workers: {alive}"

    listing = greentui("sessions", db=db)
    assert "interrupted" in listing.stdout
    [(session_id, status)] = statuses(db)
    assert status == "interrupted"

    resumed = greentui("resume", session_id[:8], db=db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM sessions").fetchone()[0] == "completed"
        per_side = dict(
            conn.execute("SELECT side, count(*) FROM items WHERE ended_mono_s IS NOT NULL GROUP BY side").fetchall()
        )
    assert per_side == {"A": 5, "B": 5}
    # the verdict saved after the resume counts the items finished before the kill as well
    verdict = json.loads(greentui("export", session_id[:8], "--format", "json", db=db).stdout)["verdict"]
    assert (verdict["a"]["n_items"], verdict["b"]["n_items"]) == (5, 5)


def test_a_worker_killed_mid_run_keeps_every_finished_item(tmp_path: Path) -> None:
    store = open_store(tmp_path / "g.db")
    config = SessionConfig(
        model_a=FAKE, model_b=SLOW_FAKE, task="arithmetic", limit=5, idle_s=0.0, power_source="estimate"
    )
    run = SessionRun(config, store)
    run.prepare()
    scored: list[ItemScored] = []
    victim: list[int] = []

    def kill_b_after_three(event: object) -> None:
        if isinstance(event, ItemScored):
            scored.append(event)
            if len(scored) == 3:
                pid = run.session.worker_pids()["B"]
                assert pid is not None
                victim.append(pid)
                os.kill(pid, signal.SIGKILL)

    run.subscribe(kill_b_after_three)
    outcome = run.run()
    assert outcome.status == "failed" and "killed" in outcome.reason and "model B" in outcome.reason
    assert not psutil.pid_exists(victim[0]) or psutil.Process(victim[0]).status() == psutil.STATUS_ZOMBIE
    stored = store.items(outcome.session_id)
    assert {(i.side, i.item_id) for i in stored} == {(i.side, i.item_id) for i in scored}
    assert len([i for i in stored if i.side == "A"]) == 5
    session = store.get_session(outcome.session_id)
    assert session.status == "failed" and "killed" in session.status_reason


@pytest.mark.slow
@pytest.mark.timeout(1200)  # converts the GGUF once (~15 s quiet) and loads two real models; slow on a busy machine
def test_real_smollm2_three_items_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    done = greentui(
        "run",
        "--model-a",
        "smollm2-135m@fp32",
        "--model-b",
        "smollm2-135m@nf4",
        "--task",
        "arithmetic",
        "--limit",
        "3",
        "--idle-seconds",
        "0.5",
        "--headless",
        db=db,
        timeout=1100,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "est." in done.stdout and "Verdict" in done.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT side, tokens_out, joules, seconds FROM items").fetchall()
        runs = dict(conn.execute("SELECT side, params_total FROM runs").fetchall())
    assert len(rows) == 6
    assert all(tokens > 0 and joules > 0 and seconds > 0 for _, tokens, joules, seconds in rows)
    assert runs == {"A": 134_515_008, "B": 134_515_008}


def test_replayed_constant_trace_gives_power_times_duration_per_item(tmp_path: Path) -> None:
    trace = tmp_path / "const.csv"
    trace.write_text("t_s,power_w\n0,37.5\n10,37.5\n")
    db = tmp_path / "g.db"
    done = greentui(
        "run",
        "--model-a",
        FAKE,
        "--model-b",
        SLOW_FAKE,
        "--task",
        "sentiment",
        "--limit",
        "4",
        "--idle-seconds",
        "0.3",
        "--power-source",
        f"replay:{trace}",
        "--country",
        "FRA",
        "--headless",
        db=db,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(db) as conn:
        items = conn.execute("SELECT joules, seconds, energy_source FROM items").fetchall()
        quality, sources, grid, grid_source, idle_w = conn.execute(
            "SELECT power_quality, power_sources_json, grid_g_per_kwh, grid_source, idle_power_w FROM sessions"
        ).fetchone()
    assert len(items) == 8
    for joules, seconds, source in items:
        assert joules == pytest.approx(37.5 * seconds, rel=0.01)
        assert source.startswith("replay")
    assert quality == "estimated" and "replay" in sources
    assert grid == pytest.approx(56, abs=1) and "FRA" in grid_source
    assert idle_w == pytest.approx(37.5, rel=0.01)
    assert "est." in done.stdout
