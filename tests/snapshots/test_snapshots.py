"""SVG snapshots of every screen at 160x48 (and the live screen at 100x30), from fixed event streams.

Update after an intended change with ``pytest tests/snapshots --snapshot-update``; the README's screenshots in
``assets/`` are copies of these (``python tests/snapshots/copy_to_assets.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from greentui.store import SessionStore
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.verdict import VerdictScreen
from tests.tui.fakes import HeldFeed, fill_store, race_events
from tests.tui.pilot_helpers import live_settled, quiet_app, wait_for

WIDE = (160, 48)
SMALL = (100, 30)


def live_app(events: list[Any]) -> Any:
    return quiet_app(store=None, feed=HeldFeed(events))


def settle_live(n_events: int):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, n_events)

    return run_before


def stop_feeds(app: Any) -> None:
    for screen in app.screen_stack:
        if isinstance(screen, LiveScreen):
            screen.feed.request_stop()


def test_setup_screen(snap_compare: Any, tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    app = quiet_app(store=store)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#task-list").option_count > 0, what="tasks")
        await wait_for(pilot, lambda: pilot.app.screen.query_one(".catalog-list").option_count > 0, what="catalog")

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_live_screen_mid_race(snap_compare: Any) -> None:
    events = race_events(until_s=7.3, finished=False)
    app = live_app(events)
    assert snap_compare(app, terminal_size=WIDE, run_before=settle_live(len(events)))
    stop_feeds(app)


def test_live_screen_small_terminal(snap_compare: Any) -> None:
    events = race_events(until_s=7.3, finished=False)
    app = live_app(events)
    assert snap_compare(app, terminal_size=SMALL, run_before=settle_live(len(events)))
    stop_feeds(app)


def test_live_screen_after_a_worker_failure(snap_compare: Any) -> None:
    events = race_events(n_items=6, fail=("A", 2), until_s=8.0, finished=False)
    app = live_app(events)
    assert snap_compare(app, terminal_size=WIDE, run_before=settle_live(len(events)))
    stop_feeds(app)


def test_verdict_screen(snap_compare: Any) -> None:
    events = race_events()
    app = live_app(events)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, VerdictScreen), what="the verdict")

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)
    stop_feeds(app)


def test_history_screen(snap_compare: Any, tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    fill_store(store, race_events())
    fill_store(
        store,
        race_events(
            n_items=6,
            fail=("B", 3),
            session_id="77aa00bb11cc",
            started_unix_s=1_795_390_000.0,
            task=("arithmetic", "Arithmetic", "reasoning"),
        ),
    )
    fill_store(store, race_events(n_items=8, stop_after=3, session_id="c0ffee123456", started_unix_s=1_795_200_000.0))
    app = quiet_app(store=store, start="history")
    assert snap_compare(app, terminal_size=WIDE)


def test_help_over_the_live_screen(snap_compare: Any) -> None:
    events = race_events(until_s=7.3, finished=False)
    app = live_app(events)

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, len(events))
        await pilot.press("f1")

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)
    stop_feeds(app)
