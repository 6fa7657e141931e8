"""SIGTERM and SIGHUP end a session like Ctrl-C: workers stopped, finished items kept, status ``interrupted``, one
line, exit 143 / 129; for ``run``, ``resume`` and ``sweep`` (the TUI: tests/tui/test_stop_signals.py)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers.sweeps import write_sweep
from tests.integration.test_store_faults import ITEM_LINE

SLOW = "fake:oracle?tps=20&tokens=4"  # about 0.2 s an item


class Command:
    """``greentui ARGS`` in a subprocess; its output lines are collected as they come."""

    def __init__(self, db: Path, *args: str, new_group: bool = False) -> None:
        self.lines: list[str] = []
        env = os.environ | {"GREENTUI_DB": str(db), "COLUMNS": "200"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "greentui", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=new_group,  # its own process group, which the test may signal as a whole
        )
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def items(self) -> set[tuple[str, str]]:
        return {(m[1], m[2]) for m in map(ITEM_LINE.match, list(self.lines)) if m}

    def wait(self, condition, what: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert self.process.poll() is None, f"ended before {what}: " + "\n".join(self.lines)
            assert time.monotonic() < deadline, f"no {what}: " + "\n".join(self.lines)
            time.sleep(0.05)

    def stop(self, signum: int, timeout_s: float = 60) -> tuple[int, float, list[int]]:
        """Send ``signum``; returns the exit code, the seconds it took to end, and its children's pids then."""
        children = [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        self.process.send_signal(signum)
        sent = time.monotonic()
        self.process.wait(timeout_s)  # (stdout is the reader thread's; stderr stays short)
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()
        self._reader.join(10)
        return self.process.returncode, time.monotonic() - sent, children


def session_rows(db: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, status, status_reason FROM sessions")}


def db_items(db: Path, session_id: str) -> set[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return set(
            conn.execute(
                "SELECT side, item_id FROM items WHERE session_id = ? AND ended_mono_s IS NOT NULL", (session_id,)
            ).fetchall()
        )


def finished_items(db: Path) -> int:
    """Finished items stored so far (0 before the database exists; never creates it)."""
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM items WHERE ended_mono_s IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return 0


def assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids):
        assert time.monotonic() < deadline, f"worker processes still running: {pids}"
        time.sleep(0.1)


def run_args(limit: int = 20) -> list[str]:
    return [
        "run", "--model-a", SLOW, "--model-b", SLOW, "--task", "sentiment", "--limit", str(limit),
        "--idle-seconds", "0", "--power-source", "estimate", "--headless",
    ]  # fmt: skip


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_headless_run_stops_on_the_signal_and_keeps_its_items(tmp_path: Path, signum: int, code: int) -> None:
    db = tmp_path / "g.db"
    run = Command(db, *run_args())
    run.wait(lambda: len(run.items()) >= 3, "3 finished items")
    returncode, seconds, children = run.stop(signum)
    name = signal.Signals(signum).name
    assert returncode == code, run.stderr
    assert seconds < 15 and not run.stderr, run.stderr  # prompt, and nothing on stderr: no traceback
    [(session_id, (status, reason))] = session_rows(db).items()
    assert status == "interrupted" and reason == f"stopped by {name}"
    assert [line for line in run.lines if line.startswith("session ")] == [
        f"session {session_id} interrupted: stopped by {name}"
    ]
    assert db_items(db, session_id) == run.items()  # every item it printed as finished is kept
    assert_gone(children)  # the model workers stopped with it


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_to_the_whole_process_group_interrupts_rather_than_fails(tmp_path: Path, signum: int) -> None:
    """A closed terminal sends SIGHUP to every process of its group, a service manager SIGTERM to every process of
    the service: the model workers are not killed under the session, the session ends interrupted."""
    db = tmp_path / "g.db"
    run = Command(db, *run_args(), new_group=True)
    run.wait(lambda: len(run.items()) >= 2, "2 finished items")
    children = [c.pid for c in psutil.Process(run.process.pid).children(recursive=True)]
    os.killpg(run.process.pid, signum)
    run.process.wait(60)
    assert run.process.returncode == 128 + signum
    [(_, (status, reason))] = session_rows(db).items()
    assert (status, reason) == ("interrupted", f"stopped by {signal.Signals(signum).name}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs WHERE status = 'failed'").fetchone()[0] == 0
    assert_gone(children)


def test_resume_stops_on_sigterm_and_keeps_what_it_added(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    first = Command(db, *run_args(limit=12))
    first.wait(lambda: len(first.items()) >= 2, "2 finished items")
    assert first.stop(signal.SIGTERM)[0] == 143
    [session_id] = session_rows(db)
    before = db_items(db, session_id)
    resumed = Command(db, "resume", session_id)
    resumed.wait(lambda: len(resumed.items()) >= 2, "2 more items")
    returncode, _, children = resumed.stop(signal.SIGTERM)
    assert returncode == 143 and not resumed.stderr
    assert session_rows(db)[session_id] == ("interrupted", "stopped by SIGTERM")
    assert db_items(db, session_id) == before | resumed.items() and len(db_items(db, session_id)) > len(before)
    assert_gone(children)


def test_a_sweep_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    sweep = Command(db, "sweep", str(write_sweep(tmp_path, tps=10, limit=8)))

    sweep.wait(lambda: finished_items(db) > 0, "a stored item")
    returncode, _, children = sweep.stop(signal.SIGTERM)
    assert returncode == 143, sweep.stderr
    assert "Traceback" not in sweep.stderr
    rows = session_rows(db)
    assert ("interrupted", "stopped by SIGTERM") in rows.values()
    assert not any(status == "running" for status, _ in rows.values())
    assert_gone(children)


def test_a_sigterm_to_one_worker_alone_still_ends_it_and_says_so(tmp_path: Path) -> None:
    """Workers wait a moment on SIGTERM for the parent to stop them (a signal to the whole group); sent to one
    worker alone, it ends that worker, and the session reports the model killed by SIGTERM."""
    db = tmp_path / "g.db"
    run = Command(db, *run_args(limit=30))
    run.wait(lambda: len(run.items()) >= 2, "2 finished items")
    workers = [c for c in psutil.Process(run.process.pid).children() if "resource_tracker" not in " ".join(c.cmdline())]
    assert len(workers) == 2
    workers[0].send_signal(signal.SIGTERM)
    run.process.wait(120)
    with sqlite3.connect(db) as conn:
        [(failure_reason,)] = conn.execute("SELECT failure_reason FROM runs WHERE status = 'failed'").fetchall()
    assert "killed by SIGTERM" in failure_reason


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux to give the TUI a real terminal to close")
def test_closing_the_tuis_terminal_interrupts_its_session_and_ends_the_process(tmp_path: Path) -> None:
    """A closed terminal: SIGHUP to the whole group, and a terminal that no longer takes output."""
    db = tmp_path / "g.db"
    socket_name = f"greentui-test-{os.getpid()}"
    command = shlex.join(
        ["env", f"PYTHONPATH={os.environ.get('PYTHONPATH', '')}", f"HOME={tmp_path}",
         sys.executable, "-m", "greentui", "--db", str(db), *run_args(limit=40)[:-1]]
    )  # fmt: skip
    tmux = ["tmux", "-L", socket_name]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "48", f"exec {command}"], check=True)
    try:
        deadline = time.monotonic() + 60
        while finished_items(db) < 2:
            assert time.monotonic() < deadline, "the TUI stored no items"
            time.sleep(0.2)
        [pid] = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if (p.info["cmdline"] or [""])[0] == sys.executable and str(db) in p.info["cmdline"]
        ]
        subprocess.run([*tmux, "kill-server"], check=False)
        deadline = time.monotonic() + 30
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the TUI process is still running after its terminal closed"
            time.sleep(0.2)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False, capture_output=True)
        for process in psutil.process_iter(["cmdline"]):  # a TUI left hanging by a failure: not beyond the test
            if (process.info["cmdline"] or [""])[0] == sys.executable and str(db) in process.info["cmdline"]:
                process.kill()
    [(status, reason)] = session_rows(db).values()
    assert (status, reason) == ("interrupted", "stopped by SIGHUP")
