"""Bad files and bad situations: foreign, damaged, newer, older (migrated), read-only, full."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from greentui.core.records import ItemScored, PowerSampled
from greentui.store import (
    SCHEMA_VERSION,
    NotAGreentuiDatabaseError,
    SessionStore,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreVersionError,
    migrations,
    recover_journal,
)
from tests.helpers import make_v1_db
from tests.helpers.store_events import LiveSession

FIXTURE_V1 = Path(__file__).resolve().parents[1] / "assets" / "store_v1.db"
REPO = Path(__file__).resolve().parents[2]


def filled_store(path: Path, session_id: str = "s-data", n_items: int = 6) -> Path:
    store = SessionStore(path)
    writer = store.writer()
    for event in LiveSession(session_id, n_items=n_items).events():
        writer.handle(event)
    writer.close()
    store.close()
    return path


def assert_refused_untouched(path: Path, error: type[StoreError], match: str) -> None:
    before = path.read_bytes()
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(error, match=match) as caught:
        SessionStore(path)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == siblings  # no -wal / -shm left behind


def test_a_text_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n")
    assert_refused_untouched(path, NotAGreentuiDatabaseError, "not a greentui database")


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_another_apps_sqlite_file_is_refused_and_left_untouched(tmp_path: Path, journal: str) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, NotAGreentuiDatabaseError, "other tables: notes")


@pytest.mark.parametrize("where", ["schema page", "data pages", "truncated"])
def test_a_damaged_database_is_refused_and_left_untouched(tmp_path: Path, where: str) -> None:
    path = filled_store(tmp_path / "g.db")
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * 4096
    if where == "schema page":
        data[2048:4096] = b"\xa5" * 2048
    elif where == "data pages":
        for page in range(1, len(data) // 4096):
            data[page * 4096 : page * 4096 + 100] = b"\xff" * 100
    else:
        data = data[: len(data) // 2 + 1000]
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, StoreCorruptError, "damaged")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = filled_store(tmp_path / "g.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert_refused_untouched(path, StoreVersionError, "newer greentui")
    with pytest.raises(StoreVersionError, match="newer greentui"):
        SessionStore(path, readonly=True)


def test_a_current_version_that_lacks_columns_is_refused_in_one_line(tmp_path: Path) -> None:
    """A file stamped with this schema version but missing columns (a development build wrote it) is refused
    when opened, read-only or not, instead of failing later with a KeyError on the first listing."""
    path = filled_store(tmp_path / "g.db")
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE sessions DROP COLUMN idle_contention_share")
    conn.close()
    assert_refused_untouched(path, StoreVersionError, "lacks idle_contention_share")
    with pytest.raises(StoreVersionError, match=f"says schema v{SCHEMA_VERSION} but the sessions table lacks"):
        SessionStore(path, readonly=True)


def test_an_empty_file_becomes_a_greentui_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(NotAGreentuiDatabaseError, match="empty"):
        SessionStore(path, readonly=True)
    assert SessionStore(path).list_sessions() == []


def _columns(path: Path) -> dict[str, set[tuple]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    shape = {t: {tuple(row[1:]) for row in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    shape["indexes"] = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    return shape


def test_a_v1_database_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURE_V1, path)
    store = SessionStore(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert _columns(path) == _columns(filled_store(tmp_path / "fresh.db"))
    listed = {s.id[:4]: s for s in store.list_sessions()}
    assert listed["0f1e"].task_version == "sha256:sentiment-v1"
    assert (listed["0f1e"].a.items_done, listed["0f1e"].a.correct, listed["0f1e"].b.correct) == (4, 2, 3)
    assert listed["0f1e"].a.energy_j == pytest.approx(4 * 9.5)
    assert listed["7a7a"].status == "interrupted" and listed["7a7a"].b.items_done == 2
    assert {item.stop_reason for item in store.items("0f1e")} == {"unknown"}
    # every item stored before v3 was generated in process: its tokens were counted from the generated ids
    assert {item.tokens_counted_by for item in store.items("0f1e")} == {"generated ids"}
    counted = store._db.execute("SELECT DISTINCT tokens_counted_by FROM items WHERE ended_mono_s IS NOT NULL")
    assert [row[0] for row in counted] == ["generated ids"]
    events = list(store.replay("0f1e"))
    assert events[0].kind == "session_started" and events[-1].kind == "session_finished"
    assert sum(e.kind == "power_sampled" for e in events) == 20
    store.save_verdict("0f1e", {"mode": "head-to-head"}, "A is more accurate")
    assert store.load_session("0f1e").verdict_sentence == "A is more accurate"
    # open again: nothing left to migrate, nothing changes
    assert SessionStore(path).list_sessions()[1].verdict_sentence == "A is more accurate"


def test_an_old_database_cannot_be_upgraded_read_only(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURE_V1, path)
    with pytest.raises(StoreVersionError, match="must be upgraded"):
        SessionStore(path, readonly=True)


def test_a_failed_migration_leaves_the_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURE_V1, path)
    dump_before = list(sqlite3.connect(path).iterdump())

    def half_done(db) -> None:
        db.execute("ALTER TABLE sessions ADD COLUMN task_version TEXT")
        raise sqlite3.OperationalError("simulated failure half way")

    monkeypatch.setitem(migrations.MIGRATIONS, 1, half_done)
    with pytest.raises(StoreError, match="simulated failure"):
        SessionStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert list(conn.iterdump()) == dump_before


def test_the_v1_fixture_is_reproducible(tmp_path: Path) -> None:
    rebuilt = make_v1_db.build(tmp_path / "v1.db")
    assert list(sqlite3.connect(rebuilt).iterdump()) == list(sqlite3.connect(FIXTURE_V1).iterdump())
    conn = sqlite3.connect(FIXTURE_V1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def run_unprivileged(code: str) -> dict:
    """Run ``code`` in a process that obeys file permissions (root drops its capabilities with setpriv)."""
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        command = [setpriv, "--bounding-set=-all", "--inh-caps=-all", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


READ_ONLY_PROBE = """
import json, sys
from greentui.store import SessionStore, StoreError
out = {}
try:
    SessionStore(sys.argv[1] if len(sys.argv) > 1 else %r)
    out["rw"] = "opened"
