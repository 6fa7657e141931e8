"""Work done once in a TUI run: one tally per session, shared by the session run and the live screen; one verdict.

Also: the widgets draw frozen view values, and thread workers report back with typed messages (a failure as one
visible line).
"""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path
from typing import Any

import pytest

from greentui.core.run import judge as judge_module
from greentui.core.run.session import SessionConfig
from greentui.core.run.tally import Tally
from greentui.store import SessionStore
from greentui.tui.feeds import SessionFeed
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.views import LaneView, live_view
from greentui.tui.widgets.metric_tile import MetricTile
from tests.tui.fakes import race_events
from tests.tui.pilot_helpers import quiet_app, wait_for

SIZE = (160, 48)
TRACE = Path(__file__).parent / "traces" / "busy_cpu.csv"


def fake_config(limit: int = 4) -> SessionConfig:
    return SessionConfig(
        model_a="fake:a?tps=400",
        model_b="fake:b?accuracy=0.5&seed=7",
        task="arithmetic",
        limit=limit,
        power_source=f"replay:{TRACE}",
        idle_s=0.0,
    )


async def test_a_tui_run_keeps_one_tally_and_computes_its_verdict_once(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdicts: list[Any] = []
    compute = judge_module.compute_verdict

    def counted(*args: Any, **kwargs: Any) -> Any:
        verdicts.append(compute(*args, **kwargs))
        return verdicts[-1]

    monkeypatch.setattr(judge_module, "compute_verdict", counted)
    app = quiet_app(store=store, inline_workers=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.start_session(fake_config())
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict after the run")
        live, verdict_screen = app.screen_stack[-2:]
        assert isinstance(live, LiveScreen) and isinstance(verdict_screen, VerdictScreen)
        feed = live.feed
        assert isinstance(feed, SessionFeed) and feed.outcome is not None

        # one tally: the live screen's figures are the session run's tally, the very object
        run_tally = feed.session_run.tally
        assert live.tally is run_tally and run_tally.items_done == 8
        session_id = feed.session_id
        gc.collect()
        seen = [
            o for o in gc.get_objects() if isinstance(o, Tally) and o.started and o.started.session_id == session_id
        ]
        assert seen == [run_tally]
        drawn = live.query_one("#lane-a .tile-energy", MetricTile)._shown
        assert drawn is not None and drawn[1] == live_view(run_tally, state="").lane("A").tiles[1].value

        # one verdict: computed by the session run as it ended, shown as it is, and not computed again
        assert len(verdicts) == 1
        assert verdict_screen.verdict is feed.outcome.verdict is verdicts[0]
        await pilot.press("escape")
        assert app.screen is live
        await pilot.press("v")  # the verdict again, after the end: the same one
        await pilot.pause()
        assert isinstance(app.screen, VerdictScreen) and app.screen.verdict is verdicts[0]
        assert len(verdicts) == 1


async def test_the_verdict_so_far_is_computed_from_the_shared_tally() -> None:
    from tests.tui.fakes import HeldFeed
    from tests.tui.pilot_helpers import live_settled

    events = race_events(until_s=7.3, finished=False)  # four items of A done, a running session
    feed = HeldFeed(events)
    app = quiet_app(store=None, feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        live = app.screen
        assert isinstance(live, LiveScreen) and live.tally is feed.tally
        await live_settled(pilot, live, len(events))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict so far")
        verdict = app.screen.verdict  # type: ignore[attr-defined]
        assert verdict.a.n_items == feed.tally.sides["A"].items_done
        feed.request_stop()


def test_views_are_frozen_values_of_the_tally() -> None:
    tally = Tally()
    for event in race_events(until_s=7.3, finished=False):
        tally.apply(event)
    view = live_view(tally, state="running", now_mono_s=1007.3)
    lane = view.lane("A")
    assert isinstance(lane, LaneView) and lane.active and lane.streaming
    assert {tile.key: tile.value for tile in lane.tiles}["score"].startswith("75.0%")
    assert view.progress.items_done == tally.items_done and view.progress.state == "running"
    assert view.header.task_name == "Sentiment" and view.header.power_quality == "estimated"
    with pytest.raises(dataclasses.FrozenInstanceError):
        lane.output = "changed"  # type: ignore[misc]


async def test_a_failing_worker_shows_one_line_and_the_screen_goes_on(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greentui.tui.screens import setup as setup_screen
    from greentui.tui.widgets.task_picker import TaskPicker

    def broken() -> list[Any]:
        raise OSError("the catalog file is unreadable\n(second line)")

    monkeypatch.setattr(setup_screen, "catalog_choices", broken)
    app = quiet_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app._notifications), what="the failure line")
        (note,) = [n for n in app._notifications if n.severity == "error"]
        assert note.title == "cannot list the model catalog"
        assert "\n" not in note.message and "unreadable" in note.message
        task_picker = app.screen.query_one(TaskPicker)
        await wait_for(pilot, lambda: bool(task_picker._choices), what="the task list (the other worker)")
        assert app.is_running


def test_no_screen_routes_worker_results_by_group_or_description() -> None:
    """Worker results come back as typed messages (greentui.tui.messages), not through Worker.StateChanged."""
    import greentui.tui

    root = Path(greentui.tui.__file__).parent
    for path in root.rglob("*.py"):
        source = path.read_text()
        for needle in ("Worker.StateChanged", "worker.group", "worker.description", "worker.result"):
            assert needle not in source, f"{path.relative_to(root)} uses {needle}"
