"""The live screen over a fake event stream: figures, keys, failures, and literal model output."""

from __future__ import annotations

from rich.console import Console

from greentui.core.records import TokenEvent
from greentui.tui.screens.live import LiveScreen
from greentui.tui.widgets.lane_panel import LanePanel
from greentui.tui.widgets.metric_tile import MetricTile
from greentui.tui.widgets.power_chart import PowerChart
from greentui.tui.widgets.streaming_output import StreamingOutput
from tests.tui.fakes import HeldFeed, race_events
from tests.tui.pilot_helpers import live_settled, quiet_app, wait_for

SIZE = (160, 48)


def rendered(widget: object) -> str:
    """What a widget draws, as plain text (its render() through a console as wide as the widget)."""
    console = Console(width=200, record=True, file=None, force_terminal=False)
    with console.capture() as capture:
        console.print(widget.render())  # type: ignore[attr-defined]
    return capture.get()


def tile_text(screen: LiveScreen, side: str, key: str) -> str:
    tile = screen.query_one(f"#lane-{side.lower()} .tile-{key}", MetricTile)
    return str(tile.render())


async def test_live_screen_shows_the_tally_figures_and_streams_the_current_item() -> None:
    events = race_events(until_s=7.3, finished=False)  # A is mid-item 5, B waits
    feed = HeldFeed(events)
    app = quiet_app(store=None, feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, len(events))
        lane_a = screen.query_one("#lane-a", LanePanel)
        output = lane_a.query_one(StreamingOutput)
        assert output.streaming and output.text == "".join(
            e.text for e in events if isinstance(e, TokenEvent) and e.side == "A" and e.item_id == "sent-005"
        )
        assert "est." in tile_text(screen, "A", "energy")
        assert "75.0%" in tile_text(screen, "A", "score")  # 3 of 4 right so far
        assert tile_text(screen, "A", "score").startswith("accuracy")  # the task's metric names the tile
        assert "—" in tile_text(screen, "B", "power")  # B is not the active model: no power shown
        assert "W" in tile_text(screen, "A", "power")
        assert "8/16 items" in str(screen.query_one("#race-label").render())
        assert screen.state_label() == "running"

        await pilot.press("space")
        assert feed.calls == ["pause"] and screen.state_label() == "paused"
        await pilot.press("space")
        assert feed.calls == ["pause", "resume"]

        chart = screen.query_one(PowerChart)
        assert chart.window_s == 60.0
        await pilot.press("c")
        assert chart.window_s is None

        await pilot.press("s")
        assert feed.calls[-1] == "stop"
        await wait_for(pilot, lambda: screen.feed_done, what="the feed to end")


async def test_model_output_is_shown_literally_never_interpreted() -> None:
    nasty = "[bold red]x[/] [link=http://x]y[/link] \x1b[31mred\x1b]8;;http://evil\x07z\x1b]8;;\x07 :smile:"
    events = race_events(n_items=2, outputs={("A", 0): nasty}, until_s=3.0, finished=False)
    app = quiet_app(store=None, feed=HeldFeed(events))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, len(events))
        output = screen.query_one("#lane-a", LanePanel).query_one(StreamingOutput)
        text = output.render()
        shown = text.plain.replace("\n", "")  # undo the wrapping to the lane's width
        assert "[bold red]x[/] [link=http://x]y[/link] \\x1b[31mred\\x1b]8;;http://evil\\x07z" in shown
        assert ":smile:" in shown
        assert all(span.style in ("", None) or "link" not in str(span.style) for span in text.spans)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "http://evil" in svg and "[bold&#160;red]" in svg
        screen.feed.request_stop()


async def test_a_failed_worker_is_notified_and_the_other_lane_goes_on() -> None:
    events = race_events(n_items=6, fail=("A", 2))
    app = quiet_app(store=None, feed=HeldFeed(events))
    async with app.run_test(size=SIZE) as pilot:
        # the session ends (failed, B's items judged): its verdict may already be open over the live screen
        (screen,) = [s for s in app.screen_stack if isinstance(s, LiveScreen)]
        await live_settled(pilot, screen, len(events))
        errors = [n for n in app._notifications if n.severity == "error"]
        assert any("model A failed" in n.title and "out of memory" in n.message for n in errors)
        assert screen.tally.sides["A"].state == "failed"
        assert screen.tally.sides["A"].items_done == 2
        assert screen.tally.sides["B"].items_done == 6  # B finished every item after A died
        assert screen.query_one("#lane-a", LanePanel).has_class("-failed")
        assert app.is_running  # a failure never closes the app
        screen.feed.request_stop()


async def test_quit_stops_a_running_session_first() -> None:
    feed = HeldFeed(race_events(n_items=2, until_s=3.0, finished=False))
    app = quiet_app(store=None, feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        assert feed.calls == ["stop"]
        await wait_for(pilot, lambda: not app.is_running, what="the app to exit after the feed ended")
