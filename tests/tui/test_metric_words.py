"""The lanes and the verdict name the task's metric, and continuous scores are never counted as "correct" items."""

from __future__ import annotations

import dataclasses

from greentui.core.records import Event, ItemScored, SessionStarted
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.widgets.lane_panel import tile_layout
from greentui.tui.widgets.metric_tile import MetricTile
from greentui.tui.widgets.paired_bars import PairedBars
from tests.tui.fakes import HeldFeed, race_events
from tests.tui.pilot_helpers import live_settled, quiet_app, wait_for

SIZE = (160, 48)


def as_rouge(events: list[Event]) -> list[Event]:
    """The fixed race as a summarisation task: ROUGE-L F1, scores in [0, 1] (0.62 and 0.31 instead of 1 and 0)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, SessionStarted):
            event = dataclasses.replace(
                event, task=dataclasses.replace(event.task, metric="ROUGE-L F1", continuous=True)
            )
        elif isinstance(event, ItemScored):
            event = dataclasses.replace(event, score=0.62 if event.score else 0.31)
        out.append(event)
    return out


def tile(screen: LiveScreen, side: str, key: str) -> str:
    return str(screen.query_one(f"#lane-{side.lower()} .tile-{key}", MetricTile).render())


async def test_a_continuous_metric_names_the_lane_and_counts_no_correct_items() -> None:
    events = as_rouge(race_events(until_s=7.3, finished=False))
    app = quiet_app(store=None, feed=HeldFeed(events))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, len(events))
        score = tile(screen, "A", "score")
        assert score.startswith("ROUGE-L F1") and "accuracy" not in score
        assert "correct" not in score and "/4" not in score  # four items, none of them "correct"
        # mean of 0.62, 0.62, 0.62, 0.31 as points out of 100; four items are too few for an interval
        assert "54.2 (no CI yet)\n" in score and "4 items" in score
        assert tile(screen, "A", "jpc").startswith("J / correct-eq.")  # energy per unit of score
        assert "score 0.62" in str(screen.query_one("#lane-b .lane-item").render())  # the last item's score
        screen.feed.request_stop()


async def test_the_verdict_bars_use_the_metric() -> None:
    app = quiet_app(store=None, feed=HeldFeed(as_rouge(race_events())))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict")
        verdict = app.screen
        assert isinstance(verdict, VerdictScreen)
        bars = verdict.query_one("#bars-accuracy", PairedBars)
        assert bars.title == "ROUGE-L F1" and "%" not in bars.values["A"][1]
        assert verdict.query_one("#bars-jpc", PairedBars).title.startswith("J per correct-equivalent")
        for screen in app.screen_stack:
            if isinstance(screen, LiveScreen):
                screen.feed.request_stop()


def test_tiles_fold_lowest_priority_first() -> None:
    # 80x24: a lane 36 wide and 11 high shows six tiles without notes; 160x48: all eight with notes
    small = tile_layout(36, 11)
    assert (small.columns, small.shown, small.notes) == (2, 6, False)
    wide = tile_layout(76, 29)
    assert (wide.columns, wide.shown, wide.notes) == (4, 8, True)
    tiny = tile_layout(36, 6)
    assert (tiny.columns, tiny.shown) == (2, 4)  # never fewer than power, energy, J/token and the score
