"""A session wired to the store (services.SessionRun) when the store fails or a stop signal comes: the session stops
with its finished items kept (in the database or the recovery journal) and says so in its outcome."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from greentui import signals
from greentui.core.records import Event, ItemScored
from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun, recover
from greentui.store import SessionStore
from greentui.store.journal import read_journal

FAST = "fake:oracle?tps=300&tokens=4"
SLOW = "fake:oracle?tps=20&tokens=4"


@pytest.fixture(autouse=True)
def _no_signals_left() -> Iterator[None]:
    signals.reset()
    yield
    signals.reset()


def config(model: str = FAST, limit: int = 12) -> SessionConfig:
    return SessionConfig(
        model_a=model, model_b=model, task="sentiment", limit=limit, idle_s=0.0, power_source="estimate"
    )


def test_a_full_disk_stops_the_session_and_its_items_are_in_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path / "g.db")
    original = store._connect_writer

    def tiny():
        db = original()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 3}")  # full after a few commits
        return db

    monkeypatch.setattr(store, "_connect_writer", tiny)
    errors: list[Exception] = []
    run = SessionRun(config(limit=40), store, inline_workers=True, on_store_error=errors.append)
    seen: list[Event] = []
    run.subscribe(seen.append)
    outcome = run.run()
    finished = {(e.side, e.item_id) for e in seen if isinstance(e, ItemScored)}
    assert outcome.status == "interrupted" and outcome.unsaved and outcome.journal
    assert outcome.reason == "stopped: the disk is full (results kept in a recovery journal)"
    assert len(errors) == 1 and outcome.store_errors == (str(errors[0]),)
    assert len(finished) < 80  # it stopped, rather than running every item into the journal
    journal = Path(outcome.journal)
    in_journal = {(e.side, e.item_id) for _, e in read_journal(journal).records if isinstance(e, ItemScored)}
    in_db = {(i.side, i.item_id) for i in store.items(outcome.session_id)}
    assert finished == in_db | in_journal
    assert store.load_session(outcome.session_id).verdict is None  # not saved over a partial session
    monkeypatch.undo()
    roomy = SessionStore(store.path)
    report = recover(roomy, journal)
    assert report.items_added == len(in_journal - in_db)
    stored = roomy.load_session(outcome.session_id)
    assert stored.session.status == "interrupted" and stored.verdict is not None  # recover saved the verdict


def test_a_stop_signal_stops_a_running_session_now(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    run = SessionRun(config(SLOW, limit=20), store, inline_workers=True)
    items = threading.Semaphore(0)
    run.subscribe(lambda e: items.release() if isinstance(e, ItemScored) else None)
    result: list = []
    runner = threading.Thread(target=lambda: result.append(run.run()))
    runner.start()
    assert items.acquire(timeout=30) and items.acquire(timeout=30)
    signals.deliver(signal.SIGTERM)
    runner.join(30)
    assert not runner.is_alive()
    [outcome] = result
    assert outcome.status == "interrupted" and outcome.reason == "stopped by SIGTERM" and not outcome.unsaved
    assert signals.exit_code(130) == 143
    stored = store.load_session(outcome.session_id)
    assert stored.session.status == "interrupted" and len(stored.items) == len(run.tally.sides["A"].items) + len(
        run.tally.sides["B"].items
    )


def test_a_signal_before_the_session_starts_starts_nothing(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "g.db")
    run = SessionRun(config(), store, inline_workers=True)
    run.prepare()
    signals.deliver(signal.SIGHUP)
    with pytest.raises(KeyboardInterrupt, match="stopped by SIGHUP"):
        run.run()
    assert store.list_sessions() == [] and signals.exit_code(130) == 129


def test_stop_targets_hear_every_signal_while_registered() -> None:
    heard: list[tuple[str, bool]] = []
    with signals.watching(lambda reason, hurry: heard.append((reason, hurry))):
        signals.deliver(signal.SIGTERM)
        signals.deliver(signal.SIGHUP)
    assert heard == [("stopped by SIGTERM", False), ("stopped by SIGTERM", True)]  # the first one names the stop
    assert signals.received() == signal.SIGTERM
