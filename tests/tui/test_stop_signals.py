"""The TUI under faults: SIGTERM stops its running session like Ctrl-C and the app exits with it; a locked
database shows as "waiting for the database" on the live screen until it is free."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator

import pytest

from greentui import signals
from greentui.core.run.session import SessionConfig
from greentui.store import SessionStore
from greentui.tui.screens.live import LiveScreen
from tests.tui.pilot_helpers import quiet_app, wait_for

SIZE = (160, 48)


@pytest.fixture(autouse=True)
def _no_signals_left() -> Iterator[None]:
    signals.reset()
    yield
    signals.reset()


def config(limit: int = 20) -> SessionConfig:
    model = "fake:oracle?tps=20&tokens=4"
    return SessionConfig(
        model_a=model, model_b=model, task="sentiment", limit=limit, idle_s=0.0, power_source="estimate"
    )


def live_screen(app) -> LiveScreen:
    screen = next((s for s in app.screen_stack if isinstance(s, LiveScreen)), None)
    assert screen is not None
    return screen


async def test_sigterm_stops_the_session_and_the_app(store: SessionStore) -> None:
    app = quiet_app(store=store, start="live", session_config=config(), inline_workers=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any(isinstance(s, LiveScreen) for s in app.screen_stack), what="live screen")
        screen = live_screen(app)
        await wait_for(pilot, lambda: screen.tally.items_done >= 3, what="3 finished items")
        app.stop_for_signal(signal.SIGTERM)
        await wait_for(pilot, lambda: screen.feed_done, what="the session to end")
    assert signals.exit_code(int(app.return_code or 0)) == 143
    [session] = store.list_sessions()
    stored = store.get_session(session.id)
    assert stored.status == "interrupted" and stored.status_reason == "stopped by SIGTERM"
    lines, unsaved = app.session_report()
    assert lines == [f"session {session.id} interrupted: saved in {app.db_path}   (greentui show {session.id})"]
    assert not unsaved


async def test_a_locked_database_shows_as_waiting_and_nothing_is_lost(store: SessionStore) -> None:
    app = quiet_app(store=store, start="live", session_config=config(limit=10), inline_workers=True)
    holder: sqlite3.Connection | None = None
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any(isinstance(s, LiveScreen) for s in app.screen_stack), what="live screen")
        screen = live_screen(app)
        await wait_for(pilot, lambda: screen.tally.items_done >= 2, what="2 finished items")
        holder = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        try:
            await wait_for(pilot, lambda: "waiting for the database" in screen.state_label(), what="waiting")
        finally:
            holder.rollback()
            holder.close()
        await wait_for(pilot, lambda: screen.feed_done, what="the session to end")
        assert screen.state_label() == "completed"
    [session] = store.list_sessions()
    assert session.status == "completed" and len(store.items(session.id)) == 20
