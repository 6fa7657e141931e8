"""History through a session in each state: interrupted (a crash, no verdict saved), failed, completed, and one
interrupted then resumed. For each: the message under the table, the verdict screen's title, and the lanes.
"""

from __future__ import annotations

from typing import Any

from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun
from greentui.store import SessionStore
from greentui.tui.screens.history import HistoryScreen
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.widgets.lane_panel import LanePanel
from greentui.tui.widgets.metric_tile import MetricTile
from greentui.tui.widgets.sessions_table import SessionsTable
from tests.tui.fakes import fill_store, race_events
from tests.tui.pilot_helpers import quiet_app, wait_for

SIZE = (160, 48)
CRASHED, FAILED, COMPLETED = "dead00000001", "77aa00bb11cc", "8f3a2c1b9d04"


def lane_line(screen: LiveScreen, side: str) -> str:
    """The status line of a lane (its item count, or that it failed / finished)."""
    lane = screen.query_one(f"#lane-{side.lower()}", LanePanel)
    return str(lane.query_one(".lane-item").render())  # type: ignore[attr-defined]


def tile(screen: LiveScreen, side: str, key: str) -> str:
    return str(screen.query_one(f"#lane-{side.lower()} .tile-{key}", MetricTile).render())


def stored_sessions(store: SessionStore) -> None:
    fill_store(store, race_events())  # completed
    fill_store(store, race_events(n_items=6, fail=("B", 3), session_id=FAILED, started_unix_s=1_795_390_000.0))
    # a crash mid-run: 5 items of A and 6 of B finished, no SessionFinished, no verdict saved; the store found the
    # process gone and marked it interrupted
    fill_store(
        store,
        race_events(n_items=8, until_s=9.0, finished=False, session_id=CRASHED, started_unix_s=1_795_200_000.0),
        verdict=False,
    )
    store.mark_status(CRASHED, "interrupted", "the process was gone")


async def select(pilot: Any, history: HistoryScreen, session_id: str) -> str:
    """Put the cursor on a session; returns the message under the table."""
    table = history.query_one(SessionsTable)
    table.move_cursor(row=table.get_row_index(session_id))
    await pilot.pause()
    return str(history.query_one("#history-preview").render())


async def open_verdict(pilot: Any, app: Any) -> VerdictScreen:
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict")
    screen = app.screen
    assert isinstance(screen, VerdictScreen)
    return screen


async def replayed(pilot: Any, app: Any) -> LiveScreen:
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.feed_done, what="the replay")
    screen = app.screen
    assert isinstance(screen, LiveScreen)
    return screen


def heading(screen: VerdictScreen) -> str:
    return str(screen.query_one("#verdict-heading").render())


async def test_history_knows_each_session_state(store: SessionStore) -> None:
    stored_sessions(store)
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)

        # interrupted by a crash, 5 and 6 items finished: not "no finished item"
        message = await select(pilot, history, CRASHED)
        assert "Interrupted after A 5/8 and B 6/8 items; no verdict was saved" in message
        assert "r resumes it" in message and "no finished item" not in message
        verdict = await open_verdict(pilot, app)
        assert " interrupted " in heading(verdict) and "running" not in heading(verdict)
        assert " 6 of 8 items each " in heading(verdict)  # how far it got, not the plan alone
        assert (verdict.verdict.a.n_items, verdict.verdict.b.n_items) == (5, 6)  # computed from the stored items
        await pilot.press("escape")
        live = await replayed(pilot, app)
        assert lane_line(live, "A") == "stopped at 5/8 items (the item in flight was not kept)"
        assert lane_line(live, "B") == "stopped at 6/8 items"
        assert "est." in tile(live, "A", "energy")
        await pilot.press("escape")

        # failed: model B died on its 4th item
        message = await select(pilot, history, FAILED)
        assert message.startswith("session 77aa00bb11cc · failed (model B failed")
        assert "Failed after A 6/6 and B 3/6 items; on those:" in message
        verdict = await open_verdict(pilot, app)
        assert " failed " in heading(verdict)
        await pilot.press("escape")
        live = await replayed(pilot, app)
        assert lane_line(live, "B").startswith("failed after 3 items") and lane_line(live, "A").startswith("done: 6/6")
        await pilot.press("escape")

        # completed: the verdict sentence alone
        message = await select(pilot, history, COMPLETED)
        summary = next(s for s in history.summaries if s.id == COMPLETED)
        assert summary.verdict_sentence and summary.verdict_sentence in message.replace("\n", " ")
        verdict = await open_verdict(pilot, app)
        assert " completed " in heading(verdict)
        await pilot.press("escape")
        live = await replayed(pilot, app)
        assert lane_line(live, "A").startswith("done: 8/8") and lane_line(live, "B").startswith("done: 8/8")
        assert tile(live, "A", "score").startswith("accuracy") and "87.5%" in tile(live, "A", "score")


