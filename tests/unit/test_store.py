"""SessionStore and its writer: round trips, listing, replay, verdicts, deletion, recovery, resume."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from greentui.core.records import ItemScored, PowerSampled, SessionStarted
from greentui.store import (
    SCHEMA_VERSION,
    AmbiguousSessionIdError,
    SessionNotFoundError,
    SessionStore,
    StoreError,
    StoreReadOnlyError,
    default_db_path,
)
from greentui.store.migrations import APPLICATION_ID
from tests.helpers.store_events import LiveSession

NOT_STORED = ("token", "model_loading")


def record(store: SessionStore, live: LiveSession) -> list:
    """Write a simulated session through a writer; return the live events (all kinds)."""
    events = list(live.events())
    writer = store.writer()
    for event in events:
        writer.handle(event)
    writer.close()
    assert writer.error is None and writer.dropped_events == 0
    return events


def wait_until(condition, timeout_s: float = 10.0) -> bool:
    """Poll for something another thread does; the deadline only guards against a hang."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    with SessionStore(tmp_path / "greentui.db") as opened:
        yield opened


def test_new_database_is_wal_with_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "greentui.db"
    SessionStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sessions", "runs", "channels", "samples", "items", "verdicts"} <= tables


def test_replay_equals_the_live_sequence_without_token_and_loading_events(store: SessionStore) -> None:
    live = record(store, LiveSession("s-replay", n_items=8, fail_side="B", seed=3))
    replayed = list(store.replay("s-replay"))
    expected = [e for e in live if e.kind not in NOT_STORED]
    assert any(e.kind == "token" for e in live) and any(e.kind == "run_failed" for e in expected)
    assert [e.kind for e in replayed] == [e.kind for e in expected]
    assert replayed == expected


def test_every_stored_field_round_trips(store: SessionStore) -> None:
    live = record(store, LiveSession("s-fields", n_items=4, seed=5))
    stored = store.load_session("s-fields")
    started = next(e for e in live if isinstance(e, SessionStarted))
    assert stored.session.started_event() == started
    assert stored.session.task_version == started.task.version
    assert stored.session.pid == os.getpid() and stored.session.status == "completed"
    assert list(stored.items) == sorted((e for e in live if isinstance(e, ItemScored)), key=lambda i: (i.side, i.index))
    assert store.samples("s-fields") == [e.sample for e in live if isinstance(e, PowerSampled)]
    assert stored.runs["A"].status == "finished" and stored.runs["A"].params_total == 134_515_008
    assert stored.verdict is None


def test_an_item_is_committed_when_it_is_scored_and_samples_wait_for_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    store = SessionStore(path)
    writer = store.writer(flush_interval_s=3600.0)
    events = list(LiveSession("s-commit", n_items=3).events())
    last_item = max(i for i, e in enumerate(events) if isinstance(e, ItemScored))
    for event in events[: last_item + 1]:
        writer.handle(event)
    trailing = [e for e in events[last_item + 1 :] if isinstance(e, PowerSampled)]
    for event in trailing:
        writer.handle(event)
    reader = SessionStore(path, readonly=True)
    n_scored = sum(isinstance(e, ItemScored) for e in events)
    assert wait_until(lambda: reader.has_session("s-commit") and len(reader.items("s-commit")) == n_scored)
    n_samples_committed = len(reader.samples("s-commit"))
    assert n_samples_committed == sum(isinstance(e, PowerSampled) for e in events[: last_item + 1])
    writer.flush()
    assert len(reader.samples("s-commit")) == n_samples_committed + len(trailing)
    writer.close()


def test_handle_is_thread_safe_and_samples_before_session_started_are_kept(store: SessionStore) -> None:
    events = list(LiveSession("s-threads", n_items=6, sample_hz=40.0).events())
    samples = [e for e in events if isinstance(e, PowerSampled)]
    others = [e for e in events if not isinstance(e, PowerSampled)]
    writer = store.writer()
    writer.handle(samples[0])  # the sampler may start before the session announces itself
    sampler = threading.Thread(target=lambda: [writer.handle(s) for s in samples[1:]])
    sampler.start()
    for event in others:
        writer.handle(event)
    sampler.join()
    writer.close()
    assert writer.error is None
    assert sorted(store.samples("s-threads"), key=lambda s: s.t_mono_s) == [e.sample for e in samples]


