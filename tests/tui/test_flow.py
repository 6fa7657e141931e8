"""The whole flow from the keyboard alone, with a real Session: fake model workers and a replayed power trace.

setup -> live -> verdict -> history -> open -> replay -> export -> delete.
"""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input

from greentui.store import SessionStore
from greentui.tui.screens.export import ExportScreen
from greentui.tui.screens.history import HistoryScreen
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.setup import SetupScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.widgets.model_picker import ModelPicker
from greentui.tui.widgets.sessions_table import SessionsTable
from greentui.tui.widgets.task_picker import TaskPicker
from tests.tui.pilot_helpers import quiet_app, wait_for

TRACE = Path(__file__).parent / "traces" / "busy_cpu.csv"
SIZE = (160, 48)


async def type_into(pilot, app, widget_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Clear the focused input (ctrl+u) and type ``text``; checks the focus is where the test thinks."""
    assert app.focused is not None and app.focused.id == widget_id, f"focus is on {app.focused!r}"
    await pilot.press("end", "ctrl+u", *text)


async def test_whole_flow_from_the_keyboard(store: SessionStore, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # the export writes into the current folder
    (tmp_path / "t.csv").write_text(TRACE.read_text())  # a short path to type
    app = quiet_app(store=store, inline_workers=True)
    async with app.run_test(size=SIZE) as pilot:
        setup = app.screen
        assert isinstance(setup, SetupScreen)
        task_picker = setup.query_one(TaskPicker)
        await wait_for(pilot, lambda: bool(task_picker._choices), what="the task list")

        await type_into(pilot, app, "spec-a", "fake:a?tps=400")
        await pilot.press("enter", "tab")  # -> A's catalog list -> B's input
        await type_into(pilot, app, "spec-b", "fake:b?accuracy=0.5&seed=7")
        await pilot.press("enter", "tab")
        await type_into(pilot, app, "task-input", "arithmetic")
        await pilot.press("enter", "tab")  # -> task list -> item limit
        await type_into(pilot, app, "opt-limit", "6")
        await pilot.press("enter", "tab")  # -> schedule -> power source
        await type_into(pilot, app, "opt-power", "replay:t.csv")
        await pilot.press("enter", "enter")  # -> country -> grid
        await type_into(pilot, app, "opt-grid", "380")
        await pilot.press("enter")
        await type_into(pilot, app, "opt-idle", "0.2")
        assert [p.spec is not None for p in setup.query(ModelPicker)] == [True, True]

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict after the run")
        live, verdict_screen = app.screen_stack[-2:]
        assert isinstance(live, LiveScreen)
        assert isinstance(verdict_screen, VerdictScreen)
        verdict = verdict_screen.verdict
        assert verdict.a.n_items == verdict.b.n_items == 6
        assert verdict.a.accuracy == 1.0
        assert verdict.energy_quality == "estimated"  # a replayed trace is not a measurement
        assert verdict.a.energy_j is not None and verdict.a.energy_j > 0
        assert live.tally.items_done == 12

        remembered = json.loads((Path(app_config_dir()) / "setup.json").read_text())
        assert remembered["model_b"] == "fake:b?accuracy=0.5&seed=7" and remembered["limit"] == 6

        await pilot.press("h")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        table = history.query_one(SessionsTable)
        assert table.row_count == 1
        (summary,) = history.summaries
        assert summary.status == "completed" and summary.verdict_sentence == verdict.sentence

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the stored verdict")
        assert app.screen.verdict.sentence == verdict.sentence  # type: ignore[attr-defined]
        assert app.screen.trace.duration_s > 0  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert app.screen is history

        await pilot.press("p")
        replay = app.screen
        assert isinstance(replay, LiveScreen) and not replay.feed.live
        await wait_for(pilot, lambda: replay.feed_done and replay.tally.finished is not None, what="the replay")
        assert replay.tally.items_done == 12
        assert replay.trace.duration_s > 0
        await pilot.press("escape")
        assert app.screen is history

        await pilot.press("e")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("enter")  # markdown, the first format
        exported = tmp_path / f"greentui-{summary.id}.md"
        assert exported.is_file() and verdict.sentence.split(":")[0] in exported.read_text()
        assert any(str(exported) in n.message for n in app._notifications)

        await pilot.press("d")
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 0, what="the delete")
        assert store.list_sessions() == []


def app_config_dir() -> str:
    from greentui import paths

    return str(paths.config_dir())


async def test_a_bad_spec_is_explained_inline_and_blocks_the_run(store: SessionStore) -> None:
    app = quiet_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        setup = app.screen
        assert isinstance(setup, SetupScreen)
        await type_into(pilot, app, "spec-a", "smollm2-135m@fp33")
        picker = setup.query_one("#picker-a", ModelPicker)
        assert picker.spec is None and picker.query_one(".spec-check").has_class("-invalid")
        assert "^" in str(picker.query_one(".spec-check").render())  # the caret under the bad part
        await pilot.press("ctrl+r")
        assert app.screen is setup
        assert "model A" in str(setup.query_one("#setup-error").render())
        assert app.is_running


async def test_choices_are_remembered_between_runs(store: SessionStore) -> None:
    from greentui.tui.preferences import save_choices

    save_choices(
        {
            "model_a": "fake:remembered",
            "model_b": "smollm2-135m@bf16",
            "task": "text-to-sql",
            "limit": 4,
            "country": "FRA",
            "idle_s": 1.5,
        }
    )
    app = quiet_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        values = {w.id: w.value for w in app.screen.query(Input)}
        assert values["spec-a"] == "fake:remembered" and values["spec-b"] == "smollm2-135m@bf16"
        assert values["task-input"] == "text-to-sql" and values["opt-limit"] == "4"
        assert values["opt-country"] == "FRA" and values["opt-idle"] == "1.5"