except StoreError as e:
    out["rw"] = type(e).__name__ + ": " + str(e)
store = SessionStore(%r, readonly=True)
out["listed"] = [s.id for s in store.list_sessions()]
out["items"] = len(store.items("s-data"))
print(json.dumps(out))
"""


@pytest.mark.parametrize("what", ["file 0444", "folder 0555"])
def test_a_read_only_database_gets_a_clear_error_and_can_still_be_read(tmp_path: Path, what: str) -> None:
    path = filled_store(tmp_path / "ro" / "g.db")
    before = path.read_bytes()
    target = path if what == "file 0444" else path.parent
    target.chmod(0o444 if what == "file 0444" else 0o555)
    try:
        out = run_unprivileged(READ_ONLY_PROBE % (str(path), str(path)))
    finally:
        target.chmod(0o644 if what == "file 0444" else 0o755)
    assert out["rw"].startswith("StoreReadOnlyError: ") and "read-only" in out["rw"]
    assert out["listed"] == ["s-data"] and out["items"] == 12
    assert path.read_bytes() == before


def test_a_database_made_read_only_mid_session_keeps_what_was_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "g.db")
    connections = []
    original = store._connect_writer

    def remembered():
        db = original()
        connections.append(db)
        return db

    monkeypatch.setattr(store, "_connect_writer", remembered)
    errors: list[StoreError] = []
    writer = store.writer(on_error=errors.append)
    events = list(LiveSession("s-ro", n_items=4).events())
    first_item = next(i for i, e in enumerate(events) if isinstance(e, ItemScored))
    for event in events[: first_item + 1]:
        writer.handle(event)
    writer.flush()
    connections[0].execute("PRAGMA query_only = ON")  # from now on every write is refused
    for event in events[first_item + 1 :]:
        writer.handle(event)
    writer.close()
    assert len(errors) == 1 and isinstance(errors[0], StoreReadOnlyError)
    assert store.items("s-ro") == [events[first_item]]


def test_a_full_disk_is_reported_once_and_nothing_is_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the full database did not take is in the recovery journal, and recover brings it in (once)."""
    path = tmp_path / "g.db"
    store = SessionStore(path)
    original = store._connect_writer

    def tiny_disk():
        db = original()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 6}")  # about 24 KB more, then "database or disk is full"
        return db

    monkeypatch.setattr(store, "_connect_writer", tiny_disk)
    errors: list[StoreError] = []
    journals = tmp_path / "journals"
    writer = store.writer(on_error=errors.append, journal_dirs=[journals])
    events = list(LiveSession("s-full", n_items=40, sample_hz=50.0).events())
    for event in events:
        writer.handle(event)
    writer.close()
    assert len(errors) == 1 and isinstance(errors[0], StoreFullError)
    assert "full" in str(errors[0]) and "\n" not in str(errors[0])
    assert writer.error is errors[0] and writer.dropped_events == 0
    assert writer.status.state == "journal" and writer.journal_path is not None
    assert writer.journal_path.parent == journals and f"greentui recover {writer.journal_path}" in str(errors[0])
    reopened = SessionStore(path)
    saved = reopened.items("s-full")
    scored = [e for e in events if isinstance(e, ItemScored)]
    assert 0 < len(saved) < len(scored)  # the database has the first items only...
    assert reopened._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert reopened.get_session("s-full").status == "running"  # its end is in the journal

    # the page limit was the writer connection's own: this connection has room, as a disk has once space is freed
    report = recover_journal(reopened, writer.journal_path)
    assert report.items_added == len(scored) - len(saved)
    assert {(i.side, i.item_id): i for i in reopened.items("s-full")} == {(i.side, i.item_id): i for i in scored}
    assert len(reopened.samples("s-full")) == sum(isinstance(e, PowerSampled) for e in events)
    assert reopened.get_session("s-full").status == "completed"  # the journal held the end too
    dump = list(reopened._db.conn.iterdump())
    again = recover_journal(reopened, writer.journal_path)  # recovering twice adds nothing twice
    assert again.items_added == 0 and list(reopened._db.conn.iterdump()) == dump


def test_a_full_disk_on_a_direct_write_is_a_store_error(tmp_path: Path) -> None:
    store = SessionStore(filled_store(tmp_path / "g.db"))
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreFullError, match="disk is full"):
        store.save_verdict("s-data", {"notes": "x" * 50_000}, "big")
    assert store.load_session("s-data").verdict is None