def test_list_sessions_summaries_and_filters(store: SessionStore) -> None:
    record(store, LiveSession("aaa111", task_id="sentiment", started_unix_s=1000.0, seed=1))
    record(store, LiveSession("aaa222", task_id="arithmetic", started_unix_s=2000.0, seed=2, fail_side="B"))
    record(store, LiveSession("bbb333", task_id="sentiment", started_unix_s=3000.0, seed=3, finish=False))
    listed = store.list_sessions()
    assert [s.id for s in listed] == ["bbb333", "aaa222", "aaa111"]  # newest first
    for summary in listed:
        for side in ("A", "B"):
            items = store.items(summary.id, side)
            got = summary.side(side)
            assert got.items_done == len(items)
            assert got.correct == sum(i.correct for i in items)
            assert got.accuracy == pytest.approx(sum(i.score for i in items) / len(items))
            assert got.energy_j == pytest.approx(sum(i.joules for i in items))
    assert listed[1].b.status == "failed" and listed[1].b.failure == "crash"
    assert listed[0].status == "running"
    assert [s.id for s in store.list_sessions(task="sentiment")] == ["bbb333", "aaa111"]
    assert [s.id for s in store.list_sessions(status="completed")] == ["aaa222", "aaa111"]
    assert [s.id for s in store.list_sessions(since_unix_s=1500.0, until_unix_s=2500.0)] == ["aaa222"]
    assert [s.id for s in store.list_sessions(limit=1)] == ["bbb333"]
    assert len(store.list_sessions(model="ORACLE?accuracy=0.7")) == 3
    assert store.list_sessions(model="100%_") == []
    with pytest.raises(StoreError, match="unknown session status"):
        store.list_sessions(status="done")


def test_session_ids_resolve_by_unique_prefix(store: SessionStore) -> None:
    record(store, LiveSession("abc123", n_items=1))
    record(store, LiveSession("abd456", n_items=1))
    assert store.get_session("abc").id == "abc123"
    assert store.resolve_id("abd456") == "abd456"
    with pytest.raises(AmbiguousSessionIdError, match="several sessions"):
        store.get_session("ab")
    for missing in ("zzz", "", "a*"):
        with pytest.raises(SessionNotFoundError, match="no session"):
            store.get_session(missing)


def test_verdicts_latest_wins_and_show_in_the_listing(store: SessionStore) -> None:
    record(store, LiveSession("s-verdict", n_items=2))
    store.save_verdict("s-verd", {"mode": "head-to-head", "cegi": [1.0, None]}, "too close to call")
    store.save_verdict("s-verdict", {"mode": "head-to-head", "cegi": [2.0, 3.0]}, "B matches A")
    loaded = store.load_session("s-verdict")
    assert loaded.verdict == {"mode": "head-to-head", "cegi": [2.0, 3.0]}
    assert loaded.verdict_sentence == "B matches A" and loaded.verdict_created_unix_s is not None
    assert store.list_sessions()[0].verdict_sentence == "B matches A"


def test_delete_removes_every_row_and_refuses_a_live_running_session(store: SessionStore) -> None:
    record(store, LiveSession("s-keep", n_items=2))
    record(store, LiveSession("s-gone", n_items=2))
    store.save_verdict("s-gone", {"x": 1}, "s")
    assert store.delete("s-go") == "s-gone"
    assert [s.id for s in store.list_sessions()] == ["s-keep"]
    counts = {
        t: store._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("runs", "channels", "items", "verdicts")
    }
    assert counts == {"runs": 2, "channels": 2, "items": 4, "verdicts": 0}
    n_samples = store._db.execute("SELECT count(*) FROM samples").fetchone()[0]
    assert n_samples == len(store.samples("s-keep"))
    record(store, LiveSession("s-live", n_items=1, finish=False))  # written by this (live) process
    with pytest.raises(StoreError, match="still running"):
        store.delete("s-live")
    assert store.delete("s-live", force=True) == "s-live"


def test_mark_status_and_resume_info(store: SessionStore) -> None:
    record(store, LiveSession("s-resume", n_items=6, stop_after_items=5, finish=False))
    store.mark_status("s-resume", "interrupted", "stopped by the user")
    summary = store.list_sessions()[0]
    assert (summary.status, summary.status_reason) == ("interrupted", "stopped by the user")
    info = store.resume_info("s-res")
    assert info.status == "interrupted" and info.task_version == "v-sentiment"
    assert info.settings["limit"] == 6
    assert info.done == {"A": frozenset({"item-000", "item-001", "item-002"}), "B": frozenset({"item-000", "item-001"})}
    with pytest.raises(StoreError, match="unknown session status"):
        store.mark_status("s-resume", "paused")


