"""Waiting for the app in Pilot tests without sleeping for fixed times: poll a condition, then settle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from greentui.tui.app import GreentuiApp, make_app
from greentui.tui.screens.live import LiveScreen


def quiet_app(**kwargs: Any) -> GreentuiApp:
    """``make_app`` with animations off (no cursor blink, no smooth scrolling): stable screens for tests."""
    app = make_app(**kwargs)
    app.animation_level = "none"
    return app


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], bool], *, timeout_s: float = 30.0, what: str = "condition"
) -> None:
    """Let the app run until ``condition()`` holds (checked every 50 ms); fail after ``timeout_s``."""
    waited = 0.0
    while not condition():
        if waited >= timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await pilot.pause(0.05)
        waited += 0.05
    await pilot.pause()


async def live_settled(pilot: Pilot[Any], screen: LiveScreen, n_events: int) -> None:
    """Wait until the live screen has received ``n_events`` and applied all of them."""
    await wait_for(pilot, lambda: screen.bridge.received >= n_events, what=f"{n_events} events")
    screen.apply_pending()
    await pilot.pause()
