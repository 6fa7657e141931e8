"""The store writer loses nothing: a lock is waited for, a write that cannot succeed goes to the recovery journal,
and ``recover_journal`` brings a journal in (once)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from greentui.core.records import ItemScored, PowerSampled, SessionFinished
from greentui.store import (
    JournalError,
    SessionStore,
    StoreBusyError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    WriterStatus,
    recover_journal,
)
from greentui.store.journal import read_journal
from tests.helpers.store_events import LiveSession

QUICK = {"retry_interval_s": 0.05, "journal_after_s": 0.3}


def scored(events: list) -> dict[tuple[str, str], ItemScored]:
    return {(e.side, e.item_id): e for e in events if isinstance(e, ItemScored)}


def stored(store: SessionStore, session_id: str) -> dict[tuple[str, str], ItemScored]:
    return {(i.side, i.item_id): i for i in store.items(session_id)}


def hold_lock(path: Path) -> sqlite3.Connection:
    """Another connection takes the write lock (as another process would) and keeps it until rolled back."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def wait_for(condition, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def full_disk(store: SessionStore, monkeypatch: pytest.MonkeyPatch, extra_pages: int = 6) -> None:
    """The writer's connection may add only a few pages: then every commit fails as on a full disk."""
    original = store._connect_writer

    def tiny():
        db = original()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + extra_pages}")
        return db

    monkeypatch.setattr(store, "_connect_writer", tiny)


