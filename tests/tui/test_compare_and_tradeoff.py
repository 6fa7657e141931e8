"""Comparing two sessions (paired differences, which side is better, different tasks said) and the trade-off
chart (every run of the task, the session highlighted, J per item or per correct answer, a sweep's runs)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from greentui.core.records import SessionStarted
from greentui.store import SessionStore
from greentui.tui.screens.compare import CompareScreen
from greentui.tui.screens.history import HistoryScreen
from greentui.tui.screens.tradeoff import TradeoffScreen
from greentui.tui.widgets.difference_table import DifferenceTable
from greentui.tui.widgets.sessions_table import SessionsTable
from tests.helpers.started import with_settings
from tests.tui.fakes import fill_store, race_events
from tests.tui.pilot_helpers import quiet_app, wait_for

SIZE = (160, 48)
SECOND = "5ec0nd000002"


async def mark(pilot: Any, history: HistoryScreen, *session_ids: str) -> None:
    table = history.query_one(SessionsTable)
    for session_id in session_ids:
        table.move_cursor(row=table.get_row_index(session_id))
        await pilot.press("c")


async def test_two_runs_of_the_same_items_compare_paired(store: SessionStore) -> None:
    fill_store(store, race_events())
    # the same eight items again, model A now wrong on five more of them
    wrong = {("A", i): "The review is wrong." for i in (0, 1, 2, 4, 5)}
    fill_store(store, race_events(outputs=wrong, session_id=SECOND, started_unix_s=1_795_390_000.0))
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await mark(pilot, history, "8f3a2c1b9d04", SECOND)
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="the comparison")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        comparison = compare.comparison
        assert comparison.same_task and all(s.result.paired and s.result.n_paired == 8 for s in comparison.sides)
        score_a = comparison.sides[0].result.figures[0]
        assert score_a.diff == -62.5 and score_a.better == "left"  # 7/8 right, then 2/8
        energy_b = comparison.sides[1].result.figures[1]
        assert energy_b.diff == 0.0 and energy_b.better == "neither"  # B did the very same work
        shown = str(compare.query_one("#compare-sessions").render())
        assert "paired over the 8 items both sessions answered" in shown
        table = compare.query_one(DifferenceTable)
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(table.table)
        text = console.export_text()
        for row in ("score", "energy / item", "J / token", "J / correct answer", "CO2e / item"):
            assert row in text
        assert "-62.5 pts" in text and "left is better" in text and "est." in text


async def test_sessions_of_different_tasks_say_so(store: SessionStore) -> None:
    fill_store(store, race_events())
    fill_store(
        store,
        race_events(
            n_items=6, session_id=SECOND, started_unix_s=1_795_390_000.0, task=("arithmetic", "Arithmetic", "reasoning")
        ),
    )
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await mark(pilot, history, "8f3a2c1b9d04", SECOND)
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="the comparison")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert not compare.comparison.same_task
        assert not any(side.result.paired for side in compare.comparison.sides)
        assert "different tasks (sentiment and arithmetic)" in str(compare.query_one("#compare-sessions").render())


def in_sweep(events: list[Any], name: str) -> list[Any]:
    return [
        with_settings(e, sweep_id=name, sweep_key=f"k-{e.session_id}") if isinstance(e, SessionStarted) else e
        for e in events
    ]


async def test_the_tradeoff_chart_shows_every_run_of_the_task(store: SessionStore) -> None:
    fill_store(store, race_events())
    fill_store(store, in_sweep(race_events(session_id=SECOND, started_unix_s=1_795_390_000.0), "nightly"))
    fill_store(store, race_events(n_items=6, session_id="a717e0000003", task=("arithmetic", "Arithmetic", "reasoning")))
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(SessionsTable)
        table.move_cursor(row=table.get_row_index("8f3a2c1b9d04"))
        await pilot.press("slash", *"sweep:nightly", "enter")  # the filter names the sweep...
        await pilot.press("slash", "ctrl+u", *"sentiment", "enter")
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, TradeoffScreen) and bool(app.screen.runs), what="runs")
        chart = app.screen
        assert isinstance(chart, TradeoffScreen)
        assert {(p.run.session_id, p.run.side) for p in chart.points} == {
            (s, side) for s in ("8f3a2c1b9d04", SECOND) for side in "AB"
        }  # the sentiment runs only
        current = {p.run.session_id for p in chart.points if p.current}
        assert len(current) == 1 and current <= {"8f3a2c1b9d04", SECOND}
        assert any(p.on_frontier for p in chart.points)
        assert all(p.run.estimated for p in chart.points)
        assert "J per item" in str(chart.query_one("#tradeoff-heading").render())
        per_item = {p.run.side: p.energy_j.value for p in chart.points}
        await pilot.press("t")
        assert chart.per == "correct" and "J per correct answer" in str(chart.query_one("#tradeoff-heading").render())
        assert all(p.energy_j.value > per_item[p.run.side] for p in chart.points)  # fewer correct answers than items
        await pilot.press("escape")
        assert app.screen is history


async def test_a_sweep_filter_draws_its_runs_together(store: SessionStore) -> None:
    fill_store(store, race_events())
    fill_store(store, in_sweep(race_events(session_id=SECOND, started_unix_s=1_795_390_000.0), "nightly"))
    app = quiet_app(store=store, start="history")
    async with app.run_test(size=SIZE) as pilot:
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await pilot.press("w")  # sweep:nightly
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, TradeoffScreen) and bool(app.screen.runs), what="runs")
        chart = app.screen
        assert isinstance(chart, TradeoffScreen) and chart.sweep == "nightly"
        assert {p.run.session_id for p in chart.points if p.in_sweep} == {SECOND}
        assert "sweep nightly" in str(chart.query_one("#tradeoff-legend").render())
