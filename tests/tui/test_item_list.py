"""The verdict screen opened from the history lists every item; the highlighted one shows the scorer's detail and
what its energy rests on (method, scope, contention)."""

from __future__ import annotations

import dataclasses

from textual.widgets import DataTable, Static

from greentui.core.records import Event, ItemScored
from greentui.store import SessionStore
from greentui.tui.screens.verdict import VerdictScreen
from tests.tui.fakes import fill_store, race_events
from tests.tui.pilot_helpers import quiet_app, wait_for


def with_details(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if isinstance(event, ItemScored):
            event = dataclasses.replace(
                event,
                score_detail="label matches" if event.score >= 1 else "expected positive, got negative",
                measurement_method="integrated",
                energy_scope="process tree",
                joules_machine=(event.joules or 0.0) * 3,
                contention_share=0.4 if event.index == 0 else 0.05,
                contended=event.index == 0,
            )
        out.append(event)
    return out


async def test_the_history_opens_a_session_whose_items_say_why(store: SessionStore) -> None:
    fill_store(store, with_details(race_events()))
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict")
        screen = app.screen
        table = screen.query_one("#item-table", DataTable)
        assert table.row_count == 16
        detail = screen.query_one("#item-detail", Static)
        first = str(detail.render())
        assert "A sent-001" in first and "label matches" in first
        assert "integrated, process tree" in first and "whole machine" in first
        assert "40 % of CPU time went to other programs" in first and "(contended)" in first
        wrong = next(i for i, row in enumerate(table.rows) if "got negative" in str(table.get_row_at(i)[-1]))
        table.move_cursor(row=wrong)
        await pilot.pause()
        assert "expected positive, got negative" in str(detail.render())
