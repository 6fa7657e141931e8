"""Several processes and one database: a writer killed mid-session, two writers at once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from greentui.store import SessionStore

REPO = Path(__file__).resolve().parents[2]


def child(db: Path, session_id: str, n_items: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.store_child", str(db), session_id, str(n_items), *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_writer_killed_mid_session_leaves_a_readable_interrupted_session(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    n_items = 7
    proc = child(db, "s-killed", n_items, "--hang")
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)  # mid-session: the sampler is still streaming into the writer
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    store = SessionStore(db)  # opening runs recover_stale()
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    summary = store.list_sessions()[0]
    assert summary.id == "s-killed" and summary.status == "interrupted"
    assert f"pid {proc.pid}" in summary.status_reason
    assert len(store.items("s-killed")) == n_items
    assert summary.a.items_done + summary.b.items_done == n_items
    events = list(store.replay("s-killed"))
    assert events[0].kind == "session_started" and events[-1].kind != "session_finished"
    assert store.resume_info("s-killed").status == "interrupted"


def test_two_processes_write_one_database_at_once(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    SessionStore(db).close()
    procs = [child(db, session_id, 30) for session_id in ("s-one", "s-two")]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0 and out.strip() == "DONE", err
    store = SessionStore(db)
    listed = {s.id: s for s in store.list_sessions()}
    assert set(listed) == {"s-one", "s-two"}
    for session_id, summary in listed.items():
        assert summary.status == "completed"
        assert (summary.a.items_done, summary.b.items_done) == (30, 30)
        assert len(store.samples(session_id)) > 100
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
