"""The faults a workstation really has, end to end through ``greentui``: a database locked by another process for
30 s, a disk that fills up mid-run (a real tmpfs), a damaged file, and reading while another process writes.
Every finished item ends in the database or in the recovery journal, and nothing says ``completed`` otherwise."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greentui import cli
from greentui.store import SessionStore
from greentui.store.journal import read_journal
from tests.helpers.store_events import LiveSession

ITEM_LINE = re.compile(r"^\s+([AB]) (\S+)\s+[✓✗~]")
JOURNAL_LINE = re.compile(r"\(greentui recover (\S+\.jsonl)\)")


def env_for(db: Path, state: Path) -> dict[str, str]:
    return os.environ | {"GREENTUI_DB": str(db), "GREENTUI_STATE_DIR": str(state), "COLUMNS": "200"}


def greentui(*args: str, db: Path, state: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greentui", *args],
        capture_output=True,
        text=True,
        env=env_for(db, state),
        timeout=timeout,
    )


class Run:
    """A headless ``greentui run`` in a subprocess whose output lines are collected as they come."""

    def __init__(self, db: Path, state: Path, *, limit: int, model: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "greentui", "run", "--model-a", model, "--model-b", model, "--task", "sentiment",
             "--limit", str(limit), "--idle-seconds", "0", "--power-source", "estimate", "--headless"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_for(db, state),
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def items(self) -> set[tuple[str, str]]:
        """(side, item id) of every item the run printed as finished."""
        return {(m[1], m[2]) for m in map(ITEM_LINE.match, list(self.lines)) if m}

    def wait_items(self, n: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.items()) < n:
            assert self.process.poll() is None, "\n".join(self.lines)
            assert time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.05)

    def finish(self, timeout_s: float = 180) -> int:
        code = self.process.wait(timeout_s)
        self._reader.join(10)
        return code

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def db_items(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT side, item_id FROM items WHERE ended_mono_s IS NOT NULL").fetchall())


def only_session(db: Path) -> tuple[str, str, str]:
    with sqlite3.connect(db) as conn:
        [row] = conn.execute("SELECT id, status, status_reason FROM sessions").fetchall()
    return row


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


LOCK_HOLDER = """
import socket, sqlite3, sys, time
db, hold_s, stale_pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
conn = sqlite3.connect(db, isolation_level=None)
# a session left 'running' by a process that is gone: a reading command must show it, not wait to mark it
conn.execute(
    "INSERT INTO sessions (id, status, task_id, task_name, n_items, schedule, model_a, model_b, power_quality, "
    "grid_g_per_kwh, grid_source, host, pid, started_unix_s, t0_mono_s) VALUES "
    "('stale0000000', 'running', 'sentiment', 'Sentiment', 2, 'alternate', 'fake:a', 'fake:b', 'estimated', "
    "475, 'world', ?, ?, 1.0, 1.0)", (socket.gethostname(), stale_pid))
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(hold_s)
conn.execute("ROLLBACK")
print("released", flush=True)
"""


def test_a_database_locked_for_30_s_mid_run_loses_nothing(tmp_path: Path) -> None:
    db, state = tmp_path / "g.db", tmp_path / "state"
    run = Run(db, state, limit=16, model="fake:oracle?tps=8&tokens=4")  # 32 items, ~0.5 s each
    run.wait_items(2)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db), "30", str(dead_pid())], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        locked_at = time.monotonic()
        # reading commands work meanwhile, at once, and show the stale session as stored
        started = time.monotonic()
        listed = greentui("sessions", db=db, state=state)
        assert listed.returncode == 0, listed.stderr
        assert time.monotonic() - started < 10
        assert "stale0000000" in listed.stdout and "running" in listed.stdout
        session_id = next(line.split()[2] for line in run.lines if line.startswith("greentui session "))
        for args in (["show", session_id], ["export", session_id, "--format", "csv"], ["sweeps"]):
            done = greentui(*args, db=db, state=state)
            assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
            assert "locked" not in done.stderr, done.stderr
        code = run.finish()
        assert holder.wait(60) == 0
        assert time.monotonic() - locked_at >= 29  # the run could only end once the lock was gone
    finally:
        holder.kill()
    assert code == 0, run.text
    assert "waiting for the database" in run.text and "free again" in run.text
    assert len(run.items()) == 32 and db_items(db) == run.items()
    with sqlite3.connect(db) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM sessions").fetchall())
    assert statuses == {session_id: "completed", "stale0000000": "running"}
    assert "interrupted" in greentui("sessions", db=db, state=state).stdout  # marked at the first open that can


def test_reading_commands_do_not_wait_behind_a_writer(tmp_path: Path) -> None:
    db, state = tmp_path / "g.db", tmp_path / "state"
    store = SessionStore(db)
    writer = store.writer()
    for event in LiveSession("s-read", n_items=3, finish=False).events():
        writer.handle(event)
    writer.close()
    store.close()
    with sqlite3.connect(db) as conn:  # its writer is gone: a stale 'running' session
        conn.execute("UPDATE sessions SET pid = ?, host = ?", (dead_pid(), socket.gethostname()))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for args in (["sessions"], ["show", "s-read"], ["export", "s-read", "--format", "json"], ["sweeps"]):
            started = time.monotonic()
            done = greentui(*args, db=db, state=state)
            assert done.returncode == 0 and not done.stderr, (args, done.stderr)
            assert time.monotonic() - started < 8, args
        assert "running" in greentui("sessions", db=db, state=state).stdout  # shown as stored
    finally:
        holder.rollback()
        holder.close()
    assert "interrupted" in greentui("sessions", db=db, state=state).stdout  # marked once the lock is free


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs mounted for the test (root only); skipped with the reason where it cannot be mounted."""
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        pytest.skip("a full disk needs a small tmpfs, and mounting one needs root (CAP_SYS_ADMIN)")
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run([mount, "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_a_disk_that_fills_mid_run_keeps_every_item_in_the_database_or_the_journal(
    tmp_path: Path, small_disk: Path
) -> None:
    db, state = small_disk / "g.db", tmp_path / "state"
    run = Run(db, state, limit=20, model="fake:oracle?tps=40&tokens=4")
    run.wait_items(4)
    filler = fill(small_disk)
    code = run.finish()
    assert code == 1, run.text
    printed = run.items()
    assert JOURNAL_LINE.findall(run.text), run.text
    journal = JOURNAL_LINE.findall(run.text)[-1]
    journal_path = Path(journal)
    assert journal_path.parent == state / "journals", run.text
    assert run.lines[-1].startswith(f"results not in {db} are in"), run.lines[-3:]
    session_id, status, _ = only_session(db)
    assert status != "completed"
    in_journal = {(e.side, e.item_id) for _, e in read_journal(journal_path).records if e.kind == "item_scored"}
    assert printed <= db_items(db) | in_journal  # every finished item is somewhere
    assert in_journal - db_items(db)  # and the journal held some the database did not take

    # still full: resume is refused before any model loads, reading still works
    resumed = greentui("resume", session_id, db=db, state=state)
    assert resumed.returncode == 1 and "full" in resumed.stderr and resumed.stderr.count("\n") == 1
    assert "loaded" not in resumed.stdout
    assert greentui("sessions", db=db, state=state).returncode == 0

    filler.unlink()
    recovered = greentui("recover", journal, db=db, state=state)
    assert recovered.returncode == 0, recovered.stderr
    assert printed <= db_items(db) and in_journal <= db_items(db)
    assert only_session(db)[1] == "interrupted" and "disk is full" in only_session(db)[2]
    again = greentui("recover", journal, db=db, state=state)
    assert again.returncode == 0 and ": 0 finished items added" in again.stdout

    finished = greentui("resume", session_id, db=db, state=state)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert only_session(db)[1] == "completed" and len(db_items(db)) == 40


def test_a_damaged_database_is_refused_before_anything_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.db"
    store = SessionStore(path)
    writer = store.writer()
    for event in LiveSession("s-dmg", n_items=6).events():
        writer.handle(event)
    writer.close()
    store.close()
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):
        data[page * 4096 : page * 4096 + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    warmed: list[list[str]] = []
    # prewarm starts workers that import torch: must not happen (dispatch and resume each call it)
    monkeypatch.setattr("greentui.cli.entry.prewarm", warmed.append)
    monkeypatch.setattr("greentui.cli.running.prewarm", warmed.append)
    monkeypatch.setattr("greentui.services.SessionRun", None)  # nor may a session be built
    for argv in (
        ["run", "--model-a", "smollm2-135m@fp32", "--model-b", "fake:b", "--task", "sentiment", "--headless"],
        ["run", "--model-a", "smollm2-135m@fp32", "--model-b", "fake:b", "--task", "sentiment"],  # the TUI
        ["demo", "--headless"],
        ["resume", "s-dmg"],
    ):
        code = cli.main(["--db", str(path), *argv])
        err = capsys.readouterr().err
        assert code == 1 and "damaged" in err and err.count("\n") == 1, (argv, err)
    assert warmed == []


def test_on_a_full_disk_reading_works_and_a_run_is_refused_before_loading(tmp_path: Path, small_disk: Path) -> None:
    db, state = small_disk / "g.db", tmp_path / "state"
    store = SessionStore(db)
    writer = store.writer()
    for event in LiveSession("s-full", n_items=3).events():
        writer.handle(event)
    writer.close()
    store.close()  # the last connection: the -wal and -shm files are gone, a new open must create them
    fill(small_disk)
    listed = greentui("sessions", db=db, state=state)
    assert listed.returncode == 0 and "s-full" in listed.stdout, listed.stderr
    assert greentui("export", "s-full", "--format", "csv", db=db, state=state).stdout.count("\n") == 7
    for target in (db, small_disk / "new.db"):
        refused = greentui(
            "run", "--model-a", "fake:a", "--model-b", "fake:b", "--task", "sentiment", "--headless", db=target,
            state=state,
        )  # fmt: skip
        assert refused.returncode == 1 and "disk is full" in refused.stderr and refused.stderr.count("\n") == 1
        assert "loaded" not in refused.stdout
    assert not (small_disk / "new.db").exists()  # nothing left behind
