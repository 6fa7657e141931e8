"""SVG snapshots of the screens from fixed event streams: live, verdict, setup and history at 80x24, 100x30 and
160x48 (the three terminal sizes a user is most likely to have), and a few more screens at one size.

Update after an intended change with ``pytest tests/snapshots --snapshot-update``, after looking at the new
pictures (``python tests/snapshots/svg_text.py FILE.svg`` prints one as text). ``test_estimates.py`` checks
every accepted picture for a cropped "est." mark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from greentui.store import SessionStore
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.tradeoff import TradeoffScreen
from greentui.tui.screens.verdict import VerdictScreen
from tests.tui.fakes import HeldFeed, fill_store, race_events
from tests.tui.pilot_helpers import live_settled, quiet_app, wait_for

WIDE = (160, 48)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((100, 30), id="100x30"), pytest.param(WIDE, id="160x48")]


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


def history_store(path: Path) -> SessionStore:
    """A completed, a failed (another task) and an interrupted session."""
    store = SessionStore(path)
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
    return store


@pytest.mark.parametrize("size", SIZES)
def test_setup_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    store = SessionStore(tmp_path / "s.db")
    app = quiet_app(store=store)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#task-list").option_count > 0, what="tasks")
        await wait_for(pilot, lambda: pilot.app.screen.query_one(".catalog-list").option_count > 0, what="catalog")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_live_screen_mid_race(snap_compare: Any, size: tuple[int, int]) -> None:
    events = race_events(until_s=7.3, finished=False)
    app = live_app(events)
    assert snap_compare(app, terminal_size=size, run_before=settle_live(len(events)))
    stop_feeds(app)


@pytest.mark.parametrize("size", SIZES)
def test_verdict_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    events = race_events()
    app = live_app(events)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, VerdictScreen), what="the verdict")

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    stop_feeds(app)


@pytest.mark.parametrize("size", SIZES)
def test_history_screen(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = quiet_app(store=history_store(tmp_path / "s.db"), start="history")
    assert snap_compare(app, terminal_size=size)


def test_live_screen_after_a_worker_failure(snap_compare: Any) -> None:
    events = race_events(n_items=6, fail=("A", 2), until_s=8.0, finished=False)
    app = live_app(events)
    assert snap_compare(app, terminal_size=WIDE, run_before=settle_live(len(events)))
    stop_feeds(app)


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


def test_tradeoff_screen(snap_compare: Any, tmp_path: Path) -> None:
    app = quiet_app(store=history_store(tmp_path / "s.db"), start="history")

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "g")  # the completed sentiment session: its task has two sessions, four runs
        await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, TradeoffScreen) and bool(pilot.app.screen.runs), what="runs"
        )

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