def test_resuming_into_the_same_session_id_keeps_its_items(store: SessionStore) -> None:
    record(store, LiveSession("s-again", n_items=4, stop_after_items=3, finish=False))
    first_start = store.get_session("s-again").started_unix_s
    record(store, LiveSession("s-again", n_items=4, t0_mono_s=5000.0, started_unix_s=first_start + 60, seed=9))
    again = store.get_session("s-again")
    assert again.status == "completed" and again.started_unix_s == first_start
    assert len(store.items("s-again")) == 8


def test_run_summaries_add_each_item_once_even_when_an_item_is_scored_again(store: SessionStore) -> None:
    session = LiveSession("s-twice", n_items=4, seed=3)
    events = list(session.events())
    scored = [e for e in events if isinstance(e, ItemScored)]
    writer = store.writer()
    for event in events:
        writer.handle(event)
    writer.close()
    again = store.writer()
    again.handle(scored[0])  # the same item of side A again, in a batch of its own
    again.handle(scored[0])  # ... and twice in one batch
    again.close()
    for side in ("A", "B"):
        items = [i for i in store.items("s-twice") if i.side == side]
        summary = store.load_session("s-twice").items_summary()[side]
        assert summary["items_done"] == len(items) == 4
        assert summary["score_sum"] == pytest.approx(sum(i.score for i in items))
        assert summary["correct"] == sum(1 for i in items if i.correct)
        assert summary["tokens_out"] == sum(i.tokens_out for i in items)
        energies = [i.joules for i in items if i.joules is not None]
        assert summary["energy_j"] == (pytest.approx(sum(energies)) if energies else None)


def test_recover_stale_interrupts_sessions_whose_process_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    store = SessionStore(path)
    record(store, LiveSession("s-dead", n_items=2, finish=False))
    record(store, LiveSession("s-alive", n_items=2, finish=False))
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    store._db.execute("UPDATE sessions SET pid = ? WHERE id = 's-dead'", (dead_pid,))
    assert store.recover_stale() == ["s-dead"]
    assert store.recover_stale() == []
    dead = store.get_session("s-dead")
    assert dead.status == "interrupted" and str(dead_pid) in dead.status_reason
    assert store.get_session("s-alive").status == "running"
    # a reused pid (same number, another process start time) is not the writer any more
    store._db.execute("UPDATE sessions SET pid_started_unix_s = 1.0 WHERE id = 's-alive'")
    SessionStore(path).close()  # every read-write open recovers
    assert store.get_session("s-alive").status == "interrupted"


def test_writer_reports_errors_once_even_if_the_callback_raises(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    calls = []

    def broken(error: StoreError) -> None:
        calls.append(error)
        raise RuntimeError("callback bug")

    writer = store.writer(on_error=broken)
    store._db.execute("DROP TABLE items")  # every later item write fails
    for event in LiveSession("s-err", n_items=3).events():
        writer.handle(event)
    writer.close()
    assert len(calls) == 1 and writer.error is calls[0]
    assert "no such table" in str(writer.error) and "\n" not in str(writer.error)
    assert writer.dropped_events == 0 and writer.journal_path is not None  # kept in the recovery journal
    assert str(writer.journal_path) in str(writer.error)
    assert store.get_session("s-err").status == "running"  # what came before the failure is kept


def test_readonly_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    record(SessionStore(path), LiveSession("s-ro", n_items=1))
    reader = SessionStore(path, readonly=True)
    assert [s.id for s in reader.list_sessions()] == ["s-ro"]
    with pytest.raises(StoreReadOnlyError):
        reader.writer()
    with pytest.raises(StoreReadOnlyError):
        reader.save_verdict("s-ro", {}, "x")
    with pytest.raises(StoreError, match="no greentui database"):
        SessionStore(tmp_path / "missing.db", readonly=True)


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GREENTUI_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("GREENTUI_DB")
    path = default_db_path()
    assert path.name == "greentui.db" and "greentui" in path.parent.as_posix()


def test_store_imports_only_core_records() -> None:
    code = (
        "import sys, greentui.store, greentui.store.export; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('greentui') or m == 'textual')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    outside = [m for m in loaded if not m.startswith("greentui.store")]
    # greentui.paths is the one place that knows where files live (platformdirs + environment), not a layer;
    # greentui.untrusted is the escaper every layer shares (the exports neutralize model output with it);
    # core.records is made of the measurement records, the typed config and the plain-data converter
    assert outside == [
        "greentui",
        "greentui.core",
        "greentui.core.config",
        "greentui.core.convert",
        "greentui.core.measurements",
        "greentui.core.records",
        "greentui.paths",
        "greentui.untrusted",
    ]