def interrupted_fake_session(store: SessionStore) -> str:
    """A real session of two fake models on 4 items, stopped by the user after 2 finished items."""
    config = SessionConfig(
        model_a="fake:a",
        model_b="fake:b?accuracy=0.5",
        task="arithmetic",
        limit=4,
        power_source="replay:tests/tui/traces/busy_cpu.csv",
        idle_s=0.0,
    )
    run = SessionRun(config, store, inline_workers=True)
    run.prepare()
    scored: list[object] = []

    def stop_after_two(event: object) -> None:
        if type(event).__name__ == "ItemScored":
            scored.append(event)
            if len(scored) == 2:
                run.session.request_stop()

    run.subscribe(stop_after_two)
    assert run.run().status == "interrupted"
    return run.session_id


async def test_a_resumed_session_ends_completed_with_every_item(store: SessionStore) -> None:
    session_id = interrupted_fake_session(store)
    app = quiet_app(store=store, start="history", inline_workers=True)
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        message = await select(pilot, history, session_id)
        assert "Interrupted after A 1/4 and B 1/4 items" in message
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the resumed session's verdict")
        verdict = app.screen
        assert isinstance(verdict, VerdictScreen)
        assert " completed " in heading(verdict) and "interrupted" not in heading(verdict)
        assert " 4 items each " in heading(verdict) and " of 4 " not in heading(verdict)  # every item: no "of"
        assert isinstance(app.screen_stack[-2], LiveScreen)
        await pilot.press("h")  # back to the history, read again
        await pilot.pause()
        assert app.screen is history
        (summary,) = [s for s in history.summaries if s.id == session_id]
        assert summary.status == "completed" and (summary.a.items_done, summary.b.items_done) == (4, 4)
        message = await select(pilot, history, session_id)
        assert message.splitlines()[0].endswith("· completed")
        assert summary.verdict_sentence and summary.verdict_sentence[:40] in message.replace("\n", " ")


async def test_resume_shows_the_earlier_items_from_the_start(store: SessionStore) -> None:
    session_id = interrupted_fake_session(store)
    app = quiet_app(store=store, start="history", inline_workers=True)
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await select(pilot, history, session_id)
        done = {side: store.resume_info(session_id).done[side] for side in ("A", "B")}
        config_run: list[LiveScreen] = []

        original = app.show_live

        def capture(feed: Any) -> None:  # the live screen, as the app creates it, before its first event
            original(feed)
            config_run.append(app.screen_stack[-1])  # type: ignore[arg-type]

        app.show_live = capture  # type: ignore[method-assign]
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(config_run), what="the live screen")
        live = config_run[0]
        for side in ("A", "B"):
            lane = live.tally.sides[side]  # type: ignore[index]
            assert {item.item_id for item in lane.items} >= set(done[side])  # the earlier items from the first frame
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict")
        verdict = app.screen
        assert isinstance(verdict, VerdictScreen)
        assert (verdict.verdict.a.n_items, verdict.verdict.b.n_items) == (4, 4)  # the earlier items count too
        assert lane_line(live, "A").startswith("done: 4/4") and lane_line(live, "B").startswith("done: 4/4")
