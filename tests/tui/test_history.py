"""The history screen: filter, sort, compare two sessions, resume an interrupted one, delete with confirmation."""

from __future__ import annotations

from greentui.core.run.session import SessionConfig
from greentui.services import SessionRun
from greentui.store import SessionStore
from greentui.tui.screens.compare import CompareScreen
from greentui.tui.screens.confirm import ConfirmScreen
from greentui.tui.screens.history import HistoryScreen
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.widgets.sessions_table import SessionsTable
from tests.helpers.started import with_settings
from tests.tui.fakes import fill_store, race_events
from tests.tui.pilot_helpers import quiet_app, wait_for

SIZE = (160, 48)


def three_sessions(store: SessionStore) -> None:
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


async def test_filter_sort_compare_and_cancelled_delete(store: SessionStore) -> None:
    three_sessions(store)
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(SessionsTable)
        assert [s.id for s in history.shown] == ["77aa00bb11cc", "8f3a2c1b9d04", "c0ffee123456"]  # newest first

        await pilot.press("slash", *"interr")
        assert [s.id for s in history.shown] == ["c0ffee123456"]
        await pilot.press("escape")  # back to the table, the filter stays
        assert app.focused is table and table.row_count == 1
        await pilot.press("slash", "ctrl+u", "enter")
        assert table.row_count == 3

        await pilot.press("s")  # sort by the next column: task
        assert history.sort_key == "task" and next(s.task_id for s in history.shown) == "sentiment"
        await pilot.press("S")
        assert next(s.task_id for s in history.shown) == "arithmetic"

        assert table.current_id() == "c0ffee123456"  # the cursor stayed on its session through the sorts
        await pilot.press("c", "up", "c")  # mark two sessions: they open side by side
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="the comparison")
        compare = app.screen
        assert [s.session_id for s in compare.sessions] == ["c0ffee123456", "8f3a2c1b9d04"]
        await pilot.press("escape")

        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.screen is history and len(store.list_sessions()) == 3


async def test_resume_finishes_an_interrupted_session(store: SessionStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
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

    app = quiet_app(store=store, start="history", inline_workers=True)
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        assert history.shown[0].status == "interrupted"
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the resumed session's verdict")
        assert isinstance(app.screen_stack[-2], LiveScreen)
        (summary,) = store.list_sessions()
        assert summary.id == run.session_id and summary.status == "completed"
        assert (summary.a.items_done, summary.b.items_done) == (4, 4)


async def test_w_filters_the_history_by_sweep(store: SessionStore) -> None:

    from greentui.core.records import SessionStarted

    def in_sweep(events: list, name: str) -> list:
        return [
            with_settings(e, sweep_id=name, sweep_key=f"k-{e.session_id}") if isinstance(e, SessionStarted) else e
            for e in events
        ]

    fill_store(store, in_sweep(race_events(session_id="aa00000000aa"), "small-vs-today"))
    fill_store(store, in_sweep(race_events(session_id="bb00000000bb", started_unix_s=1_795_390_000.0), "nightly"))
    fill_store(store, race_events(session_id="cc00000000cc", started_unix_s=1_795_200_000.0))
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen) and len(history.shown) == 3
        await pilot.press("w")
        assert [s.id for s in history.shown] == ["bb00000000bb"]  # sweeps by name: nightly first
        assert history.query_one("#history-filter").value == "sweep:nightly"
        await pilot.press("w")
        assert [s.id for s in history.shown] == ["aa00000000aa"]
        assert "sweep small-vs-today" in str(history.query_one("#history-preview").render())
        await pilot.press("w")
        assert len(history.shown) == 3  # after the last sweep, every session again
        await pilot.press("slash", *"sweep:nightly interr", "enter")
        assert history.shown == []  # the nightly session is completed, not interrupted
