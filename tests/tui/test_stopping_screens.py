"""The stopping rule on screen: the live screen's running intervals and settled indicator, hidden for sessions without
the rule; the setup screen's switch; the verdict's "settled after n of N items" and its estimated savings."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Switch

from greentui.core.records import Event, StoppingChecked
from greentui.core.run.judge import verdict_from_tally
from greentui.core.run.session import Session, SessionConfig
from greentui.core.run.tally import Tally
from greentui.tui.screens.live import LiveScreen
from greentui.tui.screens.setup import SetupScreen
from greentui.tui.screens.verdict import VerdictScreen
from greentui.tui.widgets.options_form import OptionsForm
from greentui.tui.widgets.stopping_status import StoppingStatus
from greentui.tui.widgets.verdict_summary import VerdictSummary
from tests.tui.fakes import HeldFeed, race_events
from tests.tui.pilot_helpers import live_settled, quiet_app, wait_for

SIZE = (160, 48)


def stopping_session(tmp_path: Path) -> list[Event]:
    """A real session with fake models (0% against 100%) that stops once settled."""
    trace = tmp_path / "const.csv"
    trace.write_text("t_s,power_w\n0,20\n1,20\n")
    config = SessionConfig(
        model_a="fake:never?tps=2000&tokens=4&accuracy=0",
        model_b="fake:always?tps=2000&tokens=4&accuracy=1",
        task="arithmetic",
        idle_s=0.0,
        power_source=f"replay:{trace}",
        stop_when_settled=True,
        max_items=60,
        order_seed=2,
    )
    session = Session(config, inline_workers=True)
    events: list[Event] = []
    session.subscribe(events.append)
    assert session.run() == "completed"
    return events


async def test_the_live_screen_shows_both_intervals_and_whether_it_settled(tmp_path: Path) -> None:
    events = stopping_session(tmp_path)
    last = [e for e in events if isinstance(e, StoppingChecked)][-1]
    part = events[: events.index(next(e for e in events if isinstance(e, StoppingChecked))) + 1]
    feed = HeldFeed(part)
    app = quiet_app(store=None, feed=feed)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, len(part))
        status = screen.query_one(StoppingStatus)
        assert status.display
        text = status.text.plain
        assert "○ not settled yet (1 of 60 items)" in text
        assert "accuracy B − A" in text and "energy B/A" in text and "stops when settled" in text

    app = quiet_app(store=None, feed=HeldFeed(events))
    async with app.run_test(size=SIZE) as pilot:
        # the whole session ends with its verdict, which opens over the live screen
        screen = next(s for s in app.screen_stack if isinstance(s, LiveScreen))
        await live_settled(pilot, screen, len(events))
        text = screen.query_one(StoppingStatus).text.plain
        assert f"● settled after {last.n_pairs} of 60 items: B more accurate" in text


async def test_without_the_rule_the_indicator_stays_hidden() -> None:
    events = race_events(until_s=7.3, finished=False)
    app = quiet_app(store=None, feed=HeldFeed(events))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await live_settled(pilot, screen, len(events))
        assert not screen.query_one(StoppingStatus).display


async def test_the_setup_switch_turns_stopping_on(tmp_path: Path) -> None:
    app = quiet_app(store=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)
        switch = app.screen.query_one("#opt-stop", Switch)
        assert switch.value is False and app.screen.query_one(OptionsForm).values()["stop_when_settled"] is False
        switch.focus()
        await pilot.press("space")
        assert app.screen.query_one(OptionsForm).values()["stop_when_settled"] is True

    demo = SessionConfig(model_a="fake:a", model_b="fake:b", task="arithmetic", stop_when_settled=True)
    app = quiet_app(store=None, start="setup", session_config=demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#opt-stop", Switch).value is True


async def test_the_verdict_says_when_it_settled_and_what_the_rest_would_have_cost(tmp_path: Path) -> None:
    from greentui.tui.power_trace import PowerTrace

    events = stopping_session(tmp_path)
    tally = Tally()
    for event in events:
        tally.apply(event)
    verdict = verdict_from_tally(tally)
    app = quiet_app(store=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(VerdictScreen(verdict, tally, PowerTrace()))
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen), what="the verdict screen")
        text = str(app.screen.query_one(VerdictSummary).render())
        assert verdict.stopping is not None
        assert f"Settled after {verdict.stopping.n_pairs} of 60 items" in text
        assert "not run would have cost about" in text and "(estimate:" in text
