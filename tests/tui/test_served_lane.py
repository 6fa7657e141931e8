"""The live lane of a served model measured elsewhere: one line saying why, no energy figure (never 0)."""

from __future__ import annotations

import dataclasses

from greentui.core.records import Event, ItemScored, SessionStarted
from greentui.tui.screens.live import LiveScreen
from greentui.tui.widgets.lane_panel import LanePanel
from greentui.tui.widgets.metric_tile import MetricTile
from tests.tui.fakes import HeldFeed, race_events
from tests.tui.pilot_helpers import live_settled, quiet_app

NOTE = "energy not measured here: the server gpu-box.example:8000 runs on another host"


def served_b(events: list[Event]) -> list[Event]:
    """The race with B served from another host, as the session records it."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, SessionStarted):
            settings = event.settings | {
                "served_energy": {"B": {"address": "gpu-box.example:8000", "not_measured": NOTE}}
            }
            event = dataclasses.replace(
                event, model_b="openai:http://gpu-box.example:8000/v1?model=m", settings=settings
            )
        elif isinstance(event, ItemScored) and event.side == "B":
            event = dataclasses.replace(
                event, joules=None, energy_source=NOTE, tokens_out=None, tokens_counted_by="not reported"
            )
        out.append(event)
    return out


async def test_a_lane_measured_elsewhere_says_why_and_shows_no_energy() -> None:
    events = served_b(race_events(n_items=4))
    app = quiet_app(store=None, feed=HeldFeed(events))
    async with app.run_test(size=(160, 48)) as pilot:
        # the session ends (its items judged): its verdict may already be open over the live screen
        (screen,) = [s for s in app.screen_stack if isinstance(s, LiveScreen)]
        await live_settled(pilot, screen, len(events))
        lane_b = screen.query_one("#lane-b", LanePanel)
        assert lane_b.border_subtitle is not None and str(lane_b.border_subtitle) == NOTE
        assert screen.query_one("#lane-a", LanePanel).border_subtitle in (None, "")
        energy_b = str(screen.query_one("#lane-b .tile-energy", MetricTile).render())
        assert "not measured" in energy_b and " J" not in energy_b
        assert "tokens not reported" in str(screen.query_one("#lane-b .tile-jpt", MetricTile).render())
        assert " J" in str(screen.query_one("#lane-a .tile-energy", MetricTile).render())
        assert screen.tally.sides["B"].energy_j is None