def read_only(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write of the writer's connection is refused, as on a file made read-only."""
    original = store._connect_writer

    def refusing():
        db = original()
        db.execute("PRAGMA query_only = ON")
        return db

    monkeypatch.setattr(store, "_connect_writer", refusing)


def test_a_locked_database_is_waited_for_and_nothing_is_lost(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    statuses: list[WriterStatus] = []
    journals = tmp_path / "journals"
    writer = store.writer(on_status=statuses.append, journal_dirs=[journals], **QUICK)
    events = list(LiveSession("s-lock", n_items=8).events())
    half = len(events) // 2
    for event in events[:half]:
        writer.handle(event)
    assert writer.flush(timeout_s=10)
    holder = hold_lock(store.path)
    try:
        for event in events[half:]:
            writer.handle(event)
        assert wait_for(lambda: writer.status.state == "waiting")
        assert "waiting for the database" in writer.status.message and "locked by another process" in (
            writer.status.message
        )
        # held past journal_after_s: a copy is in a journal, so even a killed process would lose nothing
        assert wait_for(lambda: any(journals.glob("*.jsonl")))
        assert not writer.flush(timeout_s=0.2)  # a flush waits for the lock
    finally:
        holder.rollback()
        holder.close()
    writer.close()
    assert writer.error is None and writer.dropped_events == 0 and writer.status.state == "saving"
    assert [s.state for s in statuses] == ["waiting", "saving"]
    assert "free again" in statuses[-1].message
    assert not list(journals.glob("*.jsonl"))  # the database has it all: the journal copy is gone
    assert stored(store, "s-lock") == scored(events)
    assert store.get_session("s-lock").status == "completed"


def test_closing_while_still_locked_waits_then_journals_and_recover_brings_it_in(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    errors: list[StoreError] = []
    writer = store.writer(on_error=errors.append, journal_dirs=[tmp_path / "j"], close_wait_s=0.5, **QUICK)
    holder = hold_lock(store.path)
    try:
        events = list(LiveSession("s-held", n_items=4).events())
        for event in events:
            writer.handle(event)
        started = time.monotonic()
        assert writer.close()
        assert time.monotonic() - started < 10
    finally:
        holder.rollback()
        holder.close()
    assert len(errors) == 1 and isinstance(errors[0], StoreBusyError)
    assert "stayed locked" in str(errors[0]) and f"greentui recover {writer.journal_path}" in str(errors[0])
    assert writer.dropped_events == 0 and writer.status.state == "journal"
    assert not store.has_session("s-held")
    report = recover_journal(store, writer.journal_path)
    assert report.items_added == len(scored(events)) and report.sessions[0].status == "completed"
    assert stored(store, "s-held") == scored(events)
    assert len(store.samples("s-held")) == sum(isinstance(e, PowerSampled) for e in events)


def test_stop_waiting_journals_at_once(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    writer = store.writer(journal_dirs=[tmp_path / "j"], close_wait_s=600, **QUICK)
    holder = hold_lock(store.path)
    try:
        for event in LiveSession("s-stop", n_items=2).events():
            writer.handle(event)
        closer = threading.Thread(target=writer.close)
        closer.start()
        assert wait_for(lambda: writer.status.state == "waiting")
        writer.stop_waiting()
        closer.join(10)
        assert not closer.is_alive()
    finally:
        holder.rollback()
        holder.close()
    assert writer.status.state == "journal" and writer.journal_path is not None
    assert writer.journal_path.exists() and writer.dropped_events == 0


def test_a_failed_write_goes_to_the_journal_with_the_sessions_opening_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "g.db")
    full_disk(store, monkeypatch, extra_pages=8)
    errors: list[StoreError] = []
    writer = store.writer(on_error=errors.append, journal_dirs=[tmp_path / "j"])
    events = list(LiveSession("s-open", n_items=30, sample_hz=40.0).events())
    for event in events:
        writer.handle(event)
    writer.close()
    assert len(errors) == 1 and isinstance(errors[0], StoreFullError)
    contents = read_journal(writer.journal_path)
    kinds = [event.kind for _, event in contents.records]
    assert kinds[0] == "session_started" and kinds.count("model_loaded") == 2 and kinds[-1] == "session_finished"
    assert contents.header.database == str(store.path) and not contents.truncated
    # the database and the journal hold every finished item between them
    in_journal = {(e.side, e.item_id) for _, e in contents.records if isinstance(e, ItemScored)}
    assert in_journal | set(stored(SessionStore(store.path), "s-open")) == set(scored(events))


def test_a_journal_place_that_refuses_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where a folder should be")
    store = SessionStore(tmp_path / "g.db")
    read_only(store, monkeypatch)
    writer = store.writer(journal_dirs=[not_a_folder / "journals", tmp_path / "second"])
    for event in LiveSession("s-next", n_items=2).events():
        writer.handle(event)
    writer.close()
    assert writer.journal_path is not None and writer.journal_path.parent == tmp_path / "second"
    assert writer.dropped_events == 0


def test_with_no_journal_place_the_loss_is_said_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    store = SessionStore(tmp_path / "g.db")
    read_only(store, monkeypatch)
    errors: list[StoreError] = []
    writer = store.writer(on_error=errors.append, journal_dirs=[not_a_folder / "a", not_a_folder / "b"])
    for event in LiveSession("s-lost", n_items=2).events():
        writer.handle(event)
    writer.close()
    assert writer.status.state == "lost" and writer.journal_path is None
    assert len(errors) == 1 and isinstance(errors[0], StoreReadOnlyError)
    assert "only in memory" in str(errors[0]) and "\n" not in str(errors[0])
    assert writer.dropped_events > 0


def test_recovering_after_a_resume_keeps_what_the_resume_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.db"
    store = SessionStore(path)
    read_only(store, monkeypatch)
    writer = store.writer(journal_dirs=[tmp_path / "j"])
    live = LiveSession("s-res", n_items=3, finish=False)
    events = list(live.events())
    for event in events:
        writer.handle(event)
    writer.close()
    journal = writer.journal_path
    assert journal is not None and not store.has_session("s-res")
    monkeypatch.undo()
    # the session is run again (a resume) into the database, with other outputs, and completes
    resumed = list(LiveSession("s-res", n_items=3, seed=7).events())
    fresh = SessionStore(path)
    again = fresh.writer()
    for event in resumed:
        again.handle(event)
    again.close()
    before = list(fresh._db.conn.iterdump())
    report = recover_journal(fresh, journal)
    assert report.items_added == 0 and report.sessions[0].status == "completed"
    assert list(fresh._db.conn.iterdump()) == before
    assert stored(fresh, "s-res") == scored(resumed)


def test_a_stale_session_is_finished_as_its_journal_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.db"
    store = SessionStore(path)
    events = list(LiveSession("s-stale", n_items=4).events())
    first_item = next(i for i, e in enumerate(events) if isinstance(e, ItemScored))
    writer = store.writer()
    for event in events[: first_item + 1]:
        writer.handle(event)
    writer.close()
    journal = tmp_path / "j.greentui-journal.jsonl"
    header = {
        "greentui_journal": 1,
        "database": str(path),
        "host": store.get_session("s-stale").host,
        "pid": store.get_session("s-stale").pid,
        "pid_started_unix_s": None,
        "created_unix_s": 0.0,
        "reason": "test",
    }
    lines = [json.dumps(header)] + [
        json.dumps({"session_id": "s-stale", "event": e.to_dict()}) for e in events[first_item + 1 :]
    ]
    journal.write_text("\n".join(lines) + "\n")
    store.mark_status("s-stale", "interrupted", "the greentui process ended")  # as recover_stale() leaves it
    report = recover_journal(store, journal)
    assert report.items_added == len(scored(events)) - 1
    finished = next(e for e in events if isinstance(e, SessionFinished))
    assert store.get_session("s-stale").status == finished.status


def test_reading_a_journal(tmp_path: Path) -> None:
    header = {"greentui_journal": 1, "database": "g.db", "host": "h", "pid": 1, "created_unix_s": 0.0}
    event = next(iter(LiveSession("s-read", n_items=1).events()))
    good = json.dumps({"session_id": "s-read", "event": event.to_dict()})
    journal = tmp_path / "j.jsonl"
    journal.write_text(f"{json.dumps(header)}\n{good}\n{good[:40]}")  # the last line cut short: skipped
    contents = read_journal(journal)
    assert len(contents.records) == 1 and contents.truncated
    journal.write_text(f"{json.dumps(header)}\n{{not json\n{good}\n")
    with pytest.raises(JournalError, match=r"j\.jsonl line 2: not a journal record"):
        read_journal(journal)
    journal.write_text("id,name\n1,x\n")
    with pytest.raises(JournalError, match="not a greentui recovery journal"):
        read_journal(journal)
    journal.write_text(json.dumps({**header, "greentui_journal": 99}) + "\n")
    with pytest.raises(JournalError, match="format 99"):
        read_journal(journal)
    with pytest.raises(JournalError, match="cannot read"):
        read_journal(tmp_path / "missing.jsonl")
    hostile = json.dumps({"session_id": "\x1b]52;c;aGk=\x07", "event": event.to_dict()})
    journal.write_text(f"{json.dumps(header)}\n{hostile}\n")
    with pytest.raises(JournalError, match="line 2") as caught:
        read_journal(journal)
    assert "\x1b" not in str(caught.value)
    journal.write_text(json.dumps({**header, "database": "\x1b[2Jg.db"}) + "\n")
    with pytest.raises(JournalError, match="not a greentui recovery journal"):
        read_journal(journal)


def test_a_journal_without_its_session_names_the_database_it_came_from(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "other.db")
    item = next(e for e in LiveSession("s-away", n_items=1).events() if isinstance(e, ItemScored))
    header = {"greentui_journal": 1, "database": "/elsewhere/g.db", "host": "h", "pid": 1, "created_unix_s": 0.0}
    journal = tmp_path / "j.jsonl"
    journal.write_text(f"{json.dumps(header)}\n{json.dumps({'session_id': 's-away', 'event': item.to_dict()})}\n")
    with pytest.raises(JournalError, match=r"/elsewhere/g\.db"):
        recover_journal(store, journal)
    assert store.list_sessions() == []
