"""A long history: the screen reads one page, the next as the cursor or the view nears the end, and filters,
sorts and counts in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from greentui.store import SessionStore
from greentui.tui.screens.history import PAGE_ROWS, HistoryScreen
from greentui.tui.widgets.sessions_table import SessionsTable
from tests.helpers.many_sessions import fill_many
from tests.tui.pilot_helpers import quiet_app, wait_for

N = 3 * PAGE_ROWS + 60  # more than a page of each of the three tasks


@pytest.fixture(scope="module")
def many_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("paging")) / "many.db"
    store = SessionStore(path)
    fill_many(store, N)
    store.close()
    return path


def status(history: HistoryScreen) -> str:
    return str(history.query_one("#history-status").render())


async def test_pages_load_as_the_cursor_nears_the_end(many_db: Path) -> None:
    app = quiet_app(store=SessionStore(many_db), start="history")
    async with app.run_test(size=(160, 48)) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(SessionsTable)
        assert table.row_count == PAGE_ROWS and history.more
        assert status(history).startswith(f"{N} of {N} sessions ({PAGE_ROWS} loaded, more as you scroll)")
        await pilot.press("ctrl+end")  # the cursor on the last loaded row reads the next page
        assert table.row_count == 2 * PAGE_ROWS
        await pilot.press("ctrl+end", "ctrl+end")
        assert table.row_count == N and not history.more and status(history).startswith(f"{N} of {N} sessions ·")
        ids = [s.id for s in history.shown]
        assert len(set(ids)) == N  # no session twice across the pages
        starts = [s.started_unix_s for s in history.shown]
        assert starts == sorted(starts, reverse=True)


async def test_scrolling_the_view_loads_the_next_page(many_db: Path) -> None:
    app = quiet_app(store=SessionStore(many_db), start="history")
    async with app.run_test(size=(160, 48)) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(SessionsTable)
        table.scroll_end(animate=False)  # the mouse wheel moves the view, not the cursor
        await wait_for(pilot, lambda: table.row_count == 2 * PAGE_ROWS, what="the second page")
        assert table.cursor_row == 0


async def test_filter_sort_and_count_run_in_the_store(many_db: Path) -> None:
    app = quiet_app(store=SessionStore(many_db), start="history")
    async with app.run_test(size=(160, 48)) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(SessionsTable)
        await pilot.press("slash", *"arith")
        assert table.row_count == PAGE_ROWS and all(s.task_id == "arithmetic" for s in history.shown)
        # a full first page: the matches are counted off the UI thread
        await wait_for(pilot, lambda: history.matching is not None, what="the count")
        assert history.matching == N // 3 and status(history).startswith(f"{N // 3} of {N} sessions")
        await pilot.press("ctrl+u", *"base-SQL-00001")
        assert {s.id for s in history.shown} == {f"base-sql-{k:06d}" for k in range(10, 20)}
        assert history.matching == 10 and not history.more
        await pilot.press("ctrl+u", "enter")
        history.sort_key, history.reverse = "task", False
        history.reload()
        assert history.shown[0].task_id == "arithmetic" and table.row_count == PAGE_ROWS
        await pilot.press("c")  # a mark on a loaded row survives reading more pages
        marked = table.current_id()
        await pilot.press("ctrl+end")
        assert table.row_count == 2 * PAGE_ROWS and history.marked == [marked]
        assert "marked for comparison: 1/2" in status(history)
