"""Schema v3's sweep columns: sweep id, content key and hardware fingerprint; the sweeps table; merging a session."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from greentui.core.records import SessionStarted
from greentui.store import SessionStore
from greentui.store.export import session_to_json
from greentui.store.migrations import SCHEMA_VERSION
from greentui.store.sweeps import get_sweep, list_sweeps, merge_session, save_sweep, sessions_by_key, sweep_names

# Written by greentui at schema v2 (commit 75e86f8) from tests.helpers.store_events.LiveSession: one completed
# session with a verdict (2b2b0000v2done, 5 items a side) and one interrupted (2c2c0000v2part, 4 items a side).
from tests.helpers.started import with_settings
from tests.helpers.store_events import LiveSession
from tests.unit.test_store_files import _columns, filled_store

FIXTURE_V2 = Path(__file__).parents[1] / "assets" / "store_v2.db"
FINGERPRINT = {"host": "node-1", "cpu_model": "Xeon", "cpu_count": 32, "gpus": [{"name": "H100", "power_limit_w": 700}]}


def write_session(store: SessionStore, session_id: str, *, n_items: int = 3, finish: bool = True, **settings) -> None:
    writer = store.writer()
    for event in LiveSession(session_id, n_items=n_items).events():
        if isinstance(event, SessionStarted):
            event = with_settings(event, **settings)
        if event.kind == "session_finished" and not finish:
            continue
        writer.handle(event)
    writer.close()


def test_a_v2_database_migrates_to_v3_and_its_sessions_still_read(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    shutil.copyfile(FIXTURE_V2, path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
    store = SessionStore(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert _columns(path) == _columns(filled_store(tmp_path / "fresh.db"))
    listed = {s.id: s for s in store.list_sessions()}
    assert listed["2b2b0000v2done"].status == "completed" and listed["2b2b0000v2done"].a.items_done == 5
    assert listed["2b2b0000v2done"].verdict_sentence == "B matches A"
    assert listed["2c2c0000v2part"].status == "interrupted" and listed["2c2c0000v2part"].sweep_id is None
    record = store.get_session("2b2b0000v2done")
    assert (record.sweep_id, record.sweep_key, record.fingerprint_key, record.fingerprint) == (None, None, None, {})
    assert session_to_json(store, "2b2b0000v2done")["items"]
    assert store.list_sessions(sweep="anything") == []


def test_sweep_settings_and_fingerprint_land_in_their_columns(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    write_session(store, "s1", sweep_id="mine", sweep_key="k1", fingerprint=FINGERPRINT, fingerprint_key="f1")
    write_session(store, "s2")
    record = store.get_session("s1")
    assert (record.sweep_id, record.sweep_key, record.fingerprint_key) == ("mine", "k1", "f1")
    assert record.fingerprint["gpus"][0]["name"] == "H100"
    assert [s.id for s in store.list_sessions(sweep="mine")] == ["s1"]
    assert store.get_session("s2").sweep_id is None
    assert list(sessions_by_key(store, "mine")) == ["k1"] and sweep_names(store) == ["mine"]


def test_a_session_resumed_on_other_hardware_is_marked_mixed(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    write_session(store, "s1", finish=False, fingerprint=FINGERPRINT, fingerprint_key="f1")
    write_session(store, "s1", fingerprint=FINGERPRINT, fingerprint_key="f1")
    assert store.get_session("s1").fingerprint_key == "f1"
    other = {**FINGERPRINT, "host": "node-2", "gpus": [{"name": "A100", "power_limit_w": 400}]}
    write_session(store, "s1", fingerprint=other, fingerprint_key="f2")
    record = store.get_session("s1")
    assert record.fingerprint_key == "mixed"
    assert record.fingerprint["host"] == "node-2" and record.fingerprint["earlier"]["host"] == "node-1"


def test_sweeps_are_saved_listed_and_counted(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    plan = [{"key": k, "task_id": "t", "candidate": c, "reference": "r"} for k, c in (("k1", "b1"), ("k2", "b2"))]
    save_sweep(store, {"name": "mine", "reference": "r", "candidates": ["b1", "b2"], "tasks": ["t"]}, plan)
    write_session(store, "s1", sweep_id="mine", sweep_key="k1")
    record = get_sweep(store, "mine")
    assert record.planned == 2 and record.counts["completed"] == 1 and record.counts["pending"] == 1
    created = record.created_unix_s
    save_sweep(store, {"name": "mine", "reference": "r", "candidates": ["b1"], "tasks": ["t"]}, plan[:1])
    again = get_sweep(store, "mine")
    assert again.created_unix_s == created and again.planned == 1 and again.definition["candidates"] == ["b1"]
    assert [r.name for r in list_sweeps(store)] == ["mine"]


def test_merging_a_resumed_session_keeps_the_items_already_here(tmp_path: Path) -> None:
    home = SessionStore(tmp_path / "home.db")
    write_session(home, "s1", n_items=4, finish=False, sweep_id="mine", sweep_key="k1")
    home.mark_status("s1", "interrupted", "the worker was lost")
    # the worker's own database holds the whole session (as after a resume that ran the remaining items there)
    worker = SessionStore(tmp_path / "worker.db")
    write_session(worker, "s1", n_items=4, sweep_id="mine", sweep_key="k1")
    with home._db.conn:
        home._db.execute("DELETE FROM items WHERE session_id = 's1' AND idx >= 2")
    merge_session(home, session_to_json(worker, "s1"))
    record = home.get_session("s1")
    assert record.status == "completed" and record.sweep_key == "k1"
    assert home.runs("s1")["A"].items_done == 4 and home.runs("s1")["B"].items_done == 4
    merge_session(home, session_to_json(worker, "s1"))  # merging twice changes nothing
    assert len(home.items("s1")) == 8
